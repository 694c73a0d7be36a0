"""Per-class decision thresholds that maximise each class's F1."""
from typing import Dict, Sequence, Tuple, Union

import torch
from mmpretrain.evaluation.metrics import AveragePrecision

from ..evaluation.mlc_metric import METRIC_KEYS

__all__ = ['f1_optimal_thresholds', 'thresholded_metrics', 'METRIC_KEYS']


def f1_optimal_thresholds(
        scores: torch.Tensor,
        target: torch.Tensor,
        default: float = 0.5) -> Tuple[torch.Tensor, torch.Tensor]:
    """For every class, the threshold with the best F1 on these scores.

    All classes at once: each column is sorted once, so predicting the top k
    images of class c positive gives ``TP_c(k)`` as a cumulative sum and
    ``F1_c(k) = 2 TP_c(k) / (k + P_c)``; only cuts between two different
    scores are allowed (a threshold cannot split ties). The threshold is the
    midpoint between the last score kept and the first one dropped (the
    last score itself when every image is kept). Among equal F1 the
    smallest k, i.e. the highest threshold, wins. Classes without a
    positive keep ``default``. Entries whose target is -1 are ignored.

    Args:
        scores (Tensor): N x C scores.
        target (Tensor): N x C targets in {1, 0, -1}.
        default (float): threshold of classes without a positive.

    Returns:
        tuple[Tensor, Tensor]: the C thresholds and the C best F1 values
        (in [0, 1]).
    """
    scores = scores.double()
    target = target.float()
    valid = target > -1
    num, _ = scores.shape
    masked = scores.masked_fill(~valid, float('-inf'))
    sorted_scores, order = masked.sort(dim=0, descending=True, stable=True)
    positive = ((target == 1) & valid).gather(0, order).double()
    tp = positive.cumsum(0)
    num_pos = positive.sum(0)
    num_valid = valid.sum(0)
    k = torch.arange(1, num + 1, dtype=torch.float64).unsqueeze(1)
    f1 = 2 * tp / (k + num_pos)
    next_scores = torch.cat(
        [sorted_scores[1:],
         sorted_scores.new_full((1, sorted_scores.size(1)), float('-inf'))])
    is_last = k == num_valid.unsqueeze(0)
    allowed = (k <= num_valid) & ((sorted_scores > next_scores) | is_last)
    f1 = f1.masked_fill(~allowed, -1.0)
    best_f1, best = f1.max(dim=0)
    kept = sorted_scores.gather(0, best.unsqueeze(0)).squeeze(0)
    dropped = next_scores.gather(0, best.unsqueeze(0)).squeeze(0)
    thr = torch.where(torch.isfinite(dropped), (kept + dropped) / 2, kept)
    no_pos = num_pos == 0
    thr = thr.masked_fill(no_pos, default)
    best_f1 = best_f1.clamp(min=0).masked_fill(no_pos, 0.0)
    return thr.float(), best_f1.float()


def thresholded_metrics(
        pred: torch.Tensor, target: torch.Tensor,
        thr: Union[float, Sequence[float], torch.Tensor] = 0.5
) -> Dict[str, float]:
    """mAP, CP, CR, CF1, OP, OR, OF1 (percent) with per-class thresholds.

    The same definitions as :func:`oprl_mm.evaluation.mlc_metric.
    multilabel_metrics` (the CF1 of the literature: F1 of the mean per-class
    precision and recall), except that ``thr`` may hold one threshold per
    class. A label is predicted when its score is >= its class's threshold;
    entries whose target is -1 are ignored.

    Args:
        pred (Tensor): N x C scores.
        target (Tensor): N x C targets in {1, 0, -1}.
        thr (float | Sequence[float] | Tensor): one or C thresholds.
    """
    pred = pred.float()
    target = target.float()
    thr = torch.as_tensor(thr, dtype=torch.float32)
    valid = target > -1
    positive = (target == 1) & valid
    predicted = (pred >= thr) & valid
    tp = (positive & predicted).sum(0).double()
    n_pred = predicted.sum(0).double()
    n_pos = positive.sum(0).double()
    per_class_p = torch.where(n_pred > 0, tp / n_pred.clamp(min=1),
                              torch.zeros_like(tp))
    per_class_r = torch.where(n_pos > 0, tp / n_pos.clamp(min=1),
                              torch.zeros_like(tp))
    cp = per_class_p.mean().item() * 100
    cr = per_class_r.mean().item() * 100
    op = (tp.sum() / n_pred.sum()).item() * 100 if n_pred.sum() > 0 else 0.
    o_r = (tp.sum() / n_pos.sum()).item() * 100 if n_pos.sum() > 0 else 0.

    def f1(p, r):
        return 2 * p * r / (p + r) if p + r > 0 else 0.

    ap = AveragePrecision.calculate(pred, target, average=None)
    return dict(
        mAP=ap.mean().item(),
        CP=cp,
        CR=cr,
        CF1=f1(cp, cr),
        OP=op,
        OR=o_r,
        OF1=f1(op, o_r))
