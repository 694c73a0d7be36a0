"""NUS-WIDE (81 concepts) in the three layouts found in the wild."""
import ast
import csv
import io
import os.path as osp
from typing import Dict, List, Optional, Tuple, Union

import numpy as np
from mmpretrain.datasets import MultiLabelDataset
from mmpretrain.registry import DATASETS

from ..renamed import renamed_arguments
from .utils import (DATA_DOC, check_dir, filter_empty_gt, read_text,
                    read_text_lines)

# The 81 concepts in the order of the official ConceptsList/Concepts81.txt.
NUS_WIDE_CLASSES: Tuple[str, ...] = (
    'airport', 'animal', 'beach', 'bear', 'birds', 'boats', 'book', 'bridge',
    'buildings', 'cars', 'castle', 'cat', 'cityscape', 'clouds', 'computer',
    'coral', 'cow', 'dancing', 'dog', 'earthquake', 'elk', 'fire', 'fish',
    'flags', 'flowers', 'food', 'fox', 'frost', 'garden', 'glacier', 'grass',
    'harbor', 'horses', 'house', 'lake', 'leaf', 'map', 'military', 'moon',
    'mountain', 'nighttime', 'ocean', 'person', 'plane', 'plants', 'police',
    'protest', 'railroad', 'rainbow', 'reflection', 'road', 'rocks',
    'running', 'sand', 'sign', 'sky', 'snow', 'soccer', 'sports', 'statue',
    'street', 'sun', 'sunset', 'surf', 'swimmers', 'tattoo', 'temple',
    'tiger', 'tower', 'town', 'toy', 'train', 'tree', 'valley', 'vehicle',
    'water', 'waterfall', 'wedding', 'whales', 'window', 'zebra')
assert len(NUS_WIDE_CLASSES) == 81
_CONCEPT_INDEX = {name: i for i, name in enumerate(NUS_WIDE_CLASSES)}

_SPLIT_WORD = dict(train='Train', test='Test')

# The files of each layout, relative to ``data_root``, by role: the one
# place that names them. ``{split}`` is ``Train`` or ``Test``; a pattern
# with ``{concept}`` stands for one file per concept.
LAYOUT_FILES: Dict[str, Dict[str, str]] = {
    'official': dict(
        image_list='ImageList/{split}Imagelist.txt',
        labels='Groundtruth/TrainTestLabels/Labels_{concept}_{split}.txt'),
    'q2l': dict(
        image_list='ImageList/{split}Imagelist.txt',
        labels='Groundtruth/Labels_{split}.txt'),
    'asl': dict(csv='nus_wid_data.csv'),
}
LAYOUTS = tuple(LAYOUT_FILES)
# optional in the official layout; checked against the 81 concepts
CONCEPTS_FILE = 'ConceptsList/Concepts81.txt'
_DEFAULT_PREFIX = dict(official='Flickr', q2l='Flickr', asl='')
# column names the ASL csv is known to use, by role
_CSV_COLUMNS = dict(
    path=('filepath', 'path', 'file', 'image', 'img_path'),
    label=('label', 'labels', 'tags'),
    split=('split_name', 'split'))


def layout_file(layout: str, role: str, split: str,
                concept: str = '<concept>') -> str:
    """The file of ``role`` in ``layout`` for one split, relative to
    ``data_root``."""
    return LAYOUT_FILES[layout][role].format(
        split=_SPLIT_WORD[split], concept=concept)


def layout_paths(layout: str, split: str) -> List[str]:
    """Every file ``layout`` needs for one split, relative to
    ``data_root``."""
    paths = []
    for role, pattern in LAYOUT_FILES[layout].items():
        concepts = NUS_WIDE_CLASSES if '{concept}' in pattern else ['']
        paths += [layout_file(layout, role, split, c) for c in concepts]
    return paths


def _describe_layout(layout: str, split: str) -> str:
    """The files of a layout, one pattern per role, for messages."""
    return ', '.join(
        layout_file(layout, role, split) +
        (f' ({len(NUS_WIDE_CLASSES)} files)' if '{concept}' in pattern else '')
        for role, pattern in LAYOUT_FILES[layout].items())


def _check_split(split: str) -> None:
    if split not in _SPLIT_WORD:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")


@DATASETS.register_module()
class NUSWide(MultiLabelDataset):
    """NUS-WIDE with its 81 concepts, from any of three common layouts.

    The classes are the 81 concepts in the order of the official
    ``ConceptsList/Concepts81.txt`` (:data:`NUS_WIDE_CLASSES`), whatever the
    layout. The files of each layout are listed in :data:`LAYOUT_FILES`
    (and described in ``docs/datasets.md``):

    - ``'official'``: the image lists hold Windows paths such as
      ``actor\\0001_2124494179.jpg``, relative to ``Flickr/``; one label
      file per concept holds one 0/1 a line, aligned with the image list.
      :data:`CONCEPTS_FILE`, if present, must list the same 81 concepts.
    - ``'q2l'`` (Query2Label): one label file with 81 0/1 values a line,
      aligned with the official image list; images under ``Flickr/``.
    - ``'asl'`` (ASL / ML-Decoder): a csv with a path column, a label-list
      column such as ``"['sky', 'clouds']"`` and a split column (``train``
      / ``val``; ``val`` is the test split); image paths are relative to
      ``data_root``.

    Checks (each failure names the file and the line or row): every file
    is UTF-8 (a byte-order mark is accepted); a label line holds 81 (q2l)
    or 1 (official) values 0 or 1 and the label files have one line per
    image of the list; the concept list names the 81 concepts; a csv row
    has the header's number of cells, a readable label list of known
    concepts and the split ``train`` or ``val``. The label files are aligned
    with the image list line by line, so an image listed twice is kept
    twice, each line with its own labels.

    With ``layout=None`` the first complete layout in the order above is
    used. The layouts do not hold the same images: the official lists have
    161,789 train / 107,859 test images, of which many have none of the 81
    concepts and some are no longer downloadable, while the ASL csv has
    about 150k / 60k downloadable images.

    Args:
        data_root (str): The NUS-WIDE root folder.
        split (str): ``'train'`` or ``'test'``.
        layout (str, optional): ``'official'``, ``'q2l'`` or ``'asl'``;
            None detects it from the files present. Defaults to None.
        filter_cfg (dict, optional): ``dict(filter_empty_gt=False)`` keeps
            images with none of the 81 concepts. Defaults to None: they are
            dropped (``filter_empty_gt=True``).
        data_prefix (str | dict, optional): Image folder relative to
            ``data_root``; None means ``'Flickr'`` for the official and q2l
            layouts and ``''`` for the csv. Defaults to None.
        **kwargs: Other arguments of :class:`mmpretrain.datasets.BaseDataset`.
    """

    METAINFO = {'classes': NUS_WIDE_CLASSES}

    @renamed_arguments(
        filter_empty='filter_cfg=dict(filter_empty_gt=...)')
    def __init__(self,
                 data_root: str,
                 split: str = 'train',
                 layout: Optional[str] = None,
                 filter_cfg: Optional[dict] = None,
                 data_prefix: Union[str, dict, None] = None,
                 **kwargs):
        _check_split(split)
        if layout is not None and layout not in LAYOUTS:
            raise ValueError(f'layout must be one of {LAYOUTS} or None, '
                             f'got {layout!r}')
        if 'classes' in kwargs or (kwargs.get('metainfo') or {}).get(
                'classes') is not None:
            raise ValueError('NUSWide has the fixed 81 concepts; use a '
                             'CSV or COCO-format dataset for other classes')
        self.split = split
        self.layout = layout or self.detect_layout(data_root, split)
        self.filter_empty_gt = filter_empty_gt(filter_cfg, 'NUSWide')
        if data_prefix is None:
            data_prefix = _DEFAULT_PREFIX[self.layout]
        super().__init__(
            ann_file='',
            data_root=data_root,
            data_prefix=data_prefix,
            filter_cfg=filter_cfg,
            **kwargs)

    @staticmethod
    def _missing(data_root: str, layout: str, split: str) -> List[str]:
        """Files of ``layout`` that are missing under ``data_root``."""
        return [
            f for f in layout_paths(layout, split)
            if not osp.isfile(osp.join(data_root, f))
        ]

    @classmethod
    def detect_layout(cls, data_root: str, split: str = 'train') -> str:
        """Return the first layout whose files for ``split`` all exist.

        Raises:
            FileNotFoundError: No layout is complete; the message lists, for
                each layout, the files it needs and those that are missing.
        """
        _check_split(split)
        missing = {}
        for layout in LAYOUTS:
            missing[layout] = cls._missing(data_root, layout, split)
            if not missing[layout]:
                return layout
        raise FileNotFoundError(cls._layout_message(data_root, split,
                                                    missing))

    @staticmethod
    def _layout_message(data_root: str, split: str,
                        missing: Dict[str, List[str]]) -> str:
        if len(missing) == 1:
            lines = [
                f'the NUS-WIDE layout {next(iter(missing))!r} is incomplete '
                f'for split {split!r} under {osp.abspath(data_root)}:'
            ]
        else:
            lines = [
                f'no complete NUS-WIDE layout for split {split!r} under '
                f'{osp.abspath(data_root)}. Layouts looked for:'
            ]
        for layout, miss in missing.items():
            lines.append(f'  {layout}: {_describe_layout(layout, split)}')
            shown = miss[:5] + ([f'... {len(miss) - 5} more']
                                if len(miss) > 5 else [])
            lines.append('    missing: ' + ', '.join(shown))
        lines.append(f'See {DATA_DOC} (NUS-WIDE) for the layouts.')
        return '\n'.join(lines)

    def load_data_list(self) -> List[dict]:
        """Read the split's image list and labels."""
        missing = self._missing(self.data_root, self.layout, self.split)
        if missing:
            raise FileNotFoundError(
                self._layout_message(self.data_root, self.split,
                                     {self.layout: missing}))
        check_dir(self.img_prefix, 'NUS-WIDE image folder')
        read = dict(
            official=self._read_official,
            q2l=self._read_q2l,
            asl=self._read_asl)[self.layout]
        return [
            dict(img_path=osp.join(self.img_prefix, path), gt_label=labels)
            for path, labels in read()
            if labels or not self.filter_empty_gt
        ]

    def _path(self, role: str, concept: str = '<concept>') -> str:
        """Full path of a file of this dataset's layout and split."""
        return osp.join(self.data_root,
                        layout_file(self.layout, role, self.split, concept))

    def _image_list(self) -> List[str]:
        # the official lists use Windows separators
        return [
            line.replace('\\', '/') for line in read_text_lines(
                self._path('image_list'), 'NUS-WIDE image list')
        ]

    def _read_official(self) -> List[Tuple[str, List[int]]]:
        self._check_concepts_file()
        paths = self._image_list()
        onehot = np.zeros((len(paths), len(NUS_WIDE_CLASSES)), np.uint8)
        for c, name in enumerate(NUS_WIDE_CLASSES):
            onehot[:, c] = self._read_matrix(
                self._path('labels', name), 1, len(paths))[:, 0]
        return _onehot_items(paths, onehot)

    def _check_concepts_file(self) -> None:
        concepts = osp.join(self.data_root, CONCEPTS_FILE)
        if not osp.isfile(concepts):
            return
        names = read_text_lines(concepts, 'NUS-WIDE concept list')
        if sorted(names) != sorted(NUS_WIDE_CLASSES):
            raise ValueError(f'{osp.abspath(concepts)} does not list the 81 '
                             'NUS-WIDE concepts')

    def _read_q2l(self) -> List[Tuple[str, List[int]]]:
        paths = self._image_list()
        onehot = self._read_matrix(
            self._path('labels'), len(NUS_WIDE_CLASSES), len(paths))
        return _onehot_items(paths, onehot)

    @staticmethod
    def _read_matrix(path: str, width: int, num_lines: int) -> np.ndarray:
        """Read whitespace-separated 0/1 values, ``width`` a line, one line
        per image of the image list."""
        rows = []
        text = read_text(path, 'NUS-WIDE label file')
        for lineno, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            vals = line.split()
            if len(vals) != width or any(v not in ('0', '1') for v in vals):
                raise ValueError(
                    f'line {lineno} of {osp.abspath(path)} should hold '
                    f'{width} values 0 or 1, got {line.strip()[:80]!r}')
            rows.append(vals)
        if len(rows) != num_lines:
            raise ValueError(
                f'{osp.abspath(path)} has {len(rows)} lines but the image '
                f'list has {num_lines}')
        return np.asarray(rows, dtype=np.uint8).reshape(-1, width)

    def _read_asl(self) -> List[Tuple[str, List[int]]]:
        path = self._path('csv')
        items = []
        text = read_text(path, 'NUS-WIDE csv')
        reader = csv.reader(io.StringIO(text, newline=''))
        header = next(reader, [])
        cols = _csv_columns(header, path)
        for row_no, row in enumerate(reader, 2):
            if not row:
                continue
            if len(row) != len(header):
                raise ValueError(
                    f'row {row_no} of {osp.abspath(path)} has {len(row)} '
                    f'cells, the header {len(header)}: {row}'[:300] +
                    '; quote the label list, e.g. "[\'sky\', \'clouds\']"')
            split = row[cols['split']].strip().lower()
            if split not in ('train', 'val', 'test'):
                raise ValueError(
                    f'row {row_no} of {osp.abspath(path)}: split must be '
                    f'train or val, got {split!r}')
            if (split == 'train') == (self.split == 'train'):
                items.append(_csv_item(row, cols, row_no, path))
        return items

    def extra_repr(self) -> List[str]:
        return [
            f'Root: \t{self.data_root}', f'Layout: \t{self.layout}',
            f'Split: \t{self.split}', f'Prefix of images: \t{self.img_prefix}'
        ]


def _onehot_items(paths: List[str],
                  onehot: np.ndarray) -> List[Tuple[str, List[int]]]:
    """(image path, sorted class indices) of each row of a 0/1 matrix."""
    return [(p, np.flatnonzero(row).tolist()) for p, row in zip(paths, onehot)]


def _csv_columns(header: List[str], path: str) -> Dict[str, int]:
    """Index of the path, label and split columns of the ASL csv."""
    header = [h.strip().lower() for h in header]
    cols = {}
    for key, names in _CSV_COLUMNS.items():
        found = [header.index(n) for n in names if n in header]
        if not found:
            raise ValueError(
                f'{osp.abspath(path)} needs a {key} column (one of '
                f'{names}); its header is {header}')
        cols[key] = found[0]
    return cols


def _csv_item(row: List[str], cols: Dict[str, int], row_no: int,
              path: str) -> Tuple[str, List[int]]:
    """(image path, sorted class indices) of one row of the ASL csv."""
    img = row[cols['path']].strip()
    where = f'row {row_no} of {osp.abspath(path)} (image {img!r})'
    try:
        names = ast.literal_eval(row[cols['label']].strip() or '[]')
        names = [str(n).strip() for n in names]
    except (ValueError, SyntaxError, TypeError):
        raise ValueError(f'{where}: cannot read the label list '
                         f'{row[cols["label"]]!r}')
    unknown = [n for n in names if n not in _CONCEPT_INDEX]
    if unknown:
        raise ValueError(f'{where}: unknown concepts {unknown}')
    return img, sorted({_CONCEPT_INDEX[n] for n in names})
