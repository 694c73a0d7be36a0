"""How much of a head's class attention falls on the class's objects.

The geometry (upsampling, box masks, shares, pointing game) and the
registered :class:`AttentionLocalization` metric that applies it to the
class maps a head leaves in its predictions (``keep_class_maps=True``).
"""
from typing import Dict, List, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger
from mmpretrain.registry import METRICS
from torch import Tensor

# the data-sample fields a head fills with keep_class_maps=True
from ..models.heads.class_maps import ATTENTION_KEY, SALIENCY_KEY
from ..renamed import renamed_arguments
from ..moved import moved_names

# the dataset keys PackInputs must copy into the data samples' metainfo
REGION_META_KEYS = ('gt_bboxes', 'gt_bboxes_labels', 'gt_masks')
FIGURES = ('share', 'share_softmax', 'chance', 'pointing',
           'pointing_softmax')


@renamed_arguments(normalise='normalize')
def upsample_maps(maps: Tensor, size: Tuple[int, int],
                  normalize: bool = False) -> Tensor:
    """Bilinear resize of B x C x h x w maps to ``size`` (H, W).

    With ``normalize`` each map is clamped at 0 and divided by its sum, so
    that it is again a distribution over the image's pixels.
    """
    out = F.interpolate(
        maps.float(), size=tuple(size), mode='bilinear', align_corners=False)
    if normalize:
        out = out.clamp(min=0)
        out = out / out.flatten(2).sum(-1).clamp(min=1e-12)[..., None, None]
    return out


def class_box_masks(bboxes: Sequence[Tensor], labels: Sequence[Tensor],
                    num_classes: int, size: Tuple[int, int]) -> Tensor:
    """B x C x H x W boolean masks: pixels inside a box of each class.

    A pixel belongs to a box x1 y1 x2 y2 (pixels) when its centre does.

    Args:
        bboxes (Sequence[Tensor]): per image, N_i x 4 boxes.
        labels (Sequence[Tensor]): per image, N_i class indices.
        num_classes (int): C.
        size (tuple[int, int]): (H, W) of the masks.
    """
    batch = len(bboxes)
    most = max([len(b) for b in bboxes] + [1])
    boxes = torch.zeros(batch, most, 4)
    onehot = torch.zeros(batch, most, num_classes)
    for i, (box, label) in enumerate(zip(bboxes, labels)):
        box = torch.as_tensor(box, dtype=torch.float32).reshape(-1, 4)
        label = torch.as_tensor(label, dtype=torch.long).reshape(-1)
        boxes[i, :len(box)] = box
        onehot[i, torch.arange(len(label)), label] = 1
    inside_y, inside_x = _box_rows_cols(boxes, size)
    # contract the separable box masks directly: no B x N x H x W tensor
    return torch.einsum('bnc,bnh,bnw->bchw', onehot, inside_y,
                        inside_x) > 0


def _box_rows_cols(boxes: Tensor, size: Tuple[int, int]) -> Tuple[Tensor,
                                                                   Tensor]:
    """``... x N x H`` and ``... x N x W`` indicators of the pixel rows and
    columns whose centres lie inside each box (``... x N x 4``)."""
    height, width = size
    ys = torch.arange(height, dtype=torch.float32) + 0.5
    xs = torch.arange(width, dtype=torch.float32) + 0.5
    x1, y1, x2, y2 = (boxes[..., j, None] for j in range(4))
    return (((ys >= y1) & (ys <= y2)).float(),
            ((xs >= x1) & (xs <= x2)).float())


def box_attention_share(maps: Tensor, masks: Tensor) -> Tensor:
    """B x C share of each (image-resolution, normalised) map inside its
    class's boxes: sum of the weights over the mask pixels."""
    return (maps * masks).flatten(2).sum(-1)


def box_pointing_hits(maps: Tensor, masks: Tensor) -> Tensor:
    """B x C booleans: whether each map's arg-max pixel is inside a box of
    its class (the pointing game)."""
    peak = maps.flatten(2).argmax(-1, keepdim=True)
    return masks.flatten(2).gather(-1, peak).squeeze(-1)


def original_boxes(sample: dict) -> np.ndarray:
    """N x 4 ``gt_bboxes`` of a data sample in ORIGINAL image pixels.

    mmcv's ``Resize`` scales ``gt_bboxes`` with the image and records
    ``scale_factor`` (w, h): boxes of a resized sample are mapped back by
    it. A flipped sample is refused (its maps and boxes would need the
    flip undone).
    """
    if sample.get('flip'):
        raise ValueError(
            'a data sample was flipped by the test pipeline: the measures '
            'compare maps with boxes of the original image; remove '
            'RandomFlip from the test pipeline')
    boxes = np.asarray(sample['gt_bboxes'], np.float32).reshape(-1, 4)
    scale = sample.get('scale_factor')
    if scale is not None:
        boxes = boxes / np.tile(np.asarray(scale, np.float32)[:2], 2)
    return boxes


def box_regions(boxes: np.ndarray, labels: np.ndarray, classes: Tensor,
                size: Tuple[int, int]) -> Tensor:
    """K x H x W: the union of the boxes of each of ``classes`` (K)."""
    boxes = torch.as_tensor(np.asarray(boxes, np.float32).reshape(-1, 4))
    labels = torch.as_tensor(np.asarray(labels, np.int64).reshape(-1))
    onehot = (labels[:, None] == classes[None]).float()  # N x K
    inside_y, inside_x = _box_rows_cols(boxes, size)
    return torch.einsum('nk,nh,nw->khw', onehot, inside_y, inside_x) > 0


def mask_regions(rles: Sequence[dict], labels: np.ndarray, classes: Tensor,
                 size: Tuple[int, int]) -> Tensor:
    """K x H x W: the union of the instance masks (pycocotools RLEs, one
    per box) of each of ``classes`` (K)."""
    from pycocotools import mask as mask_utils

    labels = torch.as_tensor(np.asarray(labels, np.int64).reshape(-1))
    if len(rles) != len(labels):
        raise ValueError(
            f'gt_masks holds {len(rles)} masks but gt_bboxes_labels '
            f'{len(labels)} labels: the dataset must give one mask per box')
    if not len(rles):
        return torch.zeros(len(classes), *size, dtype=torch.bool)
    for rle in rles:
        if tuple(rle['size']) != tuple(size):
            raise ValueError(
                f'a gt_masks RLE has size {tuple(rle["size"])} but the '
                f'image (ori_shape) is {tuple(size)}: masks must be in the '
                'pixels of the original image')
    masks = torch.from_numpy(mask_utils.decode(list(rles))).float()  # HxWxN
    onehot = (labels[:, None] == classes[None]).float()  # N x K
    return torch.einsum('nk,hwn->khw', onehot, masks) > 0


def region_figures(maps: Tensor, softmax: Tensor, regions: Tensor) -> Tensor:
    """K x 5: per class, the share of ``maps`` and of ``softmax`` (both
    K x H x W distributions) inside ``regions`` (K x H x W), the regions'
    area share (chance) and the two pointing-game hits (see
    :data:`FIGURES`)."""
    both = torch.stack([maps, softmax])  # 2 x K x H x W
    regions = regions[None].expand_as(both).float()
    shares = box_attention_share(both, regions)  # 2 x K
    hits = box_pointing_hits(both, regions)  # 2 x K
    chance = regions[0].flatten(1).mean(-1)
    return torch.stack([shares[0], shares[1], chance, hits[0], hits[1]], -1)


@METRICS.register_module()
class AttentionLocalization(BaseMetric):
    """Share of each true class's attention inside its objects.

    For every image and every TRUE class c that has a region there, the
    head's class maps (``keep_class_maps=True``: ``class_attention``, and
    ``class_saliency``, both C x h x w at the map's resolution) are
    upsampled bilinearly to the ORIGINAL image (``ori_shape``), clamped at
    0 and renormalised to sum 1, and compared with c's region, the union
    of c's boxes (a pixel is inside when its centre is) and, where the
    data sample holds ``gt_masks``, the union of c's exact masks. Means
    over the (image, class) pairs, in percent, per region kind (``box_``
    and ``mask_``):

    - ``share``: the share of the attention inside the region;
    - ``share_softmax``: the same for the plain softmax over the
      positions of the same saliency (SPA with tau = 0);
    - ``chance``: the region's share of the image, what a uniform map
      would put there;
    - ``pointing`` / ``pointing_softmax``: how often the map's peak
      pixel lies in the region (the pointing game; an upsampled map is
      flat near its corners, and of equal maxima the first pixel in
      row-major order counts, so on maps of 2 x 2 or so float rounding
      can move the peak across a box edge);
    - ``pairs``: the number of (image, class) pairs measured.

    What a head stores as its maps: OPRL its SPA weights after masking
    (Eq. 6-7) and S; CSRA the softmax attention of its class scores and
    the scores; the linear head its class activation map (both fields),
    whose clamped, renormalised positive part is the "attention".

    Assumption: the maps cover the whole original image, i.e. the test
    pipeline resizes the image without cropping, padding or flipping (true
    of the synthetic and COCO configs). Boxes (``gt_bboxes``, float N x 4
    x1 y1 x2 y2 in original pixels, or scaled by mmcv's ``Resize``, which
    records ``scale_factor``: see :func:`original_boxes`; with
    ``gt_bboxes_labels``) and masks
    (``gt_masks``, N pycocotools RLEs of the original size, one per box)
    come from the data sample's metainfo: the test pipeline's
    ``PackInputs`` must list them in ``meta_keys`` (see
    :data:`REGION_META_KEYS`).

    Args:
        collect_device (str): 'cpu' or 'gpu'. Defaults to 'cpu'.
        prefix (str, optional): prefix of the metric names. Defaults to
            'localization'.
    """
    default_prefix = 'localization'

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            self.results.append(self._sample_figures(sample))

    def _sample_figures(self, sample: dict) -> Dict[str, np.ndarray]:
        """K x 5 figures per region kind of one image (see FIGURES), the
        classes they belong to (``<kind>_classes``) and the number of true
        classes (``labels``)."""
        _check_sample(sample)
        size = tuple(int(v) for v in sample['ori_shape'][:2])
        classes = torch.unique(torch.as_tensor(sample['gt_label']).cpu())
        labels = np.asarray(sample['gt_bboxes_labels']).reshape(-1)
        regions = dict(box=box_regions(original_boxes(sample), labels,
                                       classes, size))
        if sample.get('gt_masks') is not None:
            regions['mask'] = mask_regions(sample['gt_masks'], labels,
                                           classes, size)
        if not len(classes):  # an image without labels: no pair
            out = dict(labels=0)
            for kind in regions:
                out[kind] = np.zeros((0, len(FIGURES)))
                out[f'{kind}_classes'] = np.zeros(0, np.int64)
            return out
        attention = sample[ATTENTION_KEY].detach().float().cpu()[classes]
        saliency = sample[SALIENCY_KEY].detach().float().cpu()[classes]
        softmax = saliency.flatten(1).softmax(-1).reshape(saliency.shape)
        maps, softmax = upsample_maps(
            torch.stack([attention, softmax]), size, normalize=True)
        out = dict(labels=len(classes))
        for kind, region in regions.items():
            keep = region.flatten(1).any(-1)  # classes with a region
            out[kind] = region_figures(maps[keep], softmax[keep],
                                       region[keep]).double().numpy()
            out[f'{kind}_classes'] = classes[keep].numpy()
        return out

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        metrics = {}
        for kind in ('box', 'mask'):
            if not any(kind in r for r in results):
                continue
            figures, _ = stack_figures(results, kind)
            means = mean_figures(figures)
            for j, name in enumerate(FIGURES):
                metrics[f'{kind}_{name}'] = float(100 * means[j])
            metrics[f'{kind}_pairs'] = len(figures)
        MMLogger.get_current_instance().info(
            'Attention localization (percent, mean over (image, true class)'
            ' pairs): ' + ', '.join(f'{k}={v:.2f}' if isinstance(v, float)
                                    else f'{k}={v}'
                                    for k, v in metrics.items()))
        return metrics


def stack_figures(results: List[dict],
                  kind: str = 'box') -> Tuple[np.ndarray, np.ndarray]:
    """The P x 5 figures (see :data:`FIGURES`) of every (image, true class)
    pair of one region kind (``'box'`` or ``'mask'``) in the per-image
    ``results`` of :class:`AttentionLocalization`, and the P classes."""
    rows = [r[kind] for r in results if kind in r]
    figures = np.concatenate(rows + [np.zeros((0, len(FIGURES)))]).reshape(
        -1, len(FIGURES))
    classes = np.concatenate([r[f'{kind}_classes'] for r in results
                              if kind in r] + [np.zeros(0, np.int64)])
    return figures, classes.astype(np.int64)


def mean_figures(figures: np.ndarray) -> np.ndarray:
    """The 5 means (fractions) of P x 5 figures; NaN without a pair."""
    if not len(figures):
        return np.full(len(FIGURES), np.nan)
    return figures.mean(0)


def localization_summary(results: List[dict], images: int,
                         num_classes: int) -> dict:
    """The box figures of per-image ``results`` as fractions (means over
    the (image, true class) pairs), the pair counts and the per-class
    means of the three shares (3 x C, with the C pair counts)."""
    figures, classes = stack_figures(results, 'box')
    means = mean_figures(figures)
    counts = np.bincount(classes, minlength=num_classes)
    per_class = np.stack([
        np.bincount(classes, figures[:, j], minlength=num_classes) /
        np.maximum(counts, 1) for j in range(3)
    ])
    names = ('spa_share', 'softmax_share', 'chance_share', 'spa_pointing',
             'softmax_pointing')
    return dict(
        figures={name: float(means[j]) for j, name in enumerate(names)},
        pairs=len(figures),
        skipped=int(sum(r['labels'] for r in results)) - len(figures),
        images=images,
        per_class=per_class.tolist(),
        per_class_pairs=counts.tolist())


def _check_sample(sample: dict) -> None:
    """Say which config key to set when a data sample lacks a field."""
    if ATTENTION_KEY not in sample or SALIENCY_KEY not in sample:
        raise KeyError(
            f'the predictions hold no {ATTENTION_KEY} / {SALIENCY_KEY}: '
            'AttentionLocalization needs a head that keeps its class maps; '
            'set model.head.keep_class_maps=True (OPRLHead, CSRAMapHead, '
            'LinearCAMHead)')
    missing = [k for k in ('gt_bboxes', 'gt_bboxes_labels', 'ori_shape')
               if k not in sample]
    if missing:
        raise KeyError(
            f'the data samples hold no {missing}: add '
            f'{list(REGION_META_KEYS)} to the meta_keys of PackInputs in the '
            'test pipeline (and use a dataset whose data infos hold boxes)')


def with_region_meta_keys(dataset_cfg: dict) -> dict:
    """``dataset_cfg`` with its ``PackInputs`` also packing the boxes and
    masks (:data:`REGION_META_KEYS`, after mmpretrain's default keys), so
    that they reach the data samples and follow any resize of the
    pipeline. Changed in place and returned."""
    from mmpretrain.datasets.transforms import PackInputs

    for step in dataset_cfg.get('pipeline', []):
        if step.get('type') == 'PackInputs':
            keys = tuple(step.get('meta_keys', PackInputs.DEFAULT_META_KEYS))
            step['meta_keys'] = keys + tuple(
                k for k in REGION_META_KEYS if k not in keys)
    return dataset_cfg


__all__ = [
    'AttentionLocalization', 'upsample_maps', 'class_box_masks',
    'box_attention_share', 'box_pointing_hits', 'box_regions',
    'original_boxes', 'mask_regions', 'region_figures', 'stack_figures',
    'mean_figures', 'localization_summary', 'with_region_meta_keys'
]

__getattr__ = moved_names(__name__, dict(
    pack_region_meta_keys='use with_region_meta_keys(dataset_cfg), which '
    'adds REGION_META_KEYS to the PackInputs of a dataset config'))
