import pytest
import torch
from mmpretrain.registry import METRICS
from mmpretrain.structures import DataSample

import oprl_mm  # noqa: F401

PRED = torch.tensor([[0.9, 0.6, 0.2], [0.3, 0.8, 0.7], [0.6, 0.1, 0.4],
                     [0.2, 0.4, 0.9]])
LABELS = [[0], [1, 2], [2], [0, 2]]


def evaluate(metric, pred, labels, difficult=None, thr=0.5):
    """``pred_label`` as mmpretrain's ``MultiLabelClsHead`` sets it with
    ``thr``: the classes whose score is >= thr."""
    batch = []
    for i, (p, lab) in enumerate(zip(pred, labels)):
        s = DataSample().set_pred_score(p).set_gt_label(torch.tensor(lab))
        s.set_pred_label(torch.where(p >= thr)[0])
        if difficult is not None:
            s.set_field(torch.tensor(difficult[i]), 'gt_label_difficult')
        batch.append(s.to_dict())
    metric.process(None, batch)
    return metric.evaluate(len(batch))


def test_values_by_hand():
    res = evaluate(METRICS.build(dict(type='MLCMetric')), PRED, LABELS)
    assert list(res) == ['mAP', 'CP', 'CR', 'CF1', 'OP', 'OR', 'OF1']
    # per class at 0.5: P = (1/2, 1/2, 1), R = (1/2, 1, 2/3)
    cp, cr = 2 / 3, 13 / 18
    assert res['CP'] == pytest.approx(100 * cp)
    assert res['CR'] == pytest.approx(100 * cr)
    assert res['CF1'] == pytest.approx(100 * 2 * cp * cr / (cp + cr))
    # 4 true positives among 6 predictions and 6 positives
    assert res['OP'] == pytest.approx(100 * 4 / 6)
    assert res['OR'] == pytest.approx(100 * 4 / 6)
    assert res['OF1'] == pytest.approx(100 * 4 / 6)
    # AP = (0.75, 1, 1)
    assert res['mAP'] == pytest.approx(100 * 2.75 / 3)


def test_cf1_is_not_mean_of_per_class_f1():
    res = evaluate(METRICS.build(dict(type='MLCMetric')), PRED, LABELS)
    per_class_f1 = [0.5, 2 * 0.5 / 1.5, 2 * (2 / 3) / (5 / 3)]
    assert res['CF1'] != pytest.approx(100 * sum(per_class_f1) / 3)


def test_threshold():
    res = evaluate(METRICS.build(dict(type='MLCMetric')), PRED, LABELS,
                   thr=0.95)
    assert res['OP'] == 0 and res['OR'] == 0 and res['CF1'] == 0


def test_the_predicted_labels_count_not_a_threshold_of_its_own():
    """The head owns the threshold: the metric counts ``pred_label`` as
    given, even labels no score threshold would give."""
    metric = METRICS.build(dict(type='MLCMetric'))
    batch = []
    for p, lab in zip(PRED, LABELS):
        s = DataSample().set_pred_score(p).set_gt_label(torch.tensor(lab))
        batch.append(s.set_pred_label(torch.tensor(lab)).to_dict())
    metric.process(None, batch)
    res = metric.evaluate(len(batch))
    assert res['OP'] == res['OR'] == res['CF1'] == pytest.approx(100)
    assert res['mAP'] == pytest.approx(100 * 2.75 / 3)  # from the scores


def test_thr_names_its_replacement_and_pred_label_is_needed():
    with pytest.raises(ValueError, match=r'model\.head\.thr=0\.4'):
        METRICS.build(dict(type='MLCMetric', thr=0.4))
    metric = METRICS.build(dict(type='MLCMetric'))
    metric.process(None, [
        DataSample().set_pred_score(PRED[0]).set_gt_label(
            torch.tensor([0])).to_dict()
    ])
    with pytest.raises(KeyError, match='pred_label'):
        metric.evaluate(1)


def test_difficult_only_labels_are_ignored():
    # image 0 also holds a difficult-only class 1, scored 0.6
    metric = METRICS.build(dict(type='MLCMetric'))
    res = evaluate(metric, PRED, LABELS, difficult=[[1], [], [], []])
    # class 1 loses its false positive: P_1 = 1
    assert res['CP'] == pytest.approx(100 * (0.5 + 1 + 1) / 3)
    assert res['OP'] == pytest.approx(100 * 4 / 5)


def test_per_class_table(tmp_path):
    out = tmp_path / 'ap.csv'
    metric = METRICS.build(dict(type='MLCMetric', per_class_file=str(out)))
    metric.dataset_meta = dict(classes=['cat', 'dog', 'bird'])
    res = evaluate(metric, PRED, LABELS)
    assert res['AP_classwise'] == pytest.approx([75.0, 100.0, 100.0])
    lines = out.read_text().splitlines()
    assert lines[0] == 'class,AP,positives'
    assert lines[1].startswith('cat,75.0')
