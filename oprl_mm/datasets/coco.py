"""COCO-format multi-label dataset (COCO 2014 and any ``instances`` file)."""
import gc
import os.path as osp
from contextlib import contextmanager
from itertools import chain
from typing import List, Optional, Tuple, Union

import numpy as np
from mmpretrain.datasets import MultiLabelDataset
from mmpretrain.registry import DATASETS

from ..renamed import renamed_arguments
from .utils import (check_dir, check_file, filter_empty_gt, read_json,
                    set_classes)


@contextmanager
def _gc_paused():
    """Pause the cyclic garbage collector while millions of small objects
    are created: the JSON tree holds no reference cycles, and generational
    collections over it would only cost time."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _read_coco(ann_file: str) -> dict:
    """Parse a COCO-format file as ``pycocotools.coco.COCO`` does.

    ``COCO(ann_file)`` is ``json.load`` followed by ``createIndex``, a Python
    loop over every annotation that builds ``anns``, ``imgToAnns`` and
    ``catToImgs``. Multi-label indexing needs none of these indices, so only
    the ``json.load`` step is done here (as UTF-8, a byte-order mark
    accepted); the labels are then built with vectorised numpy once
    :func:`_check_coco` has checked the records they are built from.
    """
    dataset = read_json(ann_file, 'COCO annotation file', unique_keys=False)
    if not isinstance(dataset, dict) or 'images' not in dataset \
            or 'categories' not in dataset:
        raise ValueError(
            f'{osp.abspath(ann_file)} is not a COCO-format annotation file: '
            'it needs the keys "images", "annotations" and "categories".')
    _check_coco(dataset, osp.abspath(ann_file))
    return dataset


# the JSON type each checked field must have: ``type(v) is int`` refuses a
# float (1e10, 3.7) or a boolean where an id is expected
_FIELD_TYPES = dict(
    id=int, image_id=int, category_id=int, file_name=str, name=str,
    bbox=list)


def _check_records(records, key: str, fields: Tuple[str, ...],
                   path: str) -> None:
    """``records`` is a list of objects, each with ``fields`` of the types
    of ``_FIELD_TYPES``."""
    if not isinstance(records, list):
        raise ValueError(
            f'"{key}" of {path} must be a list of objects, got a '
            f'{type(records).__name__}')
    if set(map(type, records)) - {dict}:
        k = next(i for i, r in enumerate(records) if type(r) is not dict)
        raise ValueError(f'entry {k} of "{key}" in {path} is not an object: '
                         f'{records[k]!r}'[:400])
    for field in fields:
        expected = _FIELD_TYPES[field]
        values = [r.get(field) for r in records]
        if set(map(type, values)) - {expected}:
            k = next(i for i, v in enumerate(values)
                     if type(v) is not expected)
            what = 'has a bad' if field in records[k] else 'lacks'
            raise ValueError(
                f'entry {k} of "{key}" in {path} {what} "{field}" (needs a '
                f'JSON {expected.__name__}, got {values[k]!r}): '
                f'{records[k]!r}'[:400])


def _check_unique(values: list, key: str, field: str, path: str) -> None:
    """No two entries of ``key`` share ``field``."""
    if len(set(values)) != len(values):
        seen = set()
        dup = next(v for v in values if v in seen or seen.add(v))
        raise ValueError(
            f'{field} {dup!r} appears twice in "{key}" of {path}: each '
            f'{key[:-1]} must be listed once (two entries would merge into '
            'one or one would never occur)')


def _check_coco(dataset: dict, path: str) -> None:
    """The records the labels are built from, checked before any is used:
    lists of objects; integer ids (a float such as ``1e10`` or ``3.7`` is
    refused, never rounded); string ``file_name`` and ``name``; unique image
    ids, file names and category ids."""
    images, categories = dataset['images'], dataset['categories']
    anns = dataset.get('annotations')
    _check_records(images, 'images', ('id', 'file_name'), path)
    _check_records(categories, 'categories', ('id', 'name'), path)
    if anns is not None:
        _check_records(anns, 'annotations',
                       ('image_id', 'category_id', 'bbox'), path)
    _check_unique([im['id'] for im in images], 'images', 'image id', path)
    _check_unique([im['file_name'] for im in images], 'images', 'file_name',
                  path)
    _check_unique([c['id'] for c in categories], 'categories', 'category id',
                  path)


def _boxes_by_image(a_idx: np.ndarray, a_cls: np.ndarray, boxes: np.ndarray,
                    num_imgs: int) -> Tuple[np.ndarray, ...]:
    """Boxes as ``x1, y1, x2, y2`` grouped by image (file order within an
    image), their class indices, and where each image's boxes start."""
    by_img = np.argsort(a_idx, kind='stable')
    boxes = boxes[by_img]
    boxes[:, 2:] += boxes[:, :2]  # xywh -> x1y1x2y2
    box_split = np.searchsorted(a_idx[by_img], np.arange(num_imgs + 1))
    return box_split, boxes, a_cls[by_img]


def _labels_by_image(a_idx: np.ndarray, a_cls: np.ndarray, num_imgs: int,
                     num_classes: int) -> Tuple[np.ndarray, list]:
    """The sorted, unique labels of every image as one flat list, and where
    each image's labels start."""
    pairs = np.unique(a_idx * num_classes + a_cls)
    lab_img, lab_cls = pairs // num_classes, pairs % num_classes
    lab_split = np.searchsorted(lab_img, np.arange(num_imgs + 1))
    return lab_split, lab_cls.tolist()


@DATASETS.register_module()
class CocoMultiLabel(MultiLabelDataset):
    """Multi-label dataset read from a COCO-format ``instances`` file.

    The classes are the file's ``categories`` names in ascending category id
    order (80 classes for COCO 2014); the non-contiguous COCO ids are mapped
    to ``0 .. C-1``. Each data info holds

    - ``img_path``: ``data_prefix['img_path']`` joined with ``file_name``;
    - ``gt_label``: the sorted, unique class indices of the image (a
      category annotated twice counts once);
    - ``gt_bboxes``: ``float32`` array ``(N, 4)`` of every annotated box as
      ``x1, y1, x2, y2`` in pixels, and ``gt_bboxes_labels``: ``int64``
      array ``(N,)`` of their class indices. Nothing in training reads the
      boxes; they are kept for attention-localisation measurements.
    - with ``with_masks=True``, ``gt_masks``: a list of N pycocotools RLE
      dicts, the mask of each box's instance at the image's ``height`` x
      ``width``, converted as ``COCO.annToRLE`` does (polygons through
      ``frPyObjects`` and ``merge``, crowd RLEs through ``frPyObjects``).
      :class:`~oprl_mm.evaluation.AttentionLocalization` merges them per
      class. Off by default: converting every polygon costs time and memory
      that classification does not need.

    Crowd annotations (``iscrowd=1``) count as labels, as in the ASL code
    base, which builds labels from ``getAnnIds`` without an ``iscrowd``
    filter. Other codebases skip crowd regions and so lose a label on the
    rare images whose only instance of a class is a crowd region.

    Images without any annotation are dropped when
    ``filter_cfg=dict(filter_empty_gt=True)`` (the default): COCO 2014 then
    has 82,081 train and 40,137 val images, the counts behind most
    published results (ML-GCN reports them; the ASL code keeps only images
    in pycocotools' ``imgToAnns``).
    ``filter_empty_gt=False`` keeps them with an empty label set: 82,783 /
    40,504 images, the counts Query2Label evaluates on. Kept images without
    labels are negatives for every class, so they change AP and precision.

    Before any label is built, the file is checked (each failure names the
    file and the entry): UTF-8 JSON (a byte-order mark is accepted); lists
    of objects under ``images``, ``categories`` and ``annotations``; integer
    ids (a float such as ``1e10``, a string or a boolean is refused, never
    rounded), string ``file_name`` and ``name``, a ``bbox`` list; no image
    id, file name, category id or category name given twice; every
    annotation's image and category present. Category ids may be large and
    sparse.

    The file is parsed with ``json`` as ``pycocotools.coco.COCO`` does, but
    ``COCO.createIndex`` (a Python loop over every annotation) is skipped:
    labels and boxes are built with vectorised numpy, which keeps indexing
    a COCO-sized file within the time of ``COCO(ann_file)`` alone (see
    ``tools/analysis_tools/coco_index_benchmark.py``).

    Args:
        ann_file (str): The COCO-format annotation file, relative to
            ``data_root`` unless absolute.
        data_root (str): The dataset root. Defaults to ''.
        data_prefix (str | dict): The image folder, relative to
            ``data_root``, or ``dict(img_path=...)``. Defaults to ''.
        filter_cfg (dict, optional): ``dict(filter_empty_gt=False)`` keeps
            images without labels. Defaults to None: they are dropped
            (``filter_empty_gt=True``).
        with_masks (bool): Keep the instance masks as ``gt_masks``. Needs
            pycocotools. Defaults to False.
        **kwargs: Other arguments of :class:`mmpretrain.datasets.BaseDataset`
            (``pipeline``, ``test_mode``, ``serialize_data``, ``indices``,
            ``lazy_init`` ...), among them the class selection:
            ``metainfo=dict(classes=[...])`` selects and orders classes by
            name: every name must be a category of the file; annotations of
            other categories are ignored (then ``filter_empty_gt`` drops images
            left without labels). ``classes`` gives the same selection as a
            list or a file with one name a line (mmpretrain's ``classes``
            argument). Without either, every category of the file is a
            class.

    Example:
        >>> from oprl_mm.datasets import CocoMultiLabel
        >>> ds = CocoMultiLabel(
        ...     data_root='data/coco',
        ...     ann_file='annotations/instances_val2014.json',
        ...     data_prefix='val2014')
        >>> len(ds), len(ds.CLASSES)
        (40137, 80)
    """

    @renamed_arguments(
        filter_empty='filter_cfg=dict(filter_empty_gt=...)')
    def __init__(self,
                 ann_file: str,
                 data_root: str = '',
                 data_prefix: Union[str, dict] = '',
                 filter_cfg: Optional[dict] = None,
                 with_masks: bool = False,
                 **kwargs):
        self.filter_empty_gt = filter_empty_gt(filter_cfg, 'CocoMultiLabel')
        self.with_masks = with_masks
        super().__init__(
            ann_file,
            data_root=data_root,
            data_prefix=data_prefix,
            filter_cfg=filter_cfg,
            **kwargs)

    def load_data_list(self) -> List[dict]:
        """Read the file and build one data info per image."""
        check_file(self.ann_file, 'COCO annotation file')
        check_dir(self.img_prefix, 'image folder')
        with _gc_paused():
            data = _read_coco(self.ann_file)
            data_list = self._build(data)
            del data
        if not data_list:
            # nothing to share with workers, and mmengine's serialisation
            # needs at least one data info to concatenate
            self.serialize_data = False
        return data_list

    def _build(self, data: dict) -> List[dict]:
        """Labels and boxes of every image, built with vectorised numpy."""
        table, known_ids = self._class_index(data['categories'])
        images = data['images']
        anns = data.get('annotations') or []
        sorted_ids, order = self._image_order(images)
        a_img, a_cat, boxes = self._annotation_arrays(anns)
        a_idx = self._annotation_images(anns, a_img, sorted_ids, order)
        a_cls = self._annotation_classes(anns, images, a_cat, a_idx, table,
                                         known_ids)
        keep = a_cls >= 0  # annotations of classes not selected are ignored
        a_idx, a_cls, boxes = a_idx[keep], a_cls[keep], boxes[keep]
        box_split, boxes, box_cls = _boxes_by_image(a_idx, a_cls, boxes,
                                                    len(images))
        lab_split, lab_cls = _labels_by_image(a_idx, a_cls, len(images),
                                              len(self.metainfo['classes']))
        data_list = self._data_infos(images, lab_split, lab_cls, box_split,
                                     boxes, box_cls)
        if self.with_masks:  # in the boxes' order
            by_img = np.flatnonzero(keep)[np.argsort(a_idx, kind='stable')]
            self._add_masks(data_list, images, anns, by_img, box_split)
        return data_list

    def _add_masks(self, data_list: List[dict], images: List[dict],
                   anns: List[dict], by_img: np.ndarray,
                   box_split: np.ndarray) -> None:
        """``gt_masks`` of every kept image: the RLE of each of its boxes'
        annotations (``anns[by_img]`` in box order)."""
        from pycocotools import mask as mask_utils

        kept = iter(data_list)
        for i, im in enumerate(images):
            b0, b1 = box_split[i], box_split[i + 1]
            # an image has labels exactly when it has boxes
            if self.filter_empty_gt and b0 == b1:
                continue
            info = next(kept)
            info['gt_masks'] = [
                _annotation_rle(anns[k], im, mask_utils, self.ann_file)
                for k in by_img[b0:b1]
            ]

    def _class_index(self,
                     categories: List[dict]) -> Tuple[np.ndarray, np.ndarray]:
        """Map category ids to class indices; set ``classes`` in metainfo.

        Returns:
            tuple: ``table``, where ``table[k]`` is the class index of the
            k-th category in ascending id order or -1 for a category that is
            not selected, and the sorted array of the file's category ids
            (ids may be large and sparse: nothing is sized by them).
        """
        ids, names = self._categories(categories)
        order = self._selected(names)
        table = np.full(len(ids), -1, dtype=np.int64)
        table[order] = np.arange(len(order))
        return table, np.asarray(ids, dtype=np.int64)

    def _categories(self, categories: List[dict]) -> Tuple[list, list]:
        """Ids and names of the categories, in ascending id order."""
        try:
            cats = sorted(categories, key=lambda c: c['id'])
            ids = [int(c['id']) for c in cats]
            names = [str(c['name']) for c in cats]
        except (KeyError, TypeError, ValueError) as e:
            raise ValueError(
                f'malformed "categories" in {osp.abspath(self.ann_file)}: '
                f'each entry needs an integer "id" and a "name" ({e!r})')
        if len(set(names)) != len(names):
            dup = sorted({n for n in names if names.count(n) > 1})
            raise ValueError(f'duplicate category names {dup} in '
                             f'{osp.abspath(self.ann_file)}')
        return ids, names

    def _selected(self, names: List[str]) -> List[int]:
        """Positions in ``names`` of the classes, in class order; every
        category unless ``metainfo``/``classes`` selected some."""
        wanted = self.metainfo.get('classes')
        if wanted is None:
            set_classes(self, names)
            return list(range(len(names)))
        wanted = list(wanted)
        unknown = [n for n in wanted if n not in names]
        if unknown:
            raise ValueError(
                f'classes {unknown} given in metainfo/classes are not '
                f'categories of {osp.abspath(self.ann_file)}; its '
                f'categories are {names}')
        set_classes(self, wanted)
        pos = {n: i for i, n in enumerate(names)}
        return [pos[n] for n in wanted]

    def _image_order(self, images: List[dict]) -> Tuple[np.ndarray,
                                                        np.ndarray]:
        """The image ids sorted, and the file positions in that order."""
        img_ids = np.fromiter((im['id'] for im in images), np.int64,
                              len(images))
        order = np.argsort(img_ids, kind='stable')
        sorted_ids = img_ids[order]
        twice = sorted_ids[1:] == sorted_ids[:-1]
        if twice.any():
            raise ValueError(
                f'image id {int(sorted_ids[1:][twice][0])} appears twice in '
                f'"images" of {osp.abspath(self.ann_file)}')
        return sorted_ids, order

    def _annotation_arrays(self, anns: List[dict]) -> Tuple[np.ndarray, ...]:
        """Image id, category id and ``xywh`` box of every annotation."""
        num_anns = len(anns)
        try:
            a_img = np.fromiter((a['image_id'] for a in anns), np.int64,
                                num_anns)
            a_cat = np.fromiter((a['category_id'] for a in anns), np.int64,
                                num_anns)
            boxes = np.fromiter(
                chain.from_iterable(a['bbox'] for a in anns), np.float32,
                4 * num_anns).reshape(num_anns, 4)
        except (KeyError, TypeError, ValueError) as e:
            raise ValueError(
                f'malformed annotation in {osp.abspath(self.ann_file)}: each '
                'annotation needs "image_id", "category_id" and a 4-number '
                f'"bbox" ({e!r})')
        return a_img, a_cat, boxes

    def _annotation_images(self, anns: List[dict], a_img: np.ndarray,
                           sorted_ids: np.ndarray,
                           order: np.ndarray) -> np.ndarray:
        """File position of the image of every annotation."""
        num_imgs = len(sorted_ids)
        pos = np.searchsorted(sorted_ids, a_img)
        pos_c = np.minimum(pos, max(num_imgs - 1, 0))
        orphan = (pos >= num_imgs) | (sorted_ids[pos_c] != a_img) \
            if num_imgs else np.ones(len(a_img), bool)
        if orphan.any():
            k = int(np.flatnonzero(orphan)[0])
            raise ValueError(
                f'annotation {anns[k].get("id")} refers to image id '
                f'{int(a_img[k])}, which is not in "images" of '
                f'{osp.abspath(self.ann_file)}')
        return order[pos_c]

    def _annotation_classes(self, anns: List[dict], images: List[dict],
                            a_cat: np.ndarray, a_idx: np.ndarray,
                            table: np.ndarray,
                            known_ids: np.ndarray) -> np.ndarray:
        """Class index of every annotation, -1 for classes not selected."""
        pos = np.minimum(np.searchsorted(known_ids, a_cat),
                         max(len(known_ids) - 1, 0))
        bad = known_ids[pos] != a_cat if len(known_ids) else \
            np.ones(len(a_cat), bool)
        if bad.any():
            k = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f'category id {int(a_cat[k])} of annotation '
                f'{anns[k].get("id")} (image '
                f'{images[int(a_idx[k])].get("file_name")!r}) is not in the '
                f'"categories" of {osp.abspath(self.ann_file)}')
        return table[pos]

    def _data_infos(self, images: List[dict], lab_split: np.ndarray,
                    lab_cls: list, box_split: np.ndarray, boxes: np.ndarray,
                    box_cls: np.ndarray) -> List[dict]:
        """One data info per image, in file order; ``filter_empty_gt`` drops
        images without labels."""
        prefix = self.img_prefix
        join = osp.join
        data_list = []
        for i, im in enumerate(images):
            l0, l1 = lab_split[i], lab_split[i + 1]
            if self.filter_empty_gt and l0 == l1:
                continue
            b0, b1 = box_split[i], box_split[i + 1]
            data_list.append(
                dict(
                    img_path=join(prefix, im['file_name']),
                    gt_label=lab_cls[l0:l1],
                    gt_bboxes=boxes[b0:b1],
                    gt_bboxes_labels=box_cls[b0:b1]))
        return data_list

    def extra_repr(self) -> List[str]:
        body = super().extra_repr()
        body.append(f'Drop images without labels: \t{self.filter_empty_gt}')
        return body


def _annotation_rle(ann: dict, image: dict, mask_utils,
                    ann_file: str) -> dict:
    """The RLE of one annotation's segmentation, as ``COCO.annToRLE``."""
    try:
        segm = ann['segmentation']
        height, width = int(image['height']), int(image['width'])
    except (KeyError, TypeError, ValueError) as e:
        raise ValueError(
            f'with_masks needs a "segmentation" in every annotation and the '
            f'"height" and "width" of every image of '
            f'{osp.abspath(ann_file)} (annotation {ann.get("id")}: {e!r}); '
            'or set with_masks=False')
    if isinstance(segm, list):  # polygons of one instance
        if not segm:  # no polygon: an empty mask
            return mask_utils.encode(
                np.zeros((height, width), np.uint8, order='F'))
        return mask_utils.merge(mask_utils.frPyObjects(segm, height, width))
    if isinstance(segm.get('counts'), list):  # uncompressed RLE (crowd)
        return mask_utils.frPyObjects(segm, height, width)
    return segm
