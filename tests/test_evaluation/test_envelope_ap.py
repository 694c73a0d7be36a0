"""The lineage's precision-envelope AP (SADCL utils/metric.py voc_ap) as an
MLCMetric option, on a case computed by hand."""
import pytest
import torch
from mmpretrain.registry import METRICS
from mmpretrain.structures import DataSample

import oprl_mm  # noqa: F401
from oprl_mm.evaluation.mlc_metric import (envelope_average_precision,
                                           multilabel_metrics)

# class 0 ranked: +, -, -, +, +   precision at the positives 1, 2/4, 3/5
#   non-interpolated AP = (1 + 0.5 + 0.6) / 3 = 0.7
#   envelope AP: the precision at rank 4 is lifted to max(0.5, 0.6) = 0.6,
#   (1 + 0.6 + 0.6) / 3 = 0.7333...
# class 1 ranked: +, +, -, -, -   1 under both
# class 2: the first image is ignored (-1); ranked -, +, -, + over the rest:
#   precision 1/2 and 2/4; envelope max(0.5, 0.5): both give 0.5
SCORES = torch.tensor([[0.9, 0.9, 0.95], [0.8, 0.8, 0.9], [0.7, 0.1, 0.8],
                       [0.6, 0.2, 0.3], [0.5, 0.3, 0.2]])
TARGETS = torch.tensor([[1, 1, -1], [0, 1, 0], [0, 0, 1], [1, 0, 0],
                        [1, 0, 1]])


def test_envelope_ap_on_a_hand_computed_case():
    ap = envelope_average_precision(SCORES, TARGETS)
    torch.testing.assert_close(
        ap, torch.tensor([220 / 3, 100.0, 50.0]), rtol=0, atol=1e-4)


def test_metric_option_and_default():
    envelope = multilabel_metrics(SCORES, TARGETS, ap_type='envelope')
    plain = multilabel_metrics(SCORES, TARGETS)
    assert envelope['mAP'] == pytest.approx((220 / 3 + 100 + 50) / 3,
                                            abs=1e-4)
    assert plain['mAP'] == pytest.approx((70 + 100 + 50) / 3, abs=1e-4)
    # the thresholded figures do not depend on the AP
    assert envelope['CF1'] == plain['CF1']

    metric = METRICS.build(dict(type='MLCMetric', ap_type='envelope'))
    samples = [
        DataSample().set_pred_score(s).set_gt_score(t.float()).set_pred_label(
            torch.where(s >= 0.5)[0]).to_dict()
        for s, t in zip(SCORES, TARGETS)
    ]
    metric.process(None, samples)
    assert metric.evaluate(5)['mAP'] == pytest.approx(envelope['mAP'])
    with pytest.raises(ValueError, match='ap_type'):
        METRICS.build(dict(type='MLCMetric', ap_type='voc'))


def test_envelope_never_below_the_plain_ap():
    generator = torch.Generator().manual_seed(0)
    scores = torch.rand(200, 7, generator=generator)
    targets = (torch.rand(200, 7, generator=generator) < 0.3).long()
    envelope = envelope_average_precision(scores, targets)
    plain = torch.tensor([
        multilabel_metrics(scores[:, [c]], targets[:, [c]])['mAP']
        for c in range(7)
    ])
    assert (envelope >= plain - 1e-4).all()
    assert (envelope > plain + 1e-3).any()
