import numpy as np
import pytest
import torch
from mmengine.evaluator import Evaluator
from mmengine.registry import init_default_scope
from mmpretrain.registry import METRICS
from mmpretrain.structures import DataSample
from pycocotools import mask as mask_utils

import oprl_mm  # noqa: F401


def rle(pixels, size=(4, 4)):
    """Compressed RLE of a mask with the given (row, col) pixels set."""
    m = np.zeros(size, np.uint8, order='F')
    for r, c in pixels:
        m[r, c] = 1
    return mask_utils.encode(m)


def distribution(weights, size=(4, 4)):
    """A map with the given {(row, col): weight}, zero elsewhere."""
    out = torch.zeros(size)
    for (r, c), w in weights.items():
        out[r, c] = w
    return out


def hand_sample(with_masks=True):
    """A 4 x 4 image, maps at the image's resolution (upsampling is the
    identity), true classes 0 and 2 (class 1 has a box but is not true).

    class 0: box rows 0-1 x cols 0-1 (4 px), mask (0,0) and (1,1);
             attention 0.6 at (0,0), 0.4 at (3,3);
             softmax of S: 0.1 at (0,0), 0.9 at (0,3).
    class 2: box cols 2-3 (8 px), mask col 3 (4 px);
             attention 0.7 at (1,1), 0.3 at (2,3);
             softmax of S: 0.4 at (0,2), 0.6 at (3,0).
    """
    attention = torch.stack([
        distribution({(0, 0): 0.6, (3, 3): 0.4}),
        distribution({(0, 0): 1.0}),
        distribution({(1, 1): 0.7, (2, 3): 0.3}),
    ])
    softmax = torch.stack([
        distribution({(0, 0): 0.1, (0, 3): 0.9}),
        distribution({(0, 0): 1.0}),
        distribution({(0, 2): 0.4, (3, 0): 0.6}),
    ])
    sample = DataSample(metainfo=dict(
        ori_shape=(4, 4),
        gt_bboxes=np.array([[0, 0, 2, 2], [0, 0, 4, 4], [2, 0, 4, 4]],
                           np.float32),
        gt_bboxes_labels=np.array([0, 1, 2], np.int64)))
    if with_masks:
        sample.set_metainfo(dict(gt_masks=[
            rle([(0, 0), (1, 1)]), rle([(2, 2)]),
            rle([(r, 3) for r in range(4)])]))
    sample.set_gt_label(torch.tensor([0, 2]))
    sample.set_field(attention, 'class_attention', dtype=torch.Tensor)
    # S = log p: its softmax over the positions is p
    sample.set_field(softmax.log(), 'class_saliency', dtype=torch.Tensor)
    return sample.to_dict()


def test_hand_computed_boxes_and_masks():
    metric = METRICS.build(dict(type='AttentionLocalization'))
    metric.process(None, [hand_sample()])
    res = metric.evaluate(1)
    expected = {
        # box: class 0 share 0.6, peak (0,0) in; class 2 share 0.3, peak
        # (1,1) out; softmax 0.1 and 0.4, peaks (0,3) and (3,0) out
        'box_share': 45.0, 'box_share_softmax': 25.0,
        'box_chance': 100 * (4 / 16 + 8 / 16) / 2,
        'box_pointing': 50.0, 'box_pointing_softmax': 0.0, 'box_pairs': 2,
        # mask: class 0 share 0.6 (peak in), class 2 share 0.3 (peak out);
        # softmax 0.1 and 0
        'mask_share': 45.0, 'mask_share_softmax': 5.0,
        'mask_chance': 100 * (2 / 16 + 4 / 16) / 2,
        'mask_pointing': 50.0, 'mask_pointing_softmax': 0.0,
        'mask_pairs': 2,
    }
    assert set(res) == {f'localization/{k}' for k in expected}
    for key, value in expected.items():
        assert res[f'localization/{key}'] == pytest.approx(value, abs=1e-4)


def test_summary_by_class_from_the_metrics_results():
    """localization_summary (what attention_localization.py prints) reads
    the metric's own per-image results: the same means, as fractions, and
    per class the hand-computed shares (moved from the tool's figures_of)."""
    from oprl_mm.evaluation.localization import localization_summary
    metric = METRICS.build(dict(type='AttentionLocalization'))
    metric.process(None, [hand_sample(), hand_sample(with_masks=False)])
    summary = localization_summary(metric.results, 2, num_classes=3)
    res = metric.evaluate(2)
    assert summary['pairs'] == res['localization/box_pairs'] == 4
    assert summary['skipped'] == 0 and summary['images'] == 2
    for name, key in (('spa_share', 'share'),
                      ('softmax_share', 'share_softmax'),
                      ('chance_share', 'chance'),
                      ('spa_pointing', 'pointing'),
                      ('softmax_pointing', 'pointing_softmax')):
        assert 100 * summary['figures'][name] == pytest.approx(
            res[f'localization/box_{key}'])
    spa, softmax, chance = summary['per_class']
    assert spa == pytest.approx([0.6, 0.0, 0.3])
    assert softmax == pytest.approx([0.1, 0.0, 0.4])
    assert chance == pytest.approx([4 / 16, 0.0, 8 / 16])
    assert summary['per_class_pairs'] == [2, 0, 2]


def test_without_masks_reports_boxes_only():
    metric = METRICS.build(dict(type='AttentionLocalization', prefix='loc'))
    metric.process(None, [hand_sample(with_masks=False)])
    res = metric.evaluate(1)
    assert res['loc/box_share'] == pytest.approx(45.0)
    assert not any('mask' in k for k in res)


def test_maps_upsampled_to_the_original_image():
    # a 2 x 2 uniform map on an 8 x 6 image: its share is the box's area
    sample = DataSample(metainfo=dict(
        ori_shape=(8, 6), gt_bboxes=np.array([[0, 0, 3, 2]], np.float32),
        gt_bboxes_labels=np.array([1])))
    sample.set_gt_label(torch.tensor([1]))
    sample.set_field(torch.full((2, 2, 2), 0.25), 'class_attention',
                     dtype=torch.Tensor)
    sample.set_field(torch.zeros(2, 2, 2), 'class_saliency',
                     dtype=torch.Tensor)
    metric = METRICS.build(dict(type='AttentionLocalization'))
    metric.process(None, [sample.to_dict()])
    res = metric.evaluate(1)
    assert res['localization/box_chance'] == pytest.approx(100 * 6 / 48)
    assert res['localization/box_share'] == pytest.approx(100 * 6 / 48)
    assert res['localization/box_share_softmax'] == pytest.approx(
        100 * 6 / 48)


def test_errors_name_the_setting():
    sample = hand_sample()
    no_maps = {k: v for k, v in sample.items() if k != 'class_attention'}
    metric = METRICS.build(dict(type='AttentionLocalization'))
    with pytest.raises(KeyError, match='keep_class_maps'):
        metric.process(None, [no_maps])
    no_boxes = {k: v for k, v in sample.items() if k != 'gt_bboxes'}
    with pytest.raises(KeyError, match='meta_keys of PackInputs'):
        metric.process(None, [no_boxes])
    wrong = dict(sample, gt_masks=[rle([(0, 0)], (5, 4))] * 3)
    with pytest.raises(ValueError, match='ori_shape'):
        metric.process(None, [wrong])


PRED = torch.tensor([[0.9, 0.6, 0.5], [0.3, 0.8, 0.7], [0.6, 0.1, 0.4],
                     [0.2, 0.4, 0.9]])
LABELS = [[0], [1, 2], [2], [0, 2]]


def samples(boxes, shapes):
    out = []
    for p, lab, box, shape in zip(PRED, LABELS, boxes, shapes):
        s = DataSample(metainfo=dict(
            ori_shape=shape,
            gt_bboxes=np.array(box, np.float32).reshape(-1, 4)))
        # pred_label as the head sets it at its thr of 0.5
        out.append(s.set_pred_score(p).set_gt_label(torch.tensor(lab))
                   .set_pred_label(torch.where(p >= 0.5)[0]).to_dict())
    return out


def test_small_object_map_by_hand():
    boxes = [[[0, 0, 10, 10]],  # small
             [[0, 0, 50, 10]],  # 50 px wide: not small
             [[0, 0, 20, 20], [30, 30, 40, 40]],  # every side <= 20: small
             []]  # no box: left out
    metric = METRICS.build(dict(type='SmallObjectMAP', small_side=0.2))
    metric.process(None, samples(boxes, [(100, 100)] * 4))
    res = metric.evaluate(4)
    # images 0 and 2: class 0 AP 1 (0.9 pos > 0.6 neg), class 1 has no
    # positive (left out), class 2 AP 1/2 (0.5 neg above 0.4 pos)
    assert res == {'small/mAP': pytest.approx(75.0), 'small/images': 2}


def test_small_object_sides_per_axis_and_none_small():
    # 100 wide, 50 high: a 15 x 12 box is too high (12 > 0.2 * 50)
    boxes = [[[0, 0, 15, 12]], [[0, 0, 15, 8]], [[0, 0, 90, 9]], []]
    metric = METRICS.build(dict(type='SmallObjectMAP'))
    metric.process(None, samples(boxes, [(50, 100)] * 4))
    assert metric.evaluate(4)['small/images'] == 1
    metric = METRICS.build(dict(type='SmallObjectMAP', small_side=0.01))
    metric.process(None, samples(boxes, [(50, 100)] * 4))
    res = metric.evaluate(4)
    assert res['small/images'] == 0 and np.isnan(res['small/mAP'])


def test_class_subset_maps_with_prefixes():
    init_default_scope('mmpretrain')
    evaluator = Evaluator([
        dict(type='MLCMetric'),
        dict(type='ClassSubsetMAP', classes=[0], prefix='first'),
        dict(type='ClassSubsetMAP', classes=['b', 'c'], prefix='last'),
    ])
    evaluator.dataset_meta = dict(classes=('a', 'b', 'c'))
    evaluator.process(samples([[]] * 4, [(10, 10)] * 4))
    res = evaluator.evaluate(4)
    # per-class AP: class 0 (1 + 2/4) / 2 (0.9 pos, 0.6 and 0.3 neg, 0.2
    # pos), class 1 1, class 2 (1 + 1 + 3/4) / 3 (0.5 neg above 0.4 pos)
    ap = np.array([0.75, 1.0, 11 / 12]) * 100
    assert res['first/mAP'] == pytest.approx(ap[0])
    assert res['last/mAP'] == pytest.approx(ap[1:].mean())
    assert res['mAP'] == pytest.approx(ap.mean())


def test_class_subset_unknown_name():
    metric = METRICS.build(dict(type='ClassSubsetMAP', classes=['z']))
    metric.dataset_meta = dict(classes=('a', 'b', 'c'))
    metric.process(None, samples([[]] * 4, [(10, 10)] * 4))
    with pytest.raises(ValueError, match="'z'"):
        metric.evaluate(4)


def test_boxes_scaled_by_resize_are_mapped_back():
    # mmcv's Resize scales gt_bboxes and records scale_factor (w, h)
    sample = hand_sample(with_masks=False)
    scaled = dict(sample, scale_factor=(2.0, 3.0),
                  gt_bboxes=sample['gt_bboxes'] * np.array([2, 3, 2, 3]))
    results = []
    for s in (sample, scaled):
        metric = METRICS.build(dict(type='AttentionLocalization'))
        metric.process(None, [s])
        results.append(metric.evaluate(1))
    assert results[0] == results[1]
    with pytest.raises(ValueError, match='RandomFlip'):
        metric.process(None, [dict(sample, flip=True)])
