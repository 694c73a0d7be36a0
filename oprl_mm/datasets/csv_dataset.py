"""Multi-label dataset read from a two-column CSV file (custom data)."""
import csv
import io
import os.path as osp
from typing import List, Optional, Sequence, Tuple, Union

from mmpretrain.datasets import MultiLabelDataset
from mmpretrain.registry import DATASETS

from ..renamed import renamed_arguments
from .utils import (check_dir, check_unique_names, filter_empty_gt,
                    read_text, set_classes)

CUSTOM_DOC = 'docs/custom_dataset.md'


@DATASETS.register_module()
class CsvMultiLabel(MultiLabelDataset):
    """Multi-label dataset from a CSV file with ``image`` and ``labels``.

    The file starts with a header naming (at least) the columns ``image``
    and ``labels``; other columns are ignored. ``image`` is a path relative
    to the image folder; ``labels`` holds class names separated by ``sep``::

        image,labels
        img_000.png,cat|dog
        img_001.png,dog

    Classes:

    - given with ``classes`` (a list, or a text file with one name a line),
      the names fix the class indices, and a label name not in the list is
      an error that names the CSV row;
    - otherwise they are every name found in this CSV file, sorted with
      Python's ``sorted`` (case-sensitive, code-point order). Because the
      rule reads one file only, a validation CSV that lacks a class would
      number the classes differently from the training CSV: give
      ``classes`` whenever train and validation are separate files.

    Checks (each failure names the file and the row): the file is UTF-8
    (a byte-order mark is accepted); the header names ``image`` and
    ``labels``; no row lacks the ``image`` or ``labels`` cell, nor has
    more cells than the header (a comma between label names would
    otherwise cut the labels short; trailing empty cells are accepted); no
    class name is given twice; every label
    name is a given class. Each row is one sample: an image on two rows is
    two samples, which ``tools/misc/verify_dataset.py`` reports.

    Args:
        ann_file (str): The CSV file, relative to ``data_root``.
        data_root (str): The dataset root. Defaults to ''.
        data_prefix (str | dict): The image folder, relative to
            ``data_root``. Defaults to ''.
        sep (str): The character that separates label names in the
            ``labels`` column. Defaults to ``'|'``.
        classes (str | Sequence[str], optional): Class names or a file of
            them. Defaults to None (collected as described above).
        filter_cfg (dict, optional): What to do with a row whose ``labels``
            cell is empty (an image with none of the classes):
            ``dict(filter_empty_gt=False)`` keeps it, ``True`` drops it.
            Defaults to None: such a row is reported as an error, since it
            is most often a mistake.
        **kwargs: Other arguments of :class:`mmpretrain.datasets.BaseDataset`.
    """

    @renamed_arguments(
        allow_empty='filter_cfg=dict(filter_empty_gt=False)')
    def __init__(self,
                 ann_file: str,
                 data_root: str = '',
                 data_prefix: Union[str, dict] = '',
                 sep: str = '|',
                 classes: Union[str, Sequence[str], None] = None,
                 filter_cfg: Optional[dict] = None,
                 metainfo: Optional[dict] = None,
                 **kwargs):
        if not isinstance(sep, str) or len(sep) != 1 or sep in ',"\n':
            raise ValueError(
                'sep must be one character other than a comma, a quote or '
                f'a newline, got {sep!r}')
        self.sep = sep
        self.filter_empty_gt = filter_empty_gt(filter_cfg, 'CsvMultiLabel',
                                               default=None)
        super().__init__(
            ann_file=ann_file,
            data_root=data_root,
            data_prefix=data_prefix,
            metainfo=metainfo,
            classes=classes,
            filter_cfg=filter_cfg,
            **kwargs)

    def _error(self, row_no: int, msg: str) -> ValueError:
        return ValueError(f'row {row_no} of {osp.abspath(self.ann_file)}: '
                          f'{msg} (see {CUSTOM_DOC})')

    def load_data_list(self) -> List[dict]:
        """Read the CSV rows; build the class list if none was given."""
        check_dir(self.img_prefix, 'image folder', CUSTOM_DOC)
        rows = self._read_rows()
        classes = self._class_list(rows)
        index = {n: i for i, n in enumerate(classes)}
        data_list = []
        for row_no, img, names in rows:
            if not names and self.filter_empty_gt:
                continue
            unknown = [n for n in names if n not in index]
            if unknown:
                raise self._error(
                    row_no, f'image {img!r} has labels {unknown} that are '
                    f'not in the {len(classes)} given classes')
            data_list.append(
                dict(
                    img_path=osp.join(self.img_prefix, img),
                    gt_label=sorted({index[n] for n in names})))
        return data_list

    def _read_rows(self) -> List[Tuple[int, str, List[str]]]:
        """(row number, image, label names) of every data row."""
        rows = []
        text = read_text(self.ann_file, 'CSV annotation file', CUSTOM_DOC)
        reader = csv.reader(io.StringIO(text, newline=''))
        header = [h.strip() for h in next(reader, [])]
        if 'image' not in header or 'labels' not in header:
            raise self._error(
                1, f'the header must name the columns "image" and '
                f'"labels", got {header}')
        i_img, i_lab = header.index('image'), header.index('labels')
        for row_no, row in enumerate(reader, 2):
            if not row or not any(c.strip() for c in row):
                continue
            self._check_width(row_no, row, header, max(i_img, i_lab))
            rows.append((row_no, *self._image_and_names(
                row_no, row[i_img], row[i_lab])))
        if not rows:
            raise ValueError(f'{osp.abspath(self.ann_file)} has no data rows')
        return rows

    def _check_width(self, row_no: int, row: List[str], header: List[str],
                     last_needed: int) -> None:
        """A row reaches the ``image`` and ``labels`` cells and has no more
        cells than the header (but trailing empty ones): more most often
        means label names separated by a comma."""
        extra = row[len(header):]
        if len(row) <= last_needed or any(c.strip() for c in extra):
            hint = (f'; separate label names with {self.sep!r}, not a '
                    'comma, or quote the cell' if extra else '')
            raise self._error(
                row_no, f'expected {len(header)} cells as in the header '
                f'{header}, got {len(row)}: {row}{hint}')

    def _image_and_names(self, row_no: int, img: str,
                         labels: str) -> Tuple[str, List[str]]:
        """The image and label names of one row's two cells."""
        img = img.strip()
        if not img:
            raise self._error(row_no, 'the image cell is empty')
        names = [n.strip() for n in labels.split(self.sep)]
        names = [n for n in names if n]
        if not names and self.filter_empty_gt is None:
            raise self._error(
                row_no, f'the labels cell of image {img!r} is empty; pass '
                'filter_cfg=dict(filter_empty_gt=False) to keep images '
                'without labels, or filter_empty_gt=True to drop them')
        return img, names

    def _class_list(self, rows: List[Tuple[int, str, List[str]]]) -> list:
        """The given classes, else every name of the file, sorted; set in
        metainfo."""
        classes = self.metainfo.get('classes')
        if classes is None:
            classes = sorted({n for _, _, names in rows for n in names})
            set_classes(self, classes)
        check_unique_names(
            classes, f'the classes given for {osp.abspath(self.ann_file)}')
        return list(classes)

    def extra_repr(self) -> List[str]:
        body = super().extra_repr()
        body.append(f'Label separator: \t{self.sep!r}')
        return body
