"""SynthMultiLabel: a synthetic multi-label benchmark generated from a seed.

Nothing is downloaded and nothing is written to disk: each image is stored as
a layout (objects, distractors, a noise seed) and rendered when it is read, so
the serialized data list stays small and every dataloader worker renders its
own images. :func:`write_coco` exports a split as PNG files plus a COCO-style
annotation file, for tools that expect images on disk.
"""
import json
import math
import os
import os.path as osp
import random
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np

from mmpretrain.registry import DATASETS

from .rendered import RenderedMultiLabelDataset

# (name, shape, BGR colour). The first ``num_classes`` entries are the classes.
# Classes 8-11 share their shape with one class and their colour with another,
# so neither shape nor colour alone tells every class apart.
CLASS_PALETTE: Tuple[Tuple[str, str, Tuple[int, int, int]], ...] = (
    ('red disc', 'disc', (40, 40, 220)),
    ('blue square', 'square', (220, 80, 30)),
    ('green triangle', 'triangle', (50, 190, 40)),
    ('yellow cross', 'cross', (30, 220, 230)),
    ('magenta ring', 'ring', (210, 50, 210)),
    ('cyan star', 'star', (230, 220, 40)),
    ('orange diamond', 'diamond', (20, 140, 255)),
    ('white stripes', 'stripes', (245, 245, 245)),
    ('blue disc', 'disc', (220, 80, 30)),
    ('green square', 'square', (50, 190, 40)),
    ('red star', 'star', (40, 40, 220)),
    ('yellow ring', 'ring', (30, 220, 230)),
)

# The 'grid' class set (up to 128 classes for large-vocabulary tests): every
# (size, colour, shape) of these, size varying fastest, then shape, then
# colour. Small objects take the lower 43 % of ``size_range``, large ones
# the upper 43 %, so a gap separates the two sizes.
GRID_SHAPES = ('disc', 'square', 'triangle', 'cross', 'ring', 'star',
               'diamond', 'stripes')
GRID_COLORS: Tuple[Tuple[str, Tuple[int, int, int]], ...] = (
    ('red', (40, 40, 220)), ('blue', (220, 80, 30)), ('green', (50, 190, 40)),
    ('yellow', (30, 220, 230)), ('magenta', (210, 50, 210)),
    ('cyan', (230, 220, 40)), ('orange', (20, 140, 255)),
    ('white', (245, 245, 245)))
GRID_SIZES = (('small', 0.0, 0.43), ('large', 0.57, 1.0))
CLASS_SETS = ('palette', 'grid')


def grid_classes() -> List[Tuple[str, str, Tuple[int, int, int], int]]:
    """(name, shape, BGR colour, size index) of the 128 grid classes."""
    return [(f'{size} {color} {shape}', shape, bgr, k)
            for color, bgr in GRID_COLORS for shape in GRID_SHAPES
            for k, (size, _, _) in enumerate(GRID_SIZES)]


SPLITS = ('train', 'val', 'val_shift')
DEFAULT_NUM_IMAGES = dict(train=3000, val=500, val_shift=500)

# Non-class shapes drawn in saturated colours as distractors.
_DISTRACTOR_SHAPES = ('ellipse', 'line', 'frame')
# Class shapes that may also be drawn in grey as distractors.
_GRAY_SHAPES = ('disc', 'square', 'triangle', 'cross', 'ring', 'star',
                'diamond')


def _star(points: int = 5, inner: float = 0.45) -> np.ndarray:
    angles = np.arange(2 * points) * math.pi / points - math.pi / 2
    radii = np.where(np.arange(2 * points) % 2 == 0, 1.0, inner)
    return np.stack([radii * np.cos(angles), radii * np.sin(angles)], 1)


# Polygons in a unit frame ([-1, 1] square, y down).
_POLYGONS: Dict[str, np.ndarray] = {
    'square': np.array([[-0.8, -0.8], [0.8, -0.8], [0.8, 0.8], [-0.8, 0.8]]),
    'triangle': np.array([[0.0, -0.95], [0.95, 0.8], [-0.95, 0.8]]),
    'cross': np.array([[-0.3, -0.95], [0.3, -0.95], [0.3, -0.3], [0.95, -0.3],
                       [0.95, 0.3], [0.3, 0.3], [0.3, 0.95], [-0.3, 0.95],
                       [-0.3, 0.3], [-0.95, 0.3], [-0.95, -0.3],
                       [-0.3, -0.3]]),
    'star': _star(),
    'diamond': np.array([[0.0, -1.0], [0.65, 0.0], [0.0, 1.0], [-0.65, 0.0]]),
}

# Sub-pixel precision of the cv2 drawing calls (coordinates * 2**_SHIFT).
_SHIFT = 4
_SCALE = 1 << _SHIFT


def _rotate(points: np.ndarray, angle: float) -> np.ndarray:
    c, s = math.cos(math.radians(angle)), math.sin(math.radians(angle))
    return points @ np.array([[c, s], [-s, c]])


def _fixed(points: np.ndarray) -> np.ndarray:
    return np.round(points * _SCALE).astype(np.int32)


def _draw_shape(img: np.ndarray, shape: str, color: Sequence[int], cx: float,
                cy: float, r: float, angle: float) -> None:
    """Draw one shape centred at (cx, cy), inscribed in a 2r x 2r square."""
    color = tuple(int(c) for c in color)
    center = (int(round(cx * _SCALE)), int(round(cy * _SCALE)))
    if shape == 'disc':
        cv2.circle(img, center, int(round(0.95 * r * _SCALE)), color, -1,
                   cv2.LINE_AA, _SHIFT)
    elif shape == 'ring':
        thickness = max(2, int(round(0.3 * r)))
        radius = 0.95 * r - thickness / 2
        cv2.circle(img, center, int(round(radius * _SCALE)), color, thickness,
                   cv2.LINE_AA, _SHIFT)
    elif shape == 'stripes':
        # Three bright bands on a dark patch.
        dark = tuple(int(c * 0.2) for c in color)
        patch = _rotate(_POLYGONS['square'], angle) * r + (cx, cy)
        cv2.fillPoly(img, [_fixed(patch)], dark, cv2.LINE_AA, _SHIFT)
        for k in range(3):
            y0 = -0.8 + 1.6 * (2 * k) / 5
            band = np.array([[-0.8, y0], [0.8, y0], [0.8, y0 + 0.32],
                             [-0.8, y0 + 0.32]])
            band = _rotate(band, angle) * r + (cx, cy)
            cv2.fillPoly(img, [_fixed(band)], color, cv2.LINE_AA, _SHIFT)
    else:
        points = _rotate(_POLYGONS[shape], angle) * r + (cx, cy)
        cv2.fillPoly(img, [_fixed(points)], color, cv2.LINE_AA, _SHIFT)


def _draw_distractor(img: np.ndarray, item: dict) -> None:
    shape, color = item['shape'], tuple(int(c) for c in item['color'])
    p = item['params']
    if shape == 'ellipse':
        cx, cy, a, b, angle = p
        cv2.ellipse(img, (int(round(cx * _SCALE)), int(round(cy * _SCALE))),
                    (int(round(a * _SCALE)), int(round(b * _SCALE))), angle, 0,
                    360, color, -1, cv2.LINE_AA, _SHIFT)
    elif shape == 'line':
        x1, y1, x2, y2, thickness = p
        cv2.line(img, (int(round(x1 * _SCALE)), int(round(y1 * _SCALE))),
                 (int(round(x2 * _SCALE)), int(round(y2 * _SCALE))), color,
                 int(thickness), cv2.LINE_AA, _SHIFT)
    elif shape == 'frame':
        x1, y1, x2, y2 = p
        cv2.rectangle(img, (int(round(x1 * _SCALE)), int(round(y1 * _SCALE))),
                      (int(round(x2 * _SCALE)), int(round(y2 * _SCALE))),
                      color, 1, cv2.LINE_AA, _SHIFT)
    else:
        _draw_shape(img, shape, color, *p)


def render_layout(layout: dict, img_size: int) -> np.ndarray:
    """Render one image from its layout.

    Args:
        layout (dict): A data info of :class:`SynthMultiLabel` (keys
            ``img_seed``, ``objects`` and ``distractors``).
        img_size (int): Side of the square image in pixels.

    Returns:
        np.ndarray: The image, ``(img_size, img_size, 3)`` uint8, BGR.
    """
    rng = np.random.default_rng(layout['img_seed'])
    # Background: smooth, desaturated blotches (a 4 x 4 grid upsampled).
    gray = rng.uniform(60, 180, (4, 4, 1))
    tint = rng.uniform(-18, 18, (4, 4, 3))
    background = cv2.resize((gray + tint).astype(np.float32),
                            (img_size, img_size),
                            interpolation=cv2.INTER_CUBIC)
    img = np.clip(background, 0, 255).astype(np.uint8)
    for item in layout['distractors']:
        _draw_distractor(img, item)
    for obj in layout['objects']:
        _draw_shape(img, obj['shape'], obj['color'], *obj['geometry'])
    noise = rng.normal(0.0, 8.0, img.shape).astype(np.float32)
    return np.clip(img + noise, 0, 255).astype(np.uint8)


def jitter_color(rnd: random.Random, color: Sequence[int],
                 amount: int = 20) -> Tuple[int, int, int]:
    """``color`` with each channel moved by up to +-``amount``, clipped."""
    return tuple(
        int(min(255, max(0, c + round((rnd.random() * 2 - 1) * amount))))
        for c in color)


def pick_index(rnd: random.Random, n: int) -> int:
    """An integer in ``[0, n)`` from ``random()`` only.

    ``random.random`` is the one draw whose stream Python keeps stable across
    versions, so layouts do not change with the interpreter.
    """
    return min(int(rnd.random() * n), n - 1)


def _overlap(box: Sequence[float], other: Sequence[float]) -> float:
    """Intersection area over the smaller box's area."""
    w = min(box[2], other[2]) - max(box[0], other[0])
    h = min(box[3], other[3]) - max(box[1], other[1])
    if w <= 0 or h <= 0:
        return 0.0
    smaller = min((box[2] - box[0]) * (box[3] - box[1]),
                  (other[2] - other[0]) * (other[3] - other[1]))
    return w * h / smaller


@DATASETS.register_module()
class SynthMultiLabel(RenderedMultiLabelDataset):
    """A synthetic multi-label benchmark, rendered from a seed.

    Each image is a square of ``img_size`` pixels holding 1 to
    ``max_objects`` labelled objects on a cluttered background. Everything
    is deterministic in ``(seed, split)``; the three splits draw from
    different seeds, so they never share an image.

    **Classes.** Class ``c`` is a (shape, colour) pair, the first
    ``num_classes`` entries of :data:`CLASS_PALETTE`: red disc, blue square,
    green triangle, yellow cross, magenta ring, cyan star, orange diamond,
    white stripes (three bright bands on a dark patch), blue disc, green
    square, red star, yellow ring. From class 8 on, shape and colour are each
    shared with another class, so a class is only told by both. Object
    colours are jittered by up to +-20 per channel; polygons are rotated by
    up to +-15 degrees.

    **Objects.** An image first draws its primary classes: 1, 2 or 3 of them
    (probabilities 0.4, 0.4, 0.2), uniformly without replacement. In
    ``train`` and ``val`` each primary class that belongs to a
    co-occurrence pair brings its partner with probability ``pair_prob``
    (while fewer than ``max_objects`` objects are placed). Then, with
    probability 0.15, a second instance of one present class is added.
    Each object sits in a square box whose side is drawn uniformly from
    ``size_range`` (fractions of ``img_size``; the default 0.14-0.42 gives
    box areas of 2-18 % of the image, about 30 % of the objects at 5 % or
    less). Boxes are placed uniformly inside the image and may overlap
    partly: a box covers at most 20 % of another object's box.

    **Co-occurrence.** With the default pairs (0, 1), (2, 3), (4, 5) and
    ``pair_prob=0.8``, about 85 % of the ``train`` images holding a paired
    class also hold its partner. ``val`` follows the training distribution.
    ``val_shift`` breaks the pairs: no partner is ever added, and a class
    whose partner is already present is never drawn, so a paired class
    always appears without its partner, next to classes it is rarely seen
    with in training.

    **Clutter.** The background is a smooth desaturated colour field plus
    Gaussian pixel noise (sigma 8, applied last, so objects are noisy
    too). Under the objects lie 1 to ``max_distractors`` distractors that
    belong to no class: grey class shapes (any class shape but the stripes,
    grey levels 50-190, so colour tells them apart from the classes) and
    saturated non-class shapes (elongated ellipses, thin lines, hollow
    frames) in class colours.

    **Data info.** ``gt_label`` (sorted unique class indices),
    ``gt_bboxes`` (float32, N x 4, x1 y1 x2 y2 in pixels),
    ``gt_bboxes_labels`` (int64, N), the layout (``objects``,
    ``distractors``, ``img_seed``) and, added by :meth:`get_data_info`,
    ``img`` (H x W x 3 uint8 BGR), ``img_shape`` and ``ori_shape``. Hence
    a pipeline starts without ``LoadImageFromFile``.

    Args:
        split (str): ``'train'``, ``'val'`` or ``'val_shift'``.
            Defaults to ``'train'``.
        num_images (int, optional): Images in the split. Defaults to None,
            which means 3000 for ``train`` and 500 for ``val`` and
            ``val_shift``.
        img_size (int): Side of the square images in pixels. Defaults to 64.
        num_classes (int): Number of classes, 2 to 12. Defaults to 10.
        seed (int): Seed of the whole benchmark. Defaults to 0.
        cooccur_pairs (Sequence[Sequence[int]]): Disjoint class pairs that
            co-occur in ``train`` and ``val``. Defaults to
            ``((0, 1), (2, 3), (4, 5))``.
        pair_prob (float): Probability that a paired primary class brings
            its partner in ``train`` and ``val``. Defaults to 0.8.
        max_objects (int): Most labelled objects in one image. Defaults
            to 4.
        max_distractors (int): Most distractors in one image. Defaults to 3.
        size_range (Sequence[float]): Range of an object box side, as
            fractions of ``img_size``. Defaults to ``(0.14, 0.42)``.
        class_set (str): ``'palette'`` (default): the classes above, 2 to
            12. ``'grid'``: every (size, colour, shape) of 2 sizes, 8
            colours and the 8 shapes above (:func:`grid_classes`, 2 to
            128 classes, e.g. "small red disc", "large red disc"); a small
            object's side lies in the lower 43 % of ``size_range``, a large
            one's in the upper 43 %, so size, colour and shape together tell
            a class. Everything else (objects, pairs, ``val_shift``,
            clutter) is drawn as for the palette, and the palette set is
            unchanged by this option.
        **kwargs: Other arguments of :class:`mmpretrain.datasets.BaseDataset`
            (``pipeline``, ``test_mode``, ``indices``, ``serialize_data``
            ...). ``ann_file``, ``data_root`` and ``data_prefix`` are unused.
    """

    def __init__(self,
                 split: str = 'train',
                 num_images: Optional[int] = None,
                 img_size: int = 64,
                 num_classes: int = 10,
                 seed: int = 0,
                 cooccur_pairs: Sequence[Sequence[int]] = ((0, 1), (2, 3),
                                                          (4, 5)),
                 pair_prob: float = 0.8,
                 max_objects: int = 4,
                 max_distractors: int = 3,
                 size_range: Sequence[float] = (0.14, 0.42),
                 class_set: str = 'palette',
                 ann_file: str = '',
                 metainfo: Optional[dict] = None,
                 **kwargs):
        self._check_choices(split, class_set)
        table = self._class_table(class_set, num_classes)
        partners = self._pair_partners(cooccur_pairs, num_classes)
        self._check_sizes(max_objects, size_range)
        self.split = split
        self.num_images = (DEFAULT_NUM_IMAGES[split]
                           if num_images is None else int(num_images))
        self.img_size = int(img_size)
        self.num_classes = int(num_classes)
        self.seed = int(seed)
        self.partners = partners
        self.pair_prob = float(pair_prob)
        self.max_objects = int(max_objects)
        self.max_distractors = int(max_distractors)
        self.size_range = (float(size_range[0]), float(size_range[1]))
        self.class_set = class_set
        self.class_table = table[:num_classes]
        classes = tuple(entry[0] for entry in self.class_table)
        metainfo = {'classes': classes, **(metainfo or {})}
        super().__init__(ann_file=ann_file, metainfo=metainfo, **kwargs)

    @staticmethod
    def _check_choices(split: str, class_set: str) -> None:
        if split not in SPLITS:
            raise ValueError(f'split must be one of {SPLITS}, got {split!r}')
        if class_set not in CLASS_SETS:
            raise ValueError(f'class_set must be one of {CLASS_SETS}, got '
                             f'{class_set!r}')

    @staticmethod
    def _class_table(class_set: str, num_classes: int) -> List[tuple]:
        """(name, shape, BGR colour, size index or None) of every class of
        ``class_set``, after checking that it holds ``num_classes``."""
        table = [(name, shape, color, None)
                 for name, shape, color in CLASS_PALETTE] \
            if class_set == 'palette' else grid_classes()
        if not 2 <= num_classes <= len(table):
            raise ValueError(f'num_classes must be in [2, {len(table)}] for '
                             f'class_set={class_set!r}, got {num_classes}')
        return table

    @staticmethod
    def _pair_partners(cooccur_pairs: Sequence[Sequence[int]],
                       num_classes: int) -> Dict[int, int]:
        """The partner of each paired class, after checking the pairs."""
        partners: Dict[int, int] = {}
        for a, b in cooccur_pairs:
            if not (0 <= a < num_classes and 0 <= b < num_classes) or a == b \
                    or a in partners or b in partners:
                raise ValueError('cooccur_pairs must be disjoint pairs of '
                                 f'class indices, got {cooccur_pairs}')
            partners[a], partners[b] = b, a
        return partners

    @staticmethod
    def _check_sizes(max_objects: int, size_range: Sequence[float]) -> None:
        if max_objects < 1:
            raise ValueError(f'max_objects must be >= 1, got {max_objects}')
        if not 0 < size_range[0] <= size_range[1] <= 1:
            raise ValueError(f'size_range must lie in (0, 1], got '
                             f'{size_range}')

    # ----------------------------------------------------------- layouts
    # One drawing core for every synthetic set: ``_draw_layout`` draws the
    # classes, places and styles one object per label, then the clutter.
    # A set differs only by its sampling, through the hooks below
    # (``_pick_primary``, ``_partner_of``, ``_side_range``,
    # ``_object_color``, ``_num_distractors``, ``_draw_distractor``), each
    # consuming the random stream in the same order.
    STREAM_NAME = 'SynthMultiLabel'

    def load_data_list(self) -> List[dict]:
        """Draw the layout of every image of the split."""
        # One stream per split; string seeding of random.Random is stable.
        rnd = random.Random(f'{self.STREAM_NAME}/{self.seed}/{self.split}')
        return [self._draw_layout(rnd) for _ in range(self.num_images)]

    def _draw_classes(self, rnd: random.Random) -> List[int]:
        """Primary classes, their partners (train/val), then perhaps a
        second instance of one present class."""
        u = rnd.random()
        num_primary = 1 if u < 0.4 else 2 if u < 0.8 else 3
        num_primary = min(num_primary, self.max_objects)
        shift = self.split == 'val_shift'
        labels: List[int] = []
        for _ in range(num_primary):
            candidates = [
                c for c in range(self.num_classes) if c not in labels and
                not (shift and self.partners.get(c) in labels)
            ]
            if not candidates:
                break
            labels.append(self._pick_primary(rnd, candidates))
        if not shift:
            for c in list(labels):
                # one draw per primary class, paired or not, so that the
                # stream does not depend on the pairs or on what fits
                u = rnd.random()
                partner, prob = self._partner_of(c)
                if (partner is not None and u < prob
                        and partner not in labels
                        and len(labels) < self.max_objects):
                    labels.append(partner)
        if rnd.random() < 0.15 and len(labels) < self.max_objects:
            labels.append(labels[pick_index(rnd, len(labels))])
        return labels

    def _pick_primary(self, rnd: random.Random, candidates: List[int]) -> int:
        """One primary class, uniformly among ``candidates``."""
        return candidates[pick_index(rnd, len(candidates))]

    def _partner_of(self, label: int) -> Tuple[Optional[int], float]:
        """The class a primary ``label`` brings in train/val, and how
        likely: its pair partner with ``pair_prob`` (None if unpaired)."""
        return self.partners.get(label), self.pair_prob

    def _side_range(self, label: int) -> Tuple[float, float]:
        """The box side range of a class: all of ``size_range`` for the
        palette, its lower or upper part for a small or large grid class."""
        lo, hi = self.size_range
        size_class = self.class_table[label][3]
        if size_class is None:
            return lo, hi
        _, start, end = GRID_SIZES[size_class]
        return lo + (hi - lo) * start, lo + (hi - lo) * end

    def _object_color(self, rnd: random.Random,
                      label: int) -> Tuple[int, int, int]:
        """The colour of one object of ``label``: its class colour,
        jittered."""
        return jitter_color(rnd, self.class_table[label][2])

    def _place(self, rnd: random.Random, side: float,
               boxes: List[List[float]]) -> List[float]:
        """A box of the given side overlapping the others as little as
        possible (first one under 20 %, else the best of 30 tries)."""
        size = self.img_size
        best, best_overlap = None, math.inf
        for _ in range(30):
            x1 = rnd.random() * (size - side)
            y1 = rnd.random() * (size - side)
            box = [x1, y1, x1 + side, y1 + side]
            overlap = max((_overlap(box, b) for b in boxes), default=0.0)
            if overlap < best_overlap:
                best, best_overlap = box, overlap
            if overlap <= 0.2:
                break
        return best

    def _draw_object(self, rnd: random.Random, label: int,
                     boxes: List[List[float]]) -> dict:
        """Size, place (appending to ``boxes``), rotate and colour one
        object of ``label``."""
        shape = self.class_table[label][1]
        lo, hi = self._side_range(label)
        side = max(4.0, (lo + (hi - lo) * rnd.random()) * self.img_size)
        box = self._place(rnd, side, boxes)
        boxes.append(box)
        angle = 0.0 if shape in ('disc', 'ring') else \
            (rnd.random() * 2 - 1) * 15
        return dict(
            label=label,
            shape=shape,
            color=self._object_color(rnd, label),
            geometry=((box[0] + box[2]) / 2, (box[1] + box[3]) / 2,
                      side / 2, angle))

    def _draw_layout(self, rnd: random.Random) -> dict:
        """Classes, objects, clutter and the noise seed of one image."""
        boxes: List[List[float]] = []
        objects = [
            self._draw_object(rnd, label, boxes)
            for label in self._draw_classes(rnd)
        ]
        distractors = [
            self._draw_distractor(rnd)
            for _ in range(self._num_distractors(rnd))
        ]
        labels = [o['label'] for o in objects]
        return dict(
            gt_label=sorted(set(labels)),
            gt_bboxes=np.array(boxes, dtype=np.float32).reshape(-1, 4),
            gt_bboxes_labels=np.array(labels, dtype=np.int64),
            objects=objects,
            distractors=distractors,
            img_seed=int(rnd.random() * 2**63))

    def _num_distractors(self, rnd: random.Random) -> int:
        """1 to ``max_distractors``, uniformly."""
        return 1 + pick_index(rnd, self.max_distractors)

    def _draw_distractor(self, rnd: random.Random) -> dict:
        """A grey class shape or a saturated non-class shape, equally
        likely."""
        size = self.img_size
        cx, cy = rnd.random() * size, rnd.random() * size
        r = (0.06 + 0.16 * rnd.random()) * size
        angle = rnd.random() * 180
        if rnd.random() < 0.5:
            shape = _GRAY_SHAPES[pick_index(rnd, len(_GRAY_SHAPES))]
            g = 50 + rnd.random() * 140
            return dict(shape=shape, color=jitter_color(rnd, (g, g, g), 6),
                        params=(cx, cy, r, angle if shape not in
                                ('disc', 'ring') else 0.0))
        return self._saturated_distractor(rnd, cx, cy, r, angle)

    def _saturated_distractor(self, rnd: random.Random, cx: float,
                              cy: float, r: float, angle: float) -> dict:
        """A non-class shape (elongated ellipse, thin line or hollow frame)
        of radius about ``r`` at (cx, cy), in a jittered class colour."""
        shape = _DISTRACTOR_SHAPES[pick_index(rnd, len(_DISTRACTOR_SHAPES))]
        color = jitter_color(
            rnd, self.class_table[pick_index(rnd, self.num_classes)][2])
        if shape == 'ellipse':
            params = (cx, cy, r, r / (2.5 + 1.5 * rnd.random()), angle)
        elif shape == 'line':
            t = math.radians(angle)
            dx, dy = 1.6 * r * math.cos(t), 1.6 * r * math.sin(t)
            params = (cx - dx, cy - dy, cx + dx, cy + dy,
                      1 + pick_index(rnd, 2))
        else:
            params = (cx - r, cy - r * (0.5 + rnd.random()), cx + r, cy + r)
        return dict(shape=shape, color=color, params=params)

    # ----------------------------------------------------------- access
    def render(self, layout: dict) -> np.ndarray:
        """The image of one layout (:func:`render_layout`)."""
        return render_layout(layout, self.img_size)

    def extra_repr(self) -> List[str]:
        """The extra repr information of the dataset."""
        return [
            f'Split: \t{self.split}', f'Image size: \t{self.img_size}',
            f'Seed: \t{self.seed}'
        ]


def _coco_objects(info: dict, image_id: int, first_id: int) -> List[dict]:
    """One COCO annotation per object of a data info, numbered from
    ``first_id``."""
    annotations = []
    for box, label in zip(info['gt_bboxes'].tolist(),
                          info['gt_bboxes_labels'].tolist()):
        x1, y1, x2, y2 = box
        annotations.append(
            dict(
                id=first_id + len(annotations),
                image_id=image_id,
                category_id=int(label) + 1,
                bbox=[x1, y1, x2 - x1, y2 - y1],
                area=(x2 - x1) * (y2 - y1),
                iscrowd=0))
    return annotations


def write_coco(dataset: SynthMultiLabel, out_dir: str,
               img_dir: Optional[str] = None) -> str:
    """Write a split as PNG files and a COCO-style annotation file.

    Images go to ``out_dir/<img_dir>/<idx>.png`` (``idx`` zero-padded to six
    digits, so that name order is index order) and annotations to
    ``out_dir/annotations/instances_<img_dir>.json``. Category ids are
    ``1..C`` in class order; image ids are ``idx + 1``; each object gives one
    annotation with its box as ``[x, y, w, h]``. An image without objects
    would be kept with no annotation.

    Args:
        dataset (SynthMultiLabel): The split to write.
        out_dir (str): The output root.
        img_dir (str, optional): Name of the image folder and annotation
            file suffix. Defaults to None, which means ``dataset.split``.

    Returns:
        str: Path of the annotation file.
    """
    img_dir = img_dir or dataset.split
    os.makedirs(osp.join(out_dir, img_dir), exist_ok=True)
    os.makedirs(osp.join(out_dir, 'annotations'), exist_ok=True)
    images, annotations = [], []
    for idx in range(len(dataset)):
        info = dataset.get_data_info(idx)
        file_name = f'{idx:06d}.png'
        if not cv2.imwrite(osp.join(out_dir, img_dir, file_name),
                           info['img']):
            raise OSError(f'could not write {file_name} in '
                          f'{osp.join(out_dir, img_dir)}')
        height, width = info['img_shape']
        images.append(
            dict(id=idx + 1, file_name=file_name, height=height, width=width))
        annotations.extend(
            _coco_objects(info, idx + 1, first_id=len(annotations) + 1))
    categories = [
        dict(id=i + 1, name=name, supercategory='shape')
        for i, name in enumerate(dataset.metainfo['classes'])
    ]
    ann_file = osp.join(out_dir, 'annotations', f'instances_{img_dir}.json')
    with open(ann_file, 'w') as f:
        json.dump(
            dict(
                info=dict(
                    description=f'SynthMultiLabel split={dataset.split} '
                    f'seed={dataset.seed} img_size={dataset.img_size}'),
                images=images,
                annotations=annotations,
                categories=categories), f)
    return ann_file
