"""Checks shared by the oprl-mm datasets: missing files, bad encodings,
malformed JSON and bad labels.

Every error names the full path it looked at and points at the data
preparation guide, so that a user who mistyped ``data_root`` sees at once
which file is missing and where the expected layout is described.

Every annotation file is read by :func:`read_text` or :func:`read_json`:
UTF-8, with a leading byte-order mark accepted; another encoding is an error
that names the file and the byte offset of the first bad byte.
"""
import json
import os.path as osp
from typing import Any, Iterable, List, Optional, Sequence

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


def read_text(path: str, what: str = 'annotation file',
              doc: str = DATA_DOC) -> str:
    """The text of a UTF-8 file; a leading byte-order mark is dropped.

    Args:
        path (str): The file.
        what (str): What the file is, for messages.
        doc (str): The guide that describes the file.

    Raises:
        FileNotFoundError: ``path`` is not a file.
        ValueError: The file is not UTF-8; the message names the file and
            the byte offset of the first byte that does not decode.
    """
    check_file(path, what, doc)
    with open(path, 'rb') as f:
        raw = f.read()
    try:
        return raw.decode('utf-8-sig')
    except UnicodeDecodeError as e:
        bom = 3 if raw.startswith(b'\xef\xbb\xbf') else 0
        offset = e.start + bom
        line = raw.count(b'\n', 0, offset) + 1
        raise ValueError(
            f'{what} {osp.abspath(path)} is not UTF-8: byte {offset} '
            f'({raw[offset:offset + 1]!r}, line {line}) does not decode. '
            'Save the file as UTF-8 (e.g. iconv -f latin1 -t utf-8); see '
            f'{doc}.') from None


def read_text_lines(path: str, what: str = 'annotation file',
                    doc: str = DATA_DOC) -> List[str]:
    """The lines of a UTF-8 file (see :func:`read_text`), stripped, blank
    lines left out."""
    return [
        line.strip() for line in read_text(path, what, doc).splitlines()
        if line.strip()
    ]


def _no_duplicate_keys(path: str, what: str):
    """``object_pairs_hook`` that refuses a key given twice in one JSON
    object (``json`` keeps the last one without a word)."""

    def hook(pairs):
        obj = dict(pairs)
        if len(obj) != len(pairs):
            seen, dup = set(), []
            for key, _ in pairs:
                if key in seen:
                    dup.append(key)
                seen.add(key)
            raise ValueError(
                f'{what} {osp.abspath(path)} gives the key {dup[0]!r} twice '
                'in one object; JSON keeps only the last value: remove the '
                'duplicate entries')
        return obj

    return hook


def read_json(path: str,
              what: str = 'annotation file',
              doc: str = DATA_DOC,
              unique_keys: bool = True) -> Any:
    """The content of a UTF-8 JSON file (see :func:`read_text`).

    Args:
        unique_keys (bool): Refuse a key given twice in one object. A Python
            call per object: COCO-sized files, whose objects are records
            with fixed keys, check their ids instead. Defaults to True.

    Raises:
        FileNotFoundError: ``path`` is not a file.
        ValueError: The file is not UTF-8, is empty, is not valid JSON
            (the message names the line and column) or gives a key twice in
            one object.
    """
    text = read_text(path, what, doc)
    if not text.strip():
        raise ValueError(f'{what} {osp.abspath(path)} is empty; see {doc}')
    try:
        hook = _no_duplicate_keys(path, what) if unique_keys else None
        return json.loads(text, object_pairs_hook=hook)
    except json.JSONDecodeError as e:
        raise ValueError(
            f'{what} {osp.abspath(path)} is not valid JSON (truncated or '
            f'edited by hand?): {e.msg} at line {e.lineno} column '
            f'{e.colno}; see {doc}') from None


def check_unique_names(names: Sequence[str], source: str) -> None:
    """Raise :class:`ValueError` if a class name occurs twice in
    ``names``: two indices with one name would split one class in two."""
    seen, dup = set(), []
    for name in names:
        if name in seen and name not in dup:
            dup.append(name)
        seen.add(name)
    if dup:
        raise ValueError(
            f'class names {dup} occur twice in {source}: each class needs '
            'one name; remove the duplicates')


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
        names = read_text_lines(classes, 'class name file')
        check_unique_names(names, osp.abspath(classes))
        return names
    names = [str(c) for c in classes]
    check_unique_names(names, 'the classes argument')
    return names


def filter_empty_gt(filter_cfg: Optional[dict], owner: str,
                    default: Optional[bool] = True) -> Optional[bool]:
    """Whether a dataset drops images without labels, from mmengine's
    ``filter_cfg``.

    The switch has mmengine's and mmdetection's name and polarity:
    ``filter_cfg=dict(filter_empty_gt=True)`` drops images without labels,
    ``False`` keeps them.

    Args:
        filter_cfg (dict, optional): The dataset's ``filter_cfg``; it takes
            ``filter_empty_gt`` (bool) only.
        owner (str): The dataset, named in errors.
        default (bool, optional): The value when ``filter_cfg`` does not
            set ``filter_empty_gt``. Defaults to True.

    Returns:
        bool | None: ``filter_empty_gt``, or ``default``.
    """
    cfg = dict(filter_cfg or {})
    unknown = sorted(set(cfg) - {'filter_empty_gt'})
    if unknown:
        raise ValueError(
            f'{owner}: filter_cfg takes only filter_empty_gt (True drops '
            f'images without labels, False keeps them), got {unknown}')
    value = cfg.get('filter_empty_gt', default)
    if value is not default and not isinstance(value, bool):
        raise ValueError(f'{owner}: filter_cfg.filter_empty_gt must be True '
                         f'or False, got {value!r}')
    return value


def set_classes(dataset, classes: Sequence[str]) -> None:
    """Set ``dataset.metainfo['classes']`` to the classes an annotation file
    gave, from a dataset's ``load_data_list``.

    mmengine's ``BaseDataset.metainfo`` returns a copy and has no setter;
    mmengine's own ``load_data_list`` writes what it reads from an
    annotation file into the protected ``_metainfo``, as this does. The one
    such write in oprl_mm: tests/test_datasets/test_coco.py checks that
    mmengine keeps this meaning.
    """
    dataset._metainfo['classes'] = tuple(classes)
