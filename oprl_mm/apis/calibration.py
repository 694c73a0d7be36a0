"""Per-class decision thresholds that maximise each class's F1, fitted on
the scores and targets ``MLCMetric`` scores."""
from typing import Callable, List, Optional, Sequence, Tuple

import torch

from ..evaluation.mlc_metric import METRIC_KEYS, MLCMetric
from ..moved import moved_names

__all__ = [
    'f1_optimal_thresholds', 'METRIC_KEYS', 'metric_scores_targets',
    'split_predictions'
]
# the figures at one threshold, or one per class, are MLCMetric's own
THRESHOLDED_METRICS = ('was an alias of '
                       'oprl_mm.evaluation.mlc_metric.multilabel_metrics: '
                       'use that')
__getattr__ = moved_names(__name__,
                          dict(thresholded_metrics=THRESHOLDED_METRICS))


def metric_scores_targets(
        samples: Sequence[dict]) -> Tuple[torch.Tensor, torch.Tensor]:
    """N x C scores and targets exactly as ``MLCMetric`` reads them.

    The samples are the dicts mmengine's evaluator hands to metrics, e.g.
    those ``tools/test.py --dump`` writes (mmengine's ``DumpResults``).
    ``MLCMetric.process`` turns them into targets in {1, 0, -1}, -1 marking
    what every figure ignores (VOC's difficult-only labels).
    """
    if not samples:
        raise ValueError('no prediction to read')
    metric = MLCMetric()
    metric.process(None, samples)
    return (torch.stack([r['pred_score'] for r in metric.results]).float(),
            torch.stack([r['gt_score'] for r in metric.results]).float())


@torch.no_grad()
def split_predictions(model, dataloader,
                      progress: Optional[Callable[[int], None]] = None
                      ) -> List[dict]:
    """Run ``model.test_step`` over a dataloader, as the test loop does,
    and return each sample as the dict the evaluator gives its metrics."""
    samples = []
    for data in dataloader:
        outputs = model.test_step(data)
        samples += [s.cpu().to_dict() for s in outputs]
        if progress is not None:
            progress(len(outputs))
    return samples


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

