"""Checks shared by the oprl-mm datasets: missing files and bad labels.

Every error names the full path it looked at and points at the data
preparation guide, so that a user who mistyped ``data_root`` sees at once
which file is missing and where the expected layout is described.
"""
import os.path as osp
from typing import Iterable, Optional, Sequence

DATA_DOC = 'docs/datasets.md'


def missing_file_error(path: str, what: str = 'file',
                       doc: str = DATA_DOC) -> FileNotFoundError:
    """Build the error raised when a dataset file or folder is missing.

    Args:
        path (str): The path that was looked for.
        what (str): What the path should have been, e.g. ``'image folder'``.
        doc (str): The guide that describes the expected layout.

    Returns:
        FileNotFoundError: The error, not raised.
    """
    return FileNotFoundError(
        f'{what} not found: {osp.abspath(path)}\n'
        f'See {doc} for the folder layout the dataset expects.')


def check_file(path: str, what: str = 'annotation file',
               doc: str = DATA_DOC) -> None:
    """Raise :class:`FileNotFoundError` if ``path`` is not a file."""
    if not osp.isfile(path):
        raise missing_file_error(path, what, doc)


def check_dir(path: str, what: str = 'image folder',
              doc: str = DATA_DOC) -> None:
    """Raise :class:`FileNotFoundError` if ``path`` is not a folder."""
    if not osp.isdir(path):
        raise missing_file_error(path, what, doc)


def check_label_range(labels: Iterable[int], num_classes: int, source: str,
                      image: str) -> None:
    """Raise :class:`ValueError` if a label index is outside ``[0, C)``.

    Args:
        labels (Iterable[int]): Label indices of one image.
        num_classes (int): Number of classes C.
        source (str): The annotation file the labels came from.
        image (str): The image the labels belong to.
    """
    bad = [int(i) for i in labels if not 0 <= int(i) < num_classes]
    if bad:
        raise ValueError(
            f'label index {bad} out of range [0, {num_classes - 1}] for image '
            f'{image!r} in {osp.abspath(source)}')


def class_names_from_arg(classes: Optional[Sequence[str]]) -> Optional[list]:
    """Read class names given as a list or as a file with one name a line."""
    if classes is None:
        return None
    if isinstance(classes, str):
        check_file(classes, 'class name file')
        with open(classes, encoding='utf-8') as f:
            return [line.strip() for line in f if line.strip()]
    return [str(c) for c in classes]
