"""NUS-WIDE (81 concepts) in the three layouts found in the wild."""
import ast
import csv
import os.path as osp
from typing import Dict, List, Optional, Tuple, Union

import numpy as np
from mmpretrain.datasets import MultiLabelDataset
from mmpretrain.registry import DATASETS

from .utils import DATA_DOC, check_dir, check_file, check_label_range

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

_SPLIT_WORD = dict(train='Train', test='Test')


def _layout_files(layout: str, split: str) -> List[str]:
    """Files (relative to ``data_root``) a layout needs for one split."""
    s = _SPLIT_WORD[split]
    if layout == 'official':
        return [
            f'ImageList/{s}Imagelist.txt',
            f'Groundtruth/TrainTestLabels/Labels_<concept>_{s}.txt '
            '(81 files)'
        ]
    if layout == 'q2l':
        return [f'ImageList/{s}Imagelist.txt', f'Groundtruth/Labels_{s}.txt']
    return ['nus_wid_data.csv']


LAYOUTS = ('official', 'q2l', 'asl')
_DEFAULT_PREFIX = dict(official='Flickr', q2l='Flickr', asl='')


@DATASETS.register_module()
class NUSWide(MultiLabelDataset):
    """NUS-WIDE with its 81 concepts, from any of three common layouts.

    The classes are the 81 concepts in the order of the official
    ``ConceptsList/Concepts81.txt`` (:data:`NUS_WIDE_CLASSES`), whatever the
    layout. Layouts under ``data_root``:

    - ``'official'``: ``ImageList/{Train,Test}Imagelist.txt`` (Windows paths
      such as ``actor\\0001_2124494179.jpg``, relative to ``Flickr/``) and
      ``Groundtruth/TrainTestLabels/Labels_<concept>_{Train,Test}.txt``
      (one 0/1 a line, aligned with the image list). ``ConceptsList/
      Concepts81.txt``, if present, must list the same 81 concepts.
    - ``'q2l'`` (Query2Label): ``Groundtruth/Labels_{Train,Test}.txt`` with
      81 0/1 values a line, aligned with ``ImageList/{Train,Test}
      Imagelist.txt``; images under ``Flickr/``.
    - ``'asl'`` (ASL / ML-Decoder): ``nus_wid_data.csv`` with a path column,
      a label-list column such as ``"['sky', 'clouds']"`` and a split column
      (``train`` / ``val``; ``val`` is the test split); image paths are
      relative to ``data_root``.

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
        filter_empty (bool): Drop images with none of the 81 concepts.
            Defaults to True.
        data_prefix (str | dict, optional): Image folder relative to
            ``data_root``; None means ``'Flickr'`` for the official and q2l
            layouts and ``''`` for the csv. Defaults to None.
        **kwargs: Other arguments of :class:`mmpretrain.datasets.BaseDataset`.
    """

    METAINFO = {'classes': NUS_WIDE_CLASSES}

    def __init__(self,
                 data_root: str,
                 split: str = 'train',
                 layout: Optional[str] = None,
                 filter_empty: bool = True,
                 data_prefix: Union[str, dict, None] = None,
                 **kwargs):
        if split not in _SPLIT_WORD:
            raise ValueError(
                f"split must be 'train' or 'test', got {split!r}")
        if layout is not None and layout not in LAYOUTS:
            raise ValueError(f'layout must be one of {LAYOUTS} or None, '
                             f'got {layout!r}')
        if 'classes' in kwargs or (kwargs.get('metainfo') or {}).get(
                'classes') is not None:
            raise ValueError('NUSWide has the fixed 81 concepts; use a '
                             'CSV or COCO-format dataset for other classes')
        self.split = split
        self.layout = layout or self.detect_layout(data_root, split)
        self.filter_empty = filter_empty
        if data_prefix is None:
            data_prefix = _DEFAULT_PREFIX[self.layout]
        super().__init__(
            ann_file='',
            data_root=data_root,
            data_prefix=data_prefix,
            **kwargs)

    @staticmethod
    def _missing(data_root: str, layout: str, split: str) -> List[str]:
        """Files of ``layout`` that are missing under ``data_root``."""
        s = _SPLIT_WORD[split]
        if layout == 'official':
            need = [f'ImageList/{s}Imagelist.txt']
            need += [
                f'Groundtruth/TrainTestLabels/Labels_{c}_{s}.txt'
                for c in NUS_WIDE_CLASSES
            ]
        elif layout == 'q2l':
            need = [f'ImageList/{s}Imagelist.txt',
                    f'Groundtruth/Labels_{s}.txt']
        else:
            need = ['nus_wid_data.csv']
        return [f for f in need if not osp.isfile(osp.join(data_root, f))]

    @classmethod
    def detect_layout(cls, data_root: str, split: str = 'train') -> str:
        """Return the first layout whose files for ``split`` all exist.

        Raises:
            FileNotFoundError: No layout is complete; the message lists, for
                each layout, the files it needs and those that are missing.
        """
        if split not in _SPLIT_WORD:
            raise ValueError(
                f"split must be 'train' or 'test', got {split!r}")
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
            lines.append(f'  {layout}: ' + ', '.join(
                _layout_files(layout, split)))
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
        if self.layout == 'official':
            paths, onehot = self._read_official()
            items = list(zip(paths, onehot))
        elif self.layout == 'q2l':
            paths, onehot = self._read_q2l()
            items = list(zip(paths, onehot))
        else:
            items = self._read_asl()
        data_list = []
        for path, labels in items:
            if self.layout != 'asl':
                labels = np.flatnonzero(labels).tolist()
            if self.filter_empty and not labels:
                continue
            data_list.append(
                dict(img_path=osp.join(self.img_prefix, path),
                     gt_label=labels))
        return data_list

    def _image_list(self) -> List[str]:
        path = osp.join(self.data_root,
                        f'ImageList/{_SPLIT_WORD[self.split]}Imagelist.txt')
        with open(path, encoding='utf-8') as f:
            # the official lists use Windows separators
            return [
                line.strip().replace('\\', '/') for line in f if line.strip()
            ]

    def _read_official(self) -> Tuple[List[str], np.ndarray]:
        concepts = osp.join(self.data_root, 'ConceptsList', 'Concepts81.txt')
        if osp.isfile(concepts):
            with open(concepts, encoding='utf-8') as f:
                names = [line.strip() for line in f if line.strip()]
            if sorted(names) != sorted(NUS_WIDE_CLASSES):
                raise ValueError(
                    f'{osp.abspath(concepts)} does not list the 81 NUS-WIDE '
                    'concepts')
        paths = self._image_list()
        s = _SPLIT_WORD[self.split]
        onehot = np.zeros((len(paths), len(NUS_WIDE_CLASSES)), np.uint8)
        for c, name in enumerate(NUS_WIDE_CLASSES):
            path = osp.join(self.data_root, 'Groundtruth', 'TrainTestLabels',
                            f'Labels_{name}_{s}.txt')
            col = self._read_matrix(path, 1)[:, 0]
            if len(col) != len(paths):
                raise ValueError(
                    f'{osp.abspath(path)} has {len(col)} lines but the image '
                    f'list has {len(paths)}')
            onehot[:, c] = col
        return paths, onehot

    def _read_q2l(self) -> Tuple[List[str], np.ndarray]:
        paths = self._image_list()
        path = osp.join(self.data_root, 'Groundtruth',
                        f'Labels_{_SPLIT_WORD[self.split]}.txt')
        onehot = self._read_matrix(path, len(NUS_WIDE_CLASSES))
        if len(onehot) != len(paths):
            raise ValueError(
                f'{osp.abspath(path)} has {len(onehot)} lines but the image '
                f'list has {len(paths)}')
        return paths, onehot

    def _read_matrix(self, path: str, width: int) -> np.ndarray:
        """Read whitespace-separated 0/1 values, ``width`` a line."""
        rows = []
        with open(path, encoding='utf-8') as f:
            for lineno, line in enumerate(f, 1):
                if not line.strip():
                    continue
                vals = line.split()
                if len(vals) != width or any(v not in ('0', '1')
                                             for v in vals):
                    raise ValueError(
                        f'line {lineno} of {osp.abspath(path)} should hold '
                        f'{width} values 0 or 1, got {line.strip()[:80]!r}')
                rows.append(vals)
        return np.asarray(rows, dtype=np.uint8).reshape(-1, width)

    def _read_asl(self) -> List[Tuple[str, List[int]]]:
        path = osp.join(self.data_root, 'nus_wid_data.csv')
        check_file(path, 'NUS-WIDE csv')
        index = {n: i for i, n in enumerate(NUS_WIDE_CLASSES)}
        want = 'train' if self.split == 'train' else 'val'
        with open(path, newline='', encoding='utf-8') as f:
            reader = csv.reader(f)
            header = [h.strip().lower() for h in next(reader, [])]
            cols = {}
            for key, names in (('path', ('filepath', 'path', 'file',
                                         'image', 'img_path')),
                               ('label', ('label', 'labels', 'tags')),
                               ('split', ('split_name', 'split'))):
                found = [header.index(n) for n in names if n in header]
                if not found:
                    raise ValueError(
                        f'{osp.abspath(path)} needs a {key} column (one of '
                        f'{names}); its header is {header}')
                cols[key] = found[0]
            items = []
            for row_no, row in enumerate(reader, 2):
                if not row:
                    continue
                split = row[cols['split']].strip().lower()
                if split not in ('train', 'val', 'test'):
                    raise ValueError(
                        f'row {row_no} of {osp.abspath(path)}: split must be '
                        f'train or val, got {split!r}')
                if (split == 'train') != (want == 'train'):
                    continue
                img = row[cols['path']].strip()
                try:
                    names = ast.literal_eval(row[cols['label']].strip()
                                             or '[]')
                    names = [str(n).strip() for n in names]
                except (ValueError, SyntaxError, TypeError):
                    raise ValueError(
                        f'row {row_no} of {osp.abspath(path)} (image '
                        f'{img!r}): cannot read the label list '
                        f'{row[cols["label"]]!r}')
                unknown = [n for n in names if n not in index]
                if unknown:
                    raise ValueError(
                        f'row {row_no} of {osp.abspath(path)} (image '
                        f'{img!r}): unknown concepts {unknown}')
                labels = sorted({index[n] for n in names})
                check_label_range(labels, len(NUS_WIDE_CLASSES), path, img)
                items.append((img, labels))
        return items

    def extra_repr(self) -> List[str]:
        return [
            f'Root: \t{self.data_root}', f'Layout: \t{self.layout}',
            f'Split: \t{self.split}', f'Prefix of images: \t{self.img_prefix}'
        ]
