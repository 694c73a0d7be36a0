"""COCO-format multi-label dataset (COCO 2014 and any ``instances`` file)."""
import gc
import json
import os.path as osp
import pickle
from contextlib import contextmanager
from itertools import chain
from typing import List, Optional, Sequence, Union

import numpy as np
from mmpretrain.datasets import MultiLabelDataset
from mmpretrain.registry import DATASETS

from .utils import check_dir, check_file


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
    the ``json.load`` step is done here; the labels are then built with
    vectorised numpy.
    """
    with open(ann_file, 'r') as f:
        dataset = json.load(f)
    if not isinstance(dataset, dict) or 'images' not in dataset \
            or 'categories' not in dataset:
        raise ValueError(
            f'{osp.abspath(ann_file)} is not a COCO-format annotation file: '
            'it needs the keys "images", "annotations" and "categories".')
    return dataset


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

    Crowd annotations (``iscrowd=1``) count as labels, as in the ASL code
    base, which builds labels from ``getAnnIds`` without an ``iscrowd``
    filter. Other codebases skip crowd regions and so lose a label on the
    rare images whose only instance of a class is a crowd region.

    Images without any annotation are dropped when ``filter_empty=True``
    (the default): COCO 2014 then has 82,081 train and 40,137 val images,
    the counts behind most published results (ML-GCN reports them; the ASL
    code keeps only images in pycocotools' ``imgToAnns``).
    ``filter_empty=False`` keeps them with an empty label set: 82,783 /
    40,504 images, the counts Query2Label evaluates on. Kept images without
    labels are negatives for every class, so they change AP and precision.

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
        filter_empty (bool): Drop images without labels. Defaults to True.
        metainfo (dict, optional): ``dict(classes=[...])`` selects and orders
            classes by name: every name must be a category of the file;
            annotations of other categories are ignored (then
            ``filter_empty`` drops images left without labels).
            Defaults to None, meaning every category of the file.
        classes (str | Sequence[str], optional): The same selection as a list
            or a file with one name a line (mmpretrain's ``classes``
            argument). Defaults to None.
        **kwargs: Other arguments of :class:`mmpretrain.datasets.BaseDataset`
            (``pipeline``, ``test_mode``, ``serialize_data``, ``indices``,
            ``lazy_init`` ...).

    Example:
        >>> from oprl_mm.datasets import CocoMultiLabel
        >>> ds = CocoMultiLabel(
        ...     data_root='data/coco',
        ...     ann_file='annotations/instances_val2014.json',
        ...     data_prefix='val2014')
        >>> len(ds), len(ds.CLASSES)
        (40137, 80)
    """

    def __init__(self,
                 ann_file: str,
                 data_root: str = '',
                 data_prefix: Union[str, dict] = '',
                 filter_empty: bool = True,
                 metainfo: Optional[dict] = None,
                 classes: Union[str, Sequence[str], None] = None,
                 **kwargs):
        self.filter_empty = filter_empty
        super().__init__(
            ann_file=ann_file,
            data_root=data_root,
            data_prefix=data_prefix,
            metainfo=metainfo,
            classes=classes,
            **kwargs)

    def _class_index(self, categories: List[dict]):
        """Map category ids to class indices; set ``classes`` in metainfo.

        Returns:
            np.ndarray: lookup table, ``table[cat_id]`` is the class index or
            -1 for a category that is not selected.
        """
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
        wanted = self._metainfo.get('classes')
        if wanted is None:
            order = list(range(len(names)))
            self._metainfo['classes'] = tuple(names)
        else:
            wanted = list(wanted)
            unknown = [n for n in wanted if n not in names]
            if unknown:
                raise ValueError(
                    f'classes {unknown} given in metainfo/classes are not '
                    f'categories of {osp.abspath(self.ann_file)}; its '
                    f'categories are {names}')
            pos = {n: i for i, n in enumerate(names)}
            order = [pos[n] for n in wanted]
            self._metainfo['classes'] = tuple(wanted)
        table = np.full(max(ids, default=0) + 2, -1, dtype=np.int64)
        for new_idx, k in enumerate(order):
            table[ids[k]] = new_idx
        return table, set(ids)

    def load_data_list(self) -> List[dict]:
        """Read the file and build one data info per image."""
        check_file(self.ann_file, 'COCO annotation file')
        check_dir(self.img_prefix, 'image folder')
        with _gc_paused():
            data = _read_coco(self.ann_file)
            data_list = self._build(data)
            del data
        return data_list

    def _build(self, data: dict) -> List[dict]:
        table, known_ids = self._class_index(data['categories'])
        images = data['images']
        anns = data.get('annotations') or []
        num_imgs, num_anns = len(images), len(anns)

        img_ids = np.fromiter((im['id'] for im in images), np.int64, num_imgs)
        order = np.argsort(img_ids, kind='stable')
        sorted_ids = img_ids[order]
        if num_imgs > 1 and np.any(sorted_ids[1:] == sorted_ids[:-1]):
            dup = int(sorted_ids[1:][sorted_ids[1:] == sorted_ids[:-1]][0])
            raise ValueError(f'image id {dup} appears twice in "images" of '
                             f'{osp.abspath(self.ann_file)}')

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

        # image index of each annotation
        pos = np.searchsorted(sorted_ids, a_img)
        pos_c = np.minimum(pos, max(num_imgs - 1, 0))
        orphan = (pos >= num_imgs) | (sorted_ids[pos_c] != a_img) \
            if num_imgs else np.ones(num_anns, bool)
        if orphan.any():
            k = int(np.flatnonzero(orphan)[0])
            raise ValueError(
                f'annotation {anns[k].get("id")} refers to image id '
                f'{int(a_img[k])}, which is not in "images" of '
                f'{osp.abspath(self.ann_file)}')
        a_idx = order[pos_c]

        # class index of each annotation
        in_table = (a_cat >= 0) & (a_cat < len(table))
        bad = ~in_table | ~np.isin(a_cat, np.fromiter(known_ids, np.int64))
        if bad.any():
            k = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f'category id {int(a_cat[k])} of annotation '
                f'{anns[k].get("id")} (image '
                f'{images[int(a_idx[k])].get("file_name")!r}) is not in the '
                f'"categories" of {osp.abspath(self.ann_file)}')
        a_cls = table[a_cat]
        keep = a_cls >= 0  # annotations of classes not selected are ignored
        a_idx, a_cls, boxes = a_idx[keep], a_cls[keep], boxes[keep]

        # boxes grouped by image, in file order within an image
        by_img = np.argsort(a_idx, kind='stable')
        boxes = boxes[by_img]
        boxes[:, 2:] += boxes[:, :2]  # xywh -> x1y1x2y2
        box_cls = a_cls[by_img]
        box_split = np.searchsorted(a_idx[by_img], np.arange(num_imgs + 1))

        # sorted unique labels per image
        C = len(self._metainfo['classes'])
        pairs = np.unique(a_idx * C + a_cls)
        lab_img, lab_cls = pairs // C, pairs % C
        lab_split = np.searchsorted(lab_img, np.arange(num_imgs + 1))
        lab_cls = lab_cls.tolist()

        prefix = self.img_prefix
        join = osp.join
        data_list = []
        for i, im in enumerate(images):
            l0, l1 = lab_split[i], lab_split[i + 1]
            if self.filter_empty and l0 == l1:
                continue
            b0, b1 = box_split[i], box_split[i + 1]
            data_list.append(
                dict(
                    img_path=join(prefix, im['file_name']),
                    gt_label=lab_cls[l0:l1],
                    gt_bboxes=boxes[b0:b1],
                    gt_bboxes_labels=box_cls[b0:b1]))
        return data_list

    def _serialize_data(self):
        """mmengine's serialisation (protocol-4 pickles, one byte array and
        end offsets) without its closing ``gc.collect()``, which walks every
        object of the process (a fixed 0.2-0.5 s with torch loaded) although
        the data infos hold no reference cycles and are freed on
        ``clear()``. Also accepts an empty data list."""
        with _gc_paused():
            chunks = [
                np.frombuffer(pickle.dumps(x, protocol=4), dtype=np.uint8)
                for x in self.data_list
            ]
        address = np.cumsum(
            np.fromiter(map(len, chunks), np.int64, len(chunks)))
        data_bytes = np.concatenate(chunks) if chunks else np.zeros(
            0, np.uint8)
        self.data_list.clear()
        return data_bytes, address

    def extra_repr(self) -> List[str]:
        body = super().extra_repr()
        body.append(f'Drop images without labels: \t{self.filter_empty}')
        return body
