"""SynthEntangled: the hard synthetic setting, built so that the paper's two
problems are real: small objects among look-alike clutter (spatial
entanglement) and rare classes that can be guessed from a partner (semantic
entanglement). Rendered from a seed like :class:`SynthMultiLabel`."""
import random
from typing import Dict, List, Optional, Sequence, Tuple

from mmpretrain.registry import DATASETS

from .synth import SynthMultiLabel, jitter_color, pick_index

# Class shapes a look-alike distractor may take (the stripes patch is not
# drawn as a look-alike: it would cover too much of a small image).
_LOOKALIKE_SHAPES = ('disc', 'square', 'triangle', 'cross', 'ring', 'star',
                     'diamond')


@DATASETS.register_module()
class SynthEntangled(SynthMultiLabel):
    """Small objects among look-alikes, and rare classes with a shortcut.

    The classes, the background, the noise and the data info are those of
    :class:`SynthMultiLabel` (same palette, same fields, same rendering);
    what differs is how a layout is drawn.

    **Pairs (semantic entanglement).** ``cooccur_pairs`` are ordered
    (anchor, dependent) pairs; by default (0, 8), (1, 9), (2, 5): red disc
    with blue disc, blue square with green square, green triangle with cyan
    star. A dependent is *rarer* and *harder* than its anchor:

    - rarer: as a primary class it is drawn with weight ``rare_weight``
      (0.35) against 1 for the other classes;
    - harder: its box side is drawn from ``hard_size_range`` (the small end)
      and its colour is blended towards mid-grey, keeping the share
      ``hard_contrast`` (0.6) of its contrast.

    In ``train`` and ``val``, a dependent brings its anchor with probability
    ``pair_prob`` (0.95) and an anchor brings its dependent with probability
    ``anchor_brings`` (0.5), so the dependent is almost never seen without
    its anchor (P(anchor | dependent) about 0.95) and "anchor present" is a
    shortcut to it. ``val_shift`` breaks every pair: no partner is brought,
    and a class whose partner is already in the image is never drawn, so
    each dependent appears alone, where only its own pixels tell it.

    **Objects.** 1, 2 or 3 primary classes (probabilities 0.4, 0.4, 0.2)
    drawn without replacement with the weights above, then the partners
    (train/val only, while fewer than ``max_objects``), then, with
    probability 0.15, a second instance of one present class. A
    non-dependent object's box side is drawn uniformly from ``size_range``
    (default 0.12-0.30 of the image side: 1.4-9 % of its area). Boxes are
    placed as in :class:`SynthMultiLabel` (a box covers at most 20 % of
    another where 30 tries allow).

    **Clutter (spatial entanglement).** 2 to ``max_distractors`` (5)
    distractors lie under the objects, each of one of three kinds:

    - with probability 0.5 a *look-alike*: a class shape in a class colour
      whose pair is not a class (e.g. a red square or a yellow disc), of an
      object's size, so a model that pools colour and shape evidence over
      the whole image, instead of on one object, sees classes that are not
      there;
    - with probability 0.25 a saturated non-class shape in a class colour
      (elongated ellipse or hollow frame up to 0.3 of the image side, or a
      thin line up to 0.48);
    - with probability 0.25 a grey class shape (grey level 50-190, each
      channel jittered by up to +-6).

    Args:
        split (str): ``'train'``, ``'val'`` or ``'val_shift'``.
        num_images (int, optional): Images in the split. Defaults to None:
            3000 for ``train``, 500 for ``val`` and ``val_shift``.
        img_size (int): Image side in pixels. Defaults to 64.
        num_classes (int): 2 to 12 palette classes. Defaults to 10.
        seed (int): Seed of the whole benchmark. Defaults to 0.
        cooccur_pairs (Sequence[Sequence[int]]): Disjoint (anchor,
            dependent) pairs. Defaults to ``((0, 8), (1, 9), (2, 5))``.
        pair_prob (float): P(a dependent brings its anchor) in train/val.
            Defaults to 0.95.
        anchor_brings (float): P(an anchor brings its dependent) in
            train/val. Defaults to 0.5.
        rare_weight (float): Weight of a dependent in the primary draw.
            Defaults to 0.35.
        hard_size_range (Sequence[float]): Box side range of a dependent,
            as fractions of ``img_size``. Defaults to ``(0.12, 0.18)``.
        hard_contrast (float): Share of a dependent's colour kept when it
            is blended towards grey 128. Defaults to 0.6.
        max_objects (int): Most labelled objects in one image. Defaults
            to 4.
        max_distractors (int): Most distractors in one image (at least 2
            are drawn). Defaults to 5.
        size_range (Sequence[float]): Box side range of the other classes.
            Defaults to ``(0.12, 0.30)``.
        **kwargs: Other arguments of :class:`SynthMultiLabel` /
            :class:`mmpretrain.datasets.BaseDataset`.
    """

    DEFAULT_NUM_IMAGES = dict(train=3000, val=500, val_shift=500)

    def __init__(self,
                 split: str = 'train',
                 num_images: Optional[int] = None,
                 img_size: int = 64,
                 num_classes: int = 10,
                 seed: int = 0,
                 cooccur_pairs: Sequence[Sequence[int]] = ((0, 8), (1, 9),
                                                          (2, 5)),
                 pair_prob: float = 0.95,
                 anchor_brings: float = 0.5,
                 rare_weight: float = 0.35,
                 hard_size_range: Sequence[float] = (0.12, 0.18),
                 hard_contrast: float = 0.6,
                 max_objects: int = 4,
                 max_distractors: int = 5,
                 size_range: Sequence[float] = (0.12, 0.30),
                 class_set: str = 'palette',
                 **kwargs):
        self._check_entanglement(class_set, hard_size_range, hard_contrast,
                                 rare_weight, max_distractors)
        # before super().__init__, which draws the layouts
        self._set_entanglement(cooccur_pairs, anchor_brings, rare_weight,
                               hard_size_range, hard_contrast)
        if num_images is None and split in self.DEFAULT_NUM_IMAGES:
            num_images = self.DEFAULT_NUM_IMAGES[split]
        super().__init__(
            split=split, num_images=num_images, img_size=img_size,
            num_classes=num_classes, seed=seed, cooccur_pairs=cooccur_pairs,
            pair_prob=pair_prob, max_objects=max_objects,
            max_distractors=max_distractors, size_range=size_range,
            class_set=class_set, **kwargs)

    @staticmethod
    def _check_entanglement(class_set: str,
                            hard_size_range: Sequence[float],
                            hard_contrast: float, rare_weight: float,
                            max_distractors: int) -> None:
        if class_set != 'palette':
            raise ValueError('SynthEntangled uses the palette classes only, '
                             f'got class_set={class_set!r}')
        if not 0 < hard_size_range[0] <= hard_size_range[1] <= 1:
            raise ValueError('hard_size_range must lie in (0, 1], got '
                             f'{hard_size_range}')
        if not 0 < hard_contrast <= 1:
            raise ValueError(
                f'hard_contrast must lie in (0, 1], got {hard_contrast}')
        if rare_weight <= 0:
            raise ValueError(f'rare_weight must be > 0, got {rare_weight}')
        if max_distractors < 2:
            raise ValueError(
                f'max_distractors must be >= 2, got {max_distractors}')

    def _set_entanglement(self, cooccur_pairs: Sequence[Sequence[int]],
                          anchor_brings: float, rare_weight: float,
                          hard_size_range: Sequence[float],
                          hard_contrast: float) -> None:
        """The (anchor, dependent) pairs and how hard a dependent is."""
        self.anchor_of: Dict[int, int] = {
            int(d): int(a) for a, d in cooccur_pairs}
        self.dependent_of: Dict[int, int] = {
            int(a): int(d) for a, d in cooccur_pairs}
        self.anchor_brings = float(anchor_brings)
        self.rare_weight = float(rare_weight)
        self.hard_size_range = (float(hard_size_range[0]),
                                float(hard_size_range[1]))
        self.hard_contrast = float(hard_contrast)

    @property
    def dependents(self) -> Tuple[int, ...]:
        """The rare, hard class of each pair."""
        return tuple(sorted(self.anchor_of))

    # The drawing core is SynthMultiLabel's; only the sampling differs.
    STREAM_NAME = 'SynthEntangled'

    def load_data_list(self) -> List[dict]:
        """Draw the layout of every image of the split."""
        classes = {(shape, color) for _, shape, color, _ in self.class_table}
        colors = list(dict.fromkeys(c for _, _, c, _ in self.class_table))
        # every (class shape, class colour) that is not a class
        self._lookalikes = [(shape, color) for shape in _LOOKALIKE_SHAPES
                            for color in colors
                            if (shape, color) not in classes]
        return super().load_data_list()

    def _pick_primary(self, rnd: random.Random, candidates: List[int]) -> int:
        """A primary class, a dependent weighted by ``rare_weight``."""
        weights = [self.rare_weight if c in self.anchor_of else 1.0
                   for c in candidates]
        u = rnd.random() * sum(weights)
        for c, w in zip(candidates, weights):
            u -= w
            if u < 0:
                return c
        return candidates[-1]

    def _partner_of(self, label: int) -> Tuple[Optional[int], float]:
        """A dependent brings its anchor with ``pair_prob``, an anchor its
        dependent with ``anchor_brings``."""
        if label in self.anchor_of:
            return self.anchor_of[label], self.pair_prob
        if label in self.dependent_of:
            return self.dependent_of[label], self.anchor_brings
        return None, 0.0

    def _side_range(self, label: int) -> Tuple[float, float]:
        """``hard_size_range`` for a dependent, ``size_range`` otherwise."""
        return self.hard_size_range if label in self.anchor_of \
            else self.size_range

    def _object_color(self, rnd: random.Random,
                      label: int) -> Tuple[int, int, int]:
        """The jittered class colour; a dependent's blended towards grey
        128, keeping ``hard_contrast`` of its contrast."""
        color = super()._object_color(rnd, label)
        if label not in self.anchor_of:
            return color
        k = self.hard_contrast
        return tuple(int(round(k * c + (1 - k) * 128)) for c in color)

    def _num_distractors(self, rnd: random.Random) -> int:
        """2 to ``max_distractors``, uniformly."""
        return 2 + pick_index(rnd, self.max_distractors - 1)

    def _draw_distractor(self, rnd: random.Random) -> dict:
        """A look-alike (half), a saturated non-class shape or a grey class
        shape (a quarter each)."""
        size = self.img_size
        cx, cy = rnd.random() * size, rnd.random() * size
        angle = rnd.random() * 180
        kind = rnd.random()
        if kind < 0.5:  # a look-alike, of an object's size
            shape, color = self._lookalikes[pick_index(
                rnd, len(self._lookalikes))]
            lo, hi = self.size_range
            r = (lo + (hi - lo) * rnd.random()) * size / 2
            angle = 0.0 if shape in ('disc', 'ring') else angle % 30 - 15
            return dict(shape=shape, color=jitter_color(rnd, color),
                        params=(cx, cy, r, angle))
        if kind < 0.75:  # a saturated non-class shape
            r = (0.06 + 0.09 * rnd.random()) * size
            return self._saturated_distractor(rnd, cx, cy, r, angle)
        shape = _LOOKALIKE_SHAPES[pick_index(rnd, len(_LOOKALIKE_SHAPES))]
        g = 50 + rnd.random() * 140
        r = (0.06 + 0.09 * rnd.random()) * size
        return dict(shape=shape, color=jitter_color(rnd, (g, g, g), 6),
                    params=(cx, cy, r, 0.0 if shape in ('disc', 'ring')
                            else angle))

    def extra_repr(self) -> List[str]:
        """The extra repr information of the dataset."""
        return super().extra_repr() + [
            'Pairs (anchor, dependent): \t' + ', '.join(
                f'({a}, {d})' for a, d in sorted(self.dependent_of.items()))
        ]
