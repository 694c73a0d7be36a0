"""Open Images (V6 / V7) with human-verified image-level labels."""
import copy
import csv
import io
import os
import os.path as osp
import warnings
from collections import Counter
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np
from mmengine.dataset import force_full_init
from mmpretrain.datasets import MultiLabelDataset
from mmpretrain.registry import DATASETS

from ..renamed import renamed_arguments
from .utils import check_dir, check_file, filter_empty_gt, read_text

LABEL_COLUMNS = ('ImageID', 'LabelName', 'Confidence')
# file names of the official release, by version and split
LABEL_FILES = dict(
    v6=dict(
        train='oidv6-train-annotations-human-imagelabels.csv',
        validation='validation-annotations-human-imagelabels.csv',
        test='test-annotations-human-imagelabels.csv'),
    v7=dict(
        train='oidv7-train-annotations-human-imagelabels.csv',
        validation='oidv7-val-annotations-human-imagelabels.csv',
        test='oidv7-test-annotations-human-imagelabels.csv'))
CLASS_FILES = dict(
    v6=('oidv6-class-descriptions.csv', 'oidv6-classes-trainable.txt'),
    v7=('oidv7-class-descriptions.csv', 'oidv7-classes-trainable.txt'))
# bytes per chunk of the label file parsed at once
CHUNK_BYTES = 1 << 24


def read_class_descriptions(path: str) -> Tuple[List[str], List[str]]:
    """LabelName and DisplayName of every class, in file order.

    Reads ``LabelName,DisplayName`` rows with the csv module (display names
    may hold commas and quotes); a first row equal to that header is
    skipped (V6 and V7 have it, V5 does not).
    """
    text = read_text(path, 'Open Images class descriptions')
    mids, names = [], []
    reader = csv.reader(io.StringIO(text, newline=''))
    for row_no, row in enumerate(reader, 1):
        if not row:
            continue
        if row_no == 1 and row[0].strip() == 'LabelName':
            continue
        if len(row) < 2 or not row[0].strip():
            raise ValueError(
                f'row {row_no} of {osp.abspath(path)}: expected '
                f'LabelName,DisplayName, got {row}')
        mids.append(row[0].strip())
        names.append(row[1].strip())
    duplicates = sorted(m for m, n in Counter(mids).items() if n > 1)
    if duplicates:
        raise ValueError(f'{osp.abspath(path)} describes {duplicates[:5]} '
                         'more than once')
    return mids, names


def read_trainable(path: str, described: Sequence[str],
                   description_file: str) -> List[str]:
    """The trainable LabelNames, one a line, each of them described."""
    text = read_text(path, 'Open Images trainable class list')
    known = set(described)
    mids = []
    for row_no, line in enumerate(text.splitlines(), 1):
        mid = line.strip()
        if not mid:
            continue
        if mid not in known:
            raise ValueError(
                f'row {row_no} of {osp.abspath(path)}: class {mid!r} is '
                f'not in {osp.abspath(description_file)}')
        mids.append(mid)
    if len(set(mids)) != len(mids):
        raise ValueError(f'{osp.abspath(path)} lists a class twice')
    return mids


def _field_bytes(buf: np.ndarray, starts: np.ndarray,
                 ends: np.ndarray) -> np.ndarray:
    """The bytes ``buf[starts[i]:ends[i]]`` of every row as one 'S' array."""
    width = max(int((ends - starts).max()), 1) if len(starts) else 1
    index = starts[:, None] + np.arange(width, dtype=starts.dtype)
    inside = index < ends[:, None]
    out = np.where(inside, buf[np.minimum(index, len(buf) - 1)], 0)
    return np.ascontiguousarray(out.astype(np.uint8)).view(f'S{width}')[:, 0]


def _split_rows(chunk: bytes, num_columns: int, path: str,
                first_row: int) -> Tuple[np.ndarray, list, list, np.ndarray]:
    """Field boundaries of every row of a chunk of whole lines, vectorised.

    Returns the byte buffer, per-column start and end offsets and the row
    number of every non-empty line. A line with another number of commas
    than ``num_columns - 1`` is an error naming its row.
    """
    buf = np.frombuffer(chunk, dtype=np.uint8)
    newlines = np.flatnonzero(buf == 10)
    starts = np.concatenate([[0], newlines[:-1] + 1])
    row_no = first_row + np.arange(len(newlines))
    non_empty = newlines > starts
    starts, newlines, row_no = (starts[non_empty], newlines[non_empty],
                                row_no[non_empty])
    commas = np.flatnonzero(buf == 44)
    per_line = np.searchsorted(commas, newlines) - np.searchsorted(
        commas, starts)
    bad = per_line != num_columns - 1
    if bad.any():
        raise ValueError(
            f'row {int(row_no[bad][0])} of {osp.abspath(path)}: expected '
            f'{num_columns} comma-separated columns, got '
            f'{int(per_line[bad][0]) + 1}')
    commas = commas.reshape(-1, num_columns - 1) if num_columns > 1 else \
        np.zeros((len(starts), 0), dtype=np.int64)
    col_starts = [starts] + [commas[:, j] + 1 for j in range(num_columns - 1)]
    col_ends = [commas[:, j] for j in range(num_columns - 1)] + [newlines]
    return buf, col_starts, col_ends, row_no


def _chunks(f, size: int):
    """Chunks of whole lines (each ends with a newline), with no CR."""
    rest = b''
    while True:
        block = f.read(size)
        if not block:
            break
        block = rest + block
        cut = block.rfind(b'\n') + 1
        rest = block[cut:]
        if cut:
            yield block[:cut].replace(b'\r', b'')
    if rest.strip():
        yield (rest + b'\n').replace(b'\r', b'')


class HumanLabels:
    """The rows of a human-verified labels CSV, grouped by image.

    ``image_ids`` (N, 'S' bytes), ``first_rows`` (N, the file row of each
    image's first label), CSR ``offsets`` (N + 1) into ``classes`` (class
    indices, sorted within an image) and ``values`` (1 positive, 0
    negative), plus ``num_rows`` and ``num_dropped`` (rows of described but
    not trainable classes).
    """

    def __init__(self, path: str, label_names: Sequence[str],
                 class_index: Sequence[int]):
        self.path = path
        order = np.argsort(np.asarray(label_names, dtype=np.bytes_))
        self._names = np.asarray(label_names, dtype=np.bytes_)[order]
        self._index = np.asarray(class_index, dtype=np.int32)[order]
        self.num_classes = max(int(self._index.max(initial=-1)) + 1, 1)
        self._read()

    def _error(self, row: int, msg: str) -> ValueError:
        return ValueError(f'row {row} of {osp.abspath(self.path)}: {msg}')

    def _header(self, f) -> List[int]:
        header = f.readline().decode('utf-8-sig').strip().split(',')
        missing = [c for c in LABEL_COLUMNS if c not in header]
        if missing:
            raise self._error(
                1, f'the header must name the columns {LABEL_COLUMNS}, got '
                f'{header}')
        self._num_columns = len(header)
        return [header.index(c) for c in LABEL_COLUMNS]

    def _parse_chunk(self, chunk: bytes, columns: List[int], first_row: int):
        if b'"' in chunk:
            raise self._error(
                first_row, 'quoted fields are not supported in a labels '
                'file (the official files have none)')
        buf, starts, ends, row_no = _split_rows(chunk, self._num_columns,
                                                self.path, first_row)
        ids, labels, conf = (_field_bytes(buf, starts[c], ends[c])
                             for c in columns)
        values = np.full(len(conf), -1, dtype=np.int8)
        values[np.isin(conf, (b'1', b'1.0'))] = 1
        values[np.isin(conf, (b'0', b'0.0'))] = 0
        bad = values < 0
        if bad.any():
            raise self._error(
                int(row_no[bad][0]),
                f'confidence {conf[bad][0].decode()!r} of a human-verified '
                'label must be 1 (positive) or 0 (negative)')
        pos = np.minimum(np.searchsorted(self._names, labels),
                         len(self._names) - 1)
        unknown = self._names[pos] != labels
        if unknown.any():
            raise self._error(
                int(row_no[unknown][0]),
                f'label {labels[unknown][0].decode()!r} of image '
                f'{ids[unknown][0].decode()!r} is not in the class '
                'descriptions')
        classes = self._index[pos]
        keep = classes >= 0
        return ids[keep], classes[keep], values[keep], row_no[keep], int(
            (~keep).sum()), len(row_no)

    def _read(self) -> None:
        check_file(self.path, 'Open Images labels file')
        run_ids, run_rows, row_run, classes, values = [], [], [], [], []
        self.num_rows = self.num_dropped = 0
        num_runs, next_row = 0, 2
        with open(self.path, 'rb') as f:
            columns = self._header(f)
            for chunk in _chunks(f, CHUNK_BYTES):
                ids, cls, val, rows, dropped, total = self._parse_chunk(
                    chunk, columns, next_row)
                next_row += chunk.count(b'\n')
                self.num_rows += total
                self.num_dropped += dropped
                # consecutive rows of one image form a run
                new = np.ones(len(ids), dtype=bool)
                new[1:] = ids[1:] != ids[:-1]
                run_ids.append(ids[new])
                run_rows.append(rows[new])
                row_run.append(np.cumsum(new, dtype=np.int64) - 1 + num_runs)
                num_runs += int(new.sum())
                classes.append(cls)
                values.append(val)
        self._group(run_ids, run_rows, row_run, classes, values)

    def _group(self, run_ids, run_rows, row_run, classes, values) -> None:
        width = max([a.dtype.itemsize for a in run_ids] + [1])
        run_ids = np.concatenate(run_ids + [np.zeros(0, 'S1')]).astype(
            f'S{width}')
        run_rows = np.concatenate(run_rows + [np.zeros(0, np.int64)])
        if (run_ids[1:] >= run_ids[:-1]).all():
            # sorted by image (the official files): merge equal neighbours
            new = np.ones(len(run_ids), dtype=bool)
            new[1:] = run_ids[1:] != run_ids[:-1]
            run_image = np.cumsum(new) - 1
            self.image_ids, self.first_rows = run_ids[new], run_rows[new]
        else:
            self.image_ids, run_image = np.unique(
                run_ids, return_inverse=True)
            self.first_rows = np.full(len(self.image_ids), run_rows.max())
            np.minimum.at(self.first_rows, run_image, run_rows)
        num_images = len(self.image_ids)
        image = run_image[np.concatenate(row_run + [np.zeros(0, np.int64)])]
        classes = np.concatenate(classes + [np.zeros(0, np.int32)])
        values = np.concatenate(values + [np.zeros(0, np.int8)])
        # one entry per (image, class), sorted; a class both verified
        # present and absent in one image (two sources) counts as present
        num_classes = self.num_classes
        key = (image.astype(np.int64) * num_classes + classes) * 2 + (
            1 - values)
        key.sort()
        first = np.ones(len(key), dtype=bool)
        first[1:] = (key[1:] >> 1) != (key[:-1] >> 1)
        key = key[first]
        pair = key >> 1
        self.values = (1 - (key & 1)).astype(np.int8)
        self.classes = (pair % num_classes).astype(np.int32)
        self.offsets = np.zeros(num_images + 1, dtype=np.int64)
        np.cumsum(np.bincount(pair // num_classes, minlength=num_images),
                  out=self.offsets[1:])


@DATASETS.register_module()
class OpenImages(MultiLabelDataset):
    """Open Images V6 / V7, human-verified image-level labels.

    Files under ``data_root`` (names of the official V6 release; V7's with
    ``version='v7'``, or any names through the arguments)::

        oidv6-class-descriptions.csv     LabelName,DisplayName
        oidv6-classes-trainable.txt      one LabelName a line (9,605 in V6)
        oidv6-train-annotations-human-imagelabels.csv
        validation-annotations-human-imagelabels.csv
        test-annotations-human-imagelabels.csv
        train/<ImageID>.jpg  validation/<ImageID>.jpg  test/<ImageID>.jpg

    A labels file has a header naming (at least) ``ImageID``,
    ``LabelName`` and ``Confidence`` (``Source`` is not used), one verified
    (image, class) pair a row. The classes are the trainable ones, in the
    order of the trainable list; ``metainfo['classes']`` holds their display
    names and :attr:`label_names` their LabelNames.

    **Labels.** A verified positive (confidence 1) is a positive, a verified
    negative (0) a negative; every other class of the image is unknown.
    ``gt_label`` holds the positives and ``gt_label_negative`` the verified
    negatives; :class:`~oprl_mm.evaluation.MLCMetric` scores an image only
    on those two sets. The losses (which see ``gt_label`` only) treat
    unknown classes as negatives, the usual way of training on Open Images.
    A row whose class is described but not trainable is dropped (counted in
    :attr:`num_dropped_rows`); a class not in the descriptions, a confidence
    other than 0 or 1, or a malformed row is an error naming the file and
    its row.

    **Indexing** is vectorised: the labels file is parsed in 16 MB chunks
    with numpy (delimiters found by value, fields gathered as fixed-width
    byte strings, LabelNames looked up with ``searchsorted``) and grouped by
    image with one sort; the dataset keeps flat arrays (image ids, CSR
    offsets, class indices, values), not one Python dict an image, and
    builds each data info when it is read. docs/datasets.md gives the time
    on a file of the real size.

    Args:
        data_root (str): The Open Images root folder.
        split (str): ``'train'``, ``'validation'`` or ``'test'``.
        version (str): ``'v6'`` or ``'v7'``: the default file names.
        label_file (str, optional): labels CSV relative to ``data_root``.
        class_file (str, optional): class descriptions CSV.
        trainable_file (str, optional): trainable class list; None with
            ``use_trainable=False`` uses every described class.
        use_trainable (bool): restrict the classes to the trainable list.
            Defaults to True.
        data_prefix (str | dict, optional): image folder relative to
            ``data_root``. Defaults to the split name.
        filter_cfg (dict, optional): ``dict(filter_empty_gt=False)`` keeps
            images without a verified positive. Defaults to None: they are
            dropped (``filter_empty_gt=True``).
        skip_unreadable (bool): what to do with a labelled image that is
            not in the image folder (checked with one listing of the
            folder): True drops such images with a warning naming the first
            of them. Defaults to False: loading stops naming the labels
            file, the row and the image.
        check_images (bool): list the image folder to find such images.
            Defaults to True; False does not look.
        image_ext (str): image file extension. Defaults to ``'.jpg'``.
        **kwargs: Other arguments of :class:`mmpretrain.datasets.BaseDataset`
            (``pipeline``, ``test_mode``, ``indices``, ``lazy_init`` ...).
            ``indices`` is applied to the arrays (after the filters, as
            mmengine does); ``serialize_data`` is ignored: the flat arrays
            are already the compact storage that DataLoader workers share.

    mmengine's ``BaseDataset.full_init`` builds the dataset through its
    public steps: :meth:`load_data_list` indexes the labels file into the
    arrays and :meth:`filter_data` filters them; both return an empty
    ``data_list``, and the methods that read an image are
    ``force_full_init``, as mmengine's own.
    """

    @renamed_arguments(
        filter_empty='filter_cfg=dict(filter_empty_gt=...)',
        missing_images="skip_unreadable=True for 'skip', "
        "skip_unreadable=False for 'error', check_images=False for 'ignore'")
    def __init__(self,
                 data_root: str,
                 split: str = 'train',
                 version: str = 'v6',
                 label_file: Optional[str] = None,
                 class_file: Optional[str] = None,
                 trainable_file: Optional[str] = None,
                 use_trainable: bool = True,
                 data_prefix: Union[str, dict, None] = None,
                 filter_cfg: Optional[dict] = None,
                 skip_unreadable: bool = False,
                 check_images: bool = True,
                 image_ext: str = '.jpg',
                 metainfo: Optional[dict] = None,
                 **kwargs):
        self._check_args(version, split)
        self.split = split
        self.filter_empty_gt = filter_empty_gt(filter_cfg, 'OpenImages')
        self.skip_unreadable = skip_unreadable
        self.check_images = check_images
        self.image_ext = image_ext
        self._set_files(data_root, version, split, label_file, class_file,
                        trainable_file, use_trainable)
        classes = self._read_classes()
        self.subset_indices = kwargs.pop('indices', None)
        kwargs.pop('serialize_data', None)
        super().__init__(
            ann_file='',
            data_root=data_root,
            data_prefix=split if data_prefix is None else data_prefix,
            metainfo={'classes': classes, **(metainfo or {})},
            filter_cfg=filter_cfg,
            serialize_data=False,
            **kwargs)

    @staticmethod
    def _check_args(version: str, split: str) -> None:
        if version not in LABEL_FILES:
            raise ValueError(f"version must be 'v6' or 'v7', got {version!r}")
        if split not in LABEL_FILES[version]:
            raise ValueError('split must be one of '
                             f'{tuple(LABEL_FILES[version])}, got {split!r}')

    def _set_files(self, data_root: str, version: str, split: str,
                   label_file: Optional[str], class_file: Optional[str],
                   trainable_file: Optional[str],
                   use_trainable: bool) -> None:
        """The labels, class descriptions and trainable classes files, the
        release's names under ``data_root`` unless given."""
        self.label_file = osp.join(data_root, label_file
                                   or LABEL_FILES[version][split])
        self.class_file = osp.join(data_root, class_file
                                   or CLASS_FILES[version][0])
        self.trainable_file = osp.join(
            data_root, trainable_file or CLASS_FILES[version][1]) \
            if use_trainable else None

    def _read_classes(self) -> tuple:
        """Set :attr:`label_names` (the trainable LabelNames, or every
        described one) and return their display names."""
        described, display = read_class_descriptions(self.class_file)
        if self.trainable_file:
            self.label_names = read_trainable(self.trainable_file, described,
                                              self.class_file)
        else:
            self.label_names = list(described)
        display_of = dict(zip(described, display))
        self._described = described
        return tuple(display_of[m] or m for m in self.label_names)

    # ----------------------------------------------------------- indexing
    def load_data_list(self) -> list:
        """Index the labels file into flat arrays; no per-image dicts (an
        empty ``data_list``)."""
        check_dir(self.img_prefix, 'Open Images image folder')
        trainable = {m: i for i, m in enumerate(self.label_names)}
        labels = HumanLabels(self.label_file, self._described,
                             [trainable.get(m, -1) for m in self._described])
        self.num_label_rows = labels.num_rows
        self.num_dropped_rows = labels.num_dropped
        self.image_ids, self.first_rows = labels.image_ids, labels.first_rows
        self.offsets, self.classes = labels.offsets, labels.classes
        self.values = labels.values
        return []

    def filter_data(self) -> list:
        """Keep the images with a verified positive (``filter_empty_gt``)
        and present (``check_images``), then ``indices``; an empty
        ``data_list``."""
        keep = np.ones(len(self.image_ids), dtype=bool)
        if self.filter_empty_gt:
            image, _ = self._positive_pairs()
            keep &= np.bincount(image, minlength=len(keep)) > 0
        if self.check_images:
            keep &= self._present(keep)
        self._select(np.flatnonzero(keep))
        if self.subset_indices is not None:
            self._select(self._subset_indices(self.subset_indices))
        return []

    def _present(self, wanted: np.ndarray) -> np.ndarray:
        """Which images are in the image folder (one listing)."""
        ext = self.image_ext.encode()
        with os.scandir(self.img_prefix) as entries:
            names = [e.name.encode() for e in entries]
        stems = np.asarray(
            [n[:-len(ext)] for n in names if n.endswith(ext)] or [b''],
            dtype=self.image_ids.dtype if len(self.image_ids) else 'S1')
        present = np.isin(self.image_ids, stems)
        missing = np.flatnonzero(wanted & ~present)
        if len(missing):
            first = int(missing[0])
            msg = (f'{len(missing)} labelled images are not in '
                   f'{osp.abspath(self.img_prefix)}, the first: '
                   f'{self.image_ids[first].decode()}{self.image_ext} (row '
                   f'{int(self.first_rows[first])} of '
                   f'{osp.abspath(self.label_file)})')
            if not self.skip_unreadable:
                raise FileNotFoundError(
                    msg + '; pass skip_unreadable=True to train on the '
                    'images you have (see docs/datasets.md)')
            warnings.warn(msg + '; they are skipped')
        return present

    def _select(self, index: np.ndarray) -> None:
        """Keep the images ``index`` (in that order), vectorised."""
        index = np.asarray(index, dtype=np.int64)
        counts = np.diff(self.offsets)[index]
        starts = self.offsets[:-1][index]
        offsets = np.zeros(len(index) + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        # position of every kept label in the old arrays
        take = np.repeat(starts - offsets[:-1], counts) + np.arange(
            offsets[-1])
        self.image_ids = self.image_ids[index]
        self.first_rows = self.first_rows[index]
        self.classes, self.values = self.classes[take], self.values[take]
        self.offsets = offsets

    def _subset_indices(self, indices: Union[int, Sequence[int]]):
        num = len(self.image_ids)
        if isinstance(indices, int):
            return np.arange(num)[:indices] if indices >= 0 else \
                np.arange(num)[indices:]
        return np.asarray(indices, dtype=np.int64)

    @force_full_init
    def get_subset_(self, indices: Union[Sequence[int], int]) -> None:
        """Keep a subset of the images in place (see mmengine)."""
        self._select(self._subset_indices(indices))

    @force_full_init
    def get_subset(self, indices: Union[Sequence[int], int]) -> 'OpenImages':
        """A copy holding a subset of the images (see mmengine)."""
        other = copy.copy(self)
        other._select(self._subset_indices(indices))
        return other

    # ----------------------------------------------------------- access
    @force_full_init
    def __len__(self) -> int:
        return len(self.image_ids)

    def _labels(self, idx: int) -> Tuple[np.ndarray, np.ndarray]:
        start, end = self.offsets[idx], self.offsets[idx + 1]
        classes, values = self.classes[start:end], self.values[start:end]
        return classes[values == 1], classes[values == 0]

    @force_full_init
    def get_data_info(self, idx: int) -> dict:
        """The data info of an image, built from the arrays."""
        idx = int(idx) % len(self)
        positives, negatives = self._labels(idx)
        name = self.image_ids[idx].decode() + self.image_ext
        return dict(
            img_path=osp.join(self.img_prefix, name),
            gt_label=positives.astype(np.int64).tolist(),
            gt_label_negative=negatives.astype(np.int64).tolist(),
            sample_idx=idx)

    @force_full_init
    def get_cat_ids(self, idx: int) -> List[int]:
        """The verified positives of an image."""
        return self._labels(int(idx))[0].astype(np.int64).tolist()

    @force_full_init
    def positive_label_pairs(self) -> Tuple[np.ndarray, np.ndarray]:
        """(image index, class index) of every verified positive, the labels
        :class:`~oprl_mm.engine.CooccurrenceHook` builds A from."""
        return self._positive_pairs()

    def _positive_pairs(self) -> Tuple[np.ndarray, np.ndarray]:
        image = np.repeat(
            np.arange(len(self.image_ids)), np.diff(self.offsets))
        positive = self.values == 1
        return image[positive], self.classes[positive].astype(np.int64)

    def extra_repr(self) -> List[str]:
        return [
            f'Root: \t{self.data_root}', f'Split: \t{self.split}',
            f'Labels: \t{self.label_file}',
            f'Prefix of images: \t{self.img_prefix}'
        ]
