"""The multi-label metrics of the literature: mAP, CP, CR, CF1, OP, OR, OF1."""
import csv
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence, Union

import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger
from mmpretrain.evaluation.metrics import AveragePrecision
from mmpretrain.registry import METRICS
from mmpretrain.structures import label_to_onehot

METRIC_KEYS = ('mAP', 'CP', 'CR', 'CF1', 'OP', 'OR', 'OF1')
AP_TYPES = ('non_interpolated', 'envelope')


def envelope_average_precision(pred: torch.Tensor,
                               target: torch.Tensor) -> torch.Tensor:
    """Per-class AP under the precision envelope (VOC-style), in percent.

    The AP of the code lineage (SADCL's ``utils/metric.py`` ``voc_ap``, from
    SSGRL; Query2Label's ``voc_mAP`` is the same): each class's images are
    ranked by score, precision at every rank is replaced by the largest
    precision at that rank or below it, and AP is the mean of that envelope
    over the positives' ranks. mmpretrain's ``AveragePrecision`` (the
    default here) averages the precision itself, without the envelope, so
    it is never larger. Entries whose target is -1 are left out of the
    ranking; a class without positives gets 0, as in mmpretrain's. Ties are
    ranked in input order. All classes at once, no loop.

    Args:
        pred (Tensor): N x C scores.
        target (Tensor): N x C targets in {1, 0, -1}.

    Returns:
        Tensor: C APs in percent.
    """
    order = torch.argsort(pred.float(), dim=0, descending=True, stable=True)
    ranked = target.float().gather(0, order)
    valid = ranked > -1
    positive = ranked == 1
    precision = positive.double().cumsum(0) / valid.double().cumsum(0).clamp(
        min=1)
    precision = torch.where(valid, precision, torch.zeros_like(precision))
    envelope = precision.flip(0).cummax(0).values.flip(0)
    num_pos = positive.sum(0).double()
    ap = (envelope * positive).sum(0) / num_pos.clamp(min=1)
    return (ap * 100).float()


def average_precision(pred: torch.Tensor, target: torch.Tensor,
                      ap_type: str = 'non_interpolated') -> torch.Tensor:
    """Per-class AP in percent: mmpretrain's non-interpolated AP or the
    lineage's envelope AP (:func:`envelope_average_precision`)."""
    if ap_type not in AP_TYPES:
        raise ValueError(f'ap_type must be one of {AP_TYPES}, got {ap_type!r}')
    if ap_type == 'envelope':
        return envelope_average_precision(pred, target)
    return AveragePrecision.calculate(pred, target, average=None)


def multilabel_metrics(pred: torch.Tensor,
                       target: torch.Tensor,
                       thr: Union[float, Sequence[float],
                                  torch.Tensor] = 0.5,
                       ap_type: str = 'non_interpolated') -> Dict[str, float]:
    """The seven figures of the multi-label literature, in percent.

    A label is predicted positive when its score is >= ``thr`` (one
    threshold, or one per class, e.g. from
    ``tools/analysis_tools/calibrate_thresholds.py``); CP ... OF1 are
    :func:`label_metrics` of these decisions. mAP is the mean of the
    per-class AP: mmpretrain's (non-interpolated) by default, the lineage's
    envelope AP with ``ap_type='envelope'``. Entries whose target is -1
    (e.g. VOC's difficult-only labels) are left out of every figure.

    Args:
        pred (Tensor): N x C scores.
        target (Tensor): N x C targets in {1, 0, -1}.
        thr (float | Sequence[float] | Tensor): one or C thresholds.
            Defaults to 0.5.
        ap_type (str): 'non_interpolated' (default) or 'envelope'.
    """
    pred = pred.float()
    predicted = pred >= torch.as_tensor(thr, dtype=torch.float32)
    ap = average_precision(pred, target.float(), ap_type)
    return dict(mAP=ap.mean().item(), **label_metrics(predicted, target))


def label_metrics(predicted: torch.Tensor,
                  target: torch.Tensor) -> Dict[str, float]:
    """CP, CR, CF1, OP, OR, OF1 of predicted labels, in percent.

    Per class c: ``P_c = TP_c / (TP_c + FP_c)`` (0 when c is never
    predicted) and ``R_c = TP_c / (TP_c + FN_c)`` (0 when c has no
    positive); CP and CR are their means over classes and
    ``CF1 = 2 CP CR / (CP + CR)``, the CF1 of the literature (mmpretrain's
    macro f1-score, the mean of per-class F1, is a different number). OP,
    OR and OF1 pool all image-label pairs. Entries whose target is -1 are
    left out.

    Args:
        predicted (Tensor): N x C, True where a label is predicted.
        target (Tensor): N x C targets in {1, 0, -1}.
    """
    target = target.float()
    valid = target > -1
    positive = (target == 1) & valid
    predicted = predicted.bool() & valid
    tp = (positive & predicted).sum(0).double()
    n_pred = predicted.sum(0).double()
    n_pos = positive.sum(0).double()

    # tp <= n_pred and tp <= n_pos: a zero count gives 0 / 1 = 0
    cp = (tp / n_pred.clamp(min=1)).mean().item() * 100
    cr = (tp / n_pos.clamp(min=1)).mean().item() * 100
    op = (tp.sum() / n_pred.sum().clamp(min=1)).item() * 100
    o_r = (tp.sum() / n_pos.sum().clamp(min=1)).item() * 100

    def f1(p, r):
        return 2 * p * r / (p + r) if p + r > 0 else 0.

    return dict(
        CP=cp, CR=cr, CF1=f1(cp, cr), OP=op, OR=o_r, OF1=f1(op, o_r))


def unknown_except_verified(target: torch.Tensor,
                            negative: torch.Tensor) -> torch.Tensor:
    """Targets of a partly labelled image: 1 where ``target`` (C, 0/1) is
    positive, 0 at the verified ``negative`` indices, -1 (unknown, ignored
    by every figure) elsewhere. A class both positive and negative is
    positive."""
    out = torch.full_like(target, -1.0)
    out[negative.reshape(-1)] = 0.0
    out[target > 0] = 1.0
    return out


@METRICS.register_module()
class MLCMetric(BaseMetric):
    """mAP, CP, CR, CF1, OP, OR, OF1 (see :func:`multilabel_metrics`).

    Each evaluation also logs the seven figures as one table row. Samples
    holding ``gt_label_difficult`` (mmpretrain's ``VOC``) mark labels that
    only difficult objects carry as -1, which every figure ignores, as
    mmpretrain's ``VOCMultiLabelMetric`` does by default. Samples holding
    ``gt_label_negative`` (:class:`~oprl_mm.datasets.OpenImages`) are
    partly labelled: their positives (``gt_label``) and verified negatives
    count, and every other class is -1 (unknown) and ignored.

    CP ... OF1 count the labels the model predicted, each sample's
    ``pred_label``: the head owns the one threshold (``model.head.thr``,
    0.5 by default; mmpretrain's ``MultiLabelClsHead`` sets ``pred_label``
    to the classes whose score is >= it), so that the figures are those of
    the predictions ``tools/test.py`` and ``MultiLabelInferencer`` give.
    mAP reads ``pred_score`` and needs no threshold.

    Args:
        thr (None): removed; passing a value is an error naming
            ``model.head.thr``, which replaces it.
        ap_type (str): the AP behind mAP and the per-class table:
            'non_interpolated' (default; mmpretrain's ``AveragePrecision``)
            or 'envelope' (the precision-envelope, VOC-style AP of the code
            lineage, SADCL's ``utils/metric.py`` ``voc_ap``, with which the
            paper's tables were most likely computed; docs/fidelity.md).
        per_class (bool): also log the per-class AP table (the paper's
            Table 1) and return it under ``AP_classwise``. Defaults to False.
        per_class_file (str, optional): write the per-class table as CSV
            (class, AP, positives) to this path.
        collect_device (str): 'cpu' or 'gpu'. Defaults to 'cpu'.
        prefix (str, optional): prefix of the metric names.
    """

    def __init__(self,
                 thr: None = None,
                 ap_type: str = 'non_interpolated',
                 per_class: bool = False,
                 per_class_file: Optional[str] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        if thr is not None:
            raise ValueError(
                f'MLCMetric: thr={thr!r}: the threshold is the head\'s, '
                'model.head.thr (MLCMetric counts the pred_label it '
                'decides): remove thr from the evaluator and set '
                f'model.head.thr={thr!r} (--cfg-options model.head.thr=...)')
        if ap_type not in AP_TYPES:
            raise ValueError(f'MLCMetric: ap_type must be one of {AP_TYPES}, '
                             f'got {ap_type!r}')
        self.ap_type = ap_type
        self.per_class = per_class or per_class_file is not None
        self.per_class_file = per_class_file

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            score = sample['pred_score'].detach().cpu()
            if 'gt_score' in sample:
                target = sample['gt_score'].detach().cpu().float()
            else:
                target = label_to_onehot(sample['gt_label'].cpu(),
                                         score.numel()).float()
                difficult = sample.get('gt_label_difficult', None)
                if difficult is not None and len(difficult):
                    only_difficult = set(
                        torch.as_tensor(difficult).tolist()) - set(
                            sample['gt_label'].tolist())
                    target[list(only_difficult)] = -1
                negative = sample.get('gt_label_negative', None)
                if negative is not None:
                    # partly labelled (Open Images): only verified labels
                    # count, every other class is unknown
                    target = unknown_except_verified(
                        target, torch.as_tensor(negative, dtype=torch.long))
            result = dict(pred_score=score, gt_score=target)
            if 'pred_label' in sample:
                result['pred_label'] = label_to_onehot(
                    sample['pred_label'].cpu(), score.numel()).bool()
            self.results.append(result)

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        pred = torch.stack([r['pred_score'] for r in results])
        target = torch.stack([r['gt_score'] for r in results])
        if any('pred_label' not in r for r in results):
            raise KeyError(
                'MLCMetric counts the labels the model predicted: every data '
                'sample needs pred_label (set by the head from its thr)')
        predicted = torch.stack([r['pred_label'] for r in results])
        ap = average_precision(pred, target, self.ap_type)
        metrics = dict(mAP=ap.mean().item(),
                       **label_metrics(predicted, target))
        logger = MMLogger.get_current_instance()
        header = '| ' + ' | '.join(f'{k:>6}' for k in METRIC_KEYS) + ' |'
        row = '| ' + ' | '.join(f'{metrics[k]:6.2f}'
                                for k in METRIC_KEYS) + ' |'
        ap_note = ', envelope AP' if self.ap_type == 'envelope' else ''
        logger.info(f'Multi-label metrics over {len(results)} images '
                    f'(labels at the head\'s thr{ap_note}):\n{header}\n{row}')
        if self.per_class:
            metrics['AP_classwise'] = [round(v, 4) for v in ap.tolist()]
            self._report_per_class(ap, (target == 1).sum(0), logger)
        return metrics

    def _report_per_class(self, ap, positives, logger) -> None:
        classes = (self.dataset_meta or {}).get('classes') or [
            f'class_{i}' for i in range(len(ap))
        ]
        width = max(len(str(c)) for c in classes)
        lines = [f'{"class":<{width}} | AP     | positives']
        lines += [
            f'{str(c):<{width}} | {a:6.2f} | {int(n)}'
            for c, a, n in zip(classes, ap.tolist(), positives.tolist())
        ]
        logger.info('Per-class AP:\n' + '\n'.join(lines))
        if self.per_class_file:
            folder = osp.dirname(osp.abspath(self.per_class_file))
            os.makedirs(folder, exist_ok=True)
            with open(self.per_class_file, 'w', newline='') as f:
                writer = csv.writer(f)
                writer.writerow(['class', 'AP', 'positives'])
                for c, a, n in zip(classes, ap.tolist(), positives.tolist()):
                    writer.writerow([c, f'{a:.4f}', int(n)])
            logger.info(f'Per-class AP written to {self.per_class_file}')
