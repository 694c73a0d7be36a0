"""mAP over a subset of the images (small objects) or of the classes."""
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
import torch
from mmengine.logging import MMLogger
from mmpretrain.evaluation.metrics import AveragePrecision
from mmpretrain.registry import METRICS

from .localization import original_boxes
from .mlc_metric import MLCMetric


def class_ap(scores: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per-class AP (percent) of N x C scores and targets in {1, 0, -1};
    NaN for a class without a positive (its AP is undefined)."""
    if not len(target):
        return torch.full(target.shape[1:], torch.nan)
    ap = AveragePrecision.calculate(scores, target, average=None)
    return torch.where((target == 1).any(0), ap, torch.nan)


def _stacked(results: List[dict]):
    return (torch.stack([r['pred_score'] for r in results]),
            torch.stack([r['gt_score'] for r in results]))


@METRICS.register_module()
class SmallObjectMAP(MLCMetric):
    """mAP over the images whose objects are all small.

    An image counts when it has at least one box (``gt_bboxes`` in the
    data sample's metainfo: add it to ``PackInputs``' ``meta_keys``) and
    every box is at most ``small_side`` of the image's width wide and of
    its height high (``ori_shape``; boxes as
    :func:`~oprl_mm.evaluation.localization.original_boxes` reads them:
    in original pixels, or scaled by ``Resize``). The mAP is
    the mean AP over the classes with a positive among those images; NaN
    when no image qualifies. Targets are :class:`MLCMetric`'s.

    Args:
        small_side (float): the largest box side, as a share of the image
            side. Defaults to 0.2 (4 % of the area).
        collect_device (str): 'cpu' or 'gpu'. Defaults to 'cpu'.
        prefix (str, optional): prefix of the metric names. Defaults to
            'small': ``small/mAP`` and ``small/images``.
    """
    default_prefix = 'small'

    def __init__(self,
                 small_side: float = 0.2,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None):
        if not 0 < small_side <= 1:
            raise ValueError(
                f'small_side must be in (0, 1], got {small_side}')
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.small_side = small_side

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            super().process(data_batch, [sample])
            self.results[-1]['small'] = self._is_small(sample)

    def _is_small(self, sample: dict) -> bool:
        if 'gt_bboxes' not in sample or 'ori_shape' not in sample:
            raise KeyError(
                'SmallObjectMAP needs gt_bboxes and ori_shape in the data '
                "samples: add 'gt_bboxes' to the meta_keys of PackInputs in "
                'the test pipeline (and use a dataset whose data infos hold '
                'boxes)')
        boxes = original_boxes(sample)
        height, width = sample['ori_shape'][:2]
        return bool(len(boxes)) and bool(
            ((boxes[:, 2] - boxes[:, 0] <= self.small_side * width) &
             (boxes[:, 3] - boxes[:, 1] <= self.small_side * height)).all())

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        small = [r for r in results if r['small']]
        if small:
            mean = float(class_ap(*_stacked(small)).nanmean())
        else:
            mean = float('nan')
        MMLogger.get_current_instance().info(
            f'mAP over the {len(small)} images whose every box side is <= '
            f'{self.small_side:g} of the image side: {mean:.2f}')
        return dict(mAP=mean, images=len(small))


@METRICS.register_module()
class ClassSubsetMAP(MLCMetric):
    """mAP over a subset of the classes, e.g. ``SynthEntangled``'s
    dependents.

    The mean AP of the given classes over every image, leaving out
    those without a positive (NaN when none has one). Give a distinct
    ``prefix`` to run several subsets in one evaluator.

    Args:
        classes (Sequence[int | str]): class indices, or names of the
            dataset's ``classes``.
        collect_device (str): 'cpu' or 'gpu'. Defaults to 'cpu'.
        prefix (str, optional): prefix of the metric names. Defaults to
            'subset': ``subset/mAP``.
    """
    default_prefix = 'subset'

    def __init__(self,
                 classes: Sequence[Union[int, str]],
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None):
        if not len(classes):
            raise ValueError('ClassSubsetMAP needs at least one class')
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.classes = list(classes)

    def _indices(self, num_classes: int) -> List[int]:
        names = list((self.dataset_meta or {}).get('classes') or [])
        indices = []
        for c in self.classes:
            if isinstance(c, str):
                if c not in names:
                    raise ValueError(
                        f'ClassSubsetMAP class {c!r} is not a class of the '
                        f'dataset ({names}): give names from its classes '
                        'or indices')
                c = names.index(c)
            if not 0 <= int(c) < num_classes:
                raise ValueError(
                    f'ClassSubsetMAP class index {c} out of range for '
                    f'{num_classes} classes')
            indices.append(int(c))
        return indices

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        scores, target = _stacked(results)
        indices = self._indices(scores.shape[1])
        mean = float(class_ap(scores, target)[indices].nanmean())
        MMLogger.get_current_instance().info(
            f'mAP over classes {self.classes} ({self.prefix}): {mean:.2f}')
        return dict(mAP=mean)
