import pytest
import torch
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

import oprl_mm  # noqa: F401

C, D = 4, 8


def feats(batch=2, size=3):
    torch.manual_seed(0)
    return (torch.randn(batch, D, size, size), )


def predict(head, f):
    head.eval()
    with torch.no_grad():
        return head.predict(f, [DataSample() for _ in range(len(f[0]))])


@pytest.mark.parametrize('cfg', [
    dict(type='OPRLHead', num_classes=C, in_channels=D),
    dict(type='CSRAMapHead', num_classes=C, in_channels=D, num_heads=1,
         lam=0.1),
    dict(type='LinearCAMHead', num_classes=C, in_channels=D),
])
def test_maps_only_when_asked_and_scores_unchanged(cfg):
    f = feats()
    plain = MODELS.build(cfg)
    keeping = MODELS.build(dict(cfg, keep_class_maps=True))
    keeping.load_state_dict(plain.state_dict())
    without = predict(plain, f)
    with_maps = predict(keeping, f)
    for a, b in zip(without, with_maps):
        assert 'class_attention' not in a and 'class_saliency' not in a
        assert b.class_attention.shape == (C, 3, 3)
        assert b.class_saliency.shape == (C, 3, 3)
        torch.testing.assert_close(a.pred_score, b.pred_score)


def test_oprl_maps_are_s_and_the_spa_weights():
    head = MODELS.build(dict(type='OPRLHead', num_classes=C, in_channels=D,
                             keep_class_maps=True))
    f = feats()
    out = head.eval().forward_outputs(f)
    pred = predict(head, f)
    torch.testing.assert_close(pred[1].class_saliency, out['saliency'][1])
    torch.testing.assert_close(pred[1].class_attention, out['attention'][1])
    sums = pred[0].class_attention.flatten(1).sum(-1)
    torch.testing.assert_close(sums, torch.ones(C))


def test_csra_attention_is_softmax_of_its_scores_and_same_logits():
    head = MODELS.build(dict(type='CSRAMapHead', num_classes=C, in_channels=D,
                             num_heads=1, lam=0.1, keep_class_maps=True))
    reference = MODELS.build(dict(type='CSRAClsHead', num_classes=C,
                                  in_channels=D, num_heads=1, lam=0.1))
    reference.load_state_dict(head.state_dict())
    f = feats()
    maps = head.class_maps(f)
    torch.testing.assert_close(maps['logits'], reference(f))
    soft = maps['saliency'].flatten(2).softmax(-1).reshape(2, C, 3, 3)
    torch.testing.assert_close(maps['attention'], soft)
    # CSRA's logit: the mean score plus lambda x the attended score
    base = maps['saliency'].flatten(2).mean(-1)
    att = (maps['saliency'] * maps['attention']).flatten(2).sum(-1)
    torch.testing.assert_close(reference(f), base + 0.1 * att)


def test_linear_cam_mean_is_the_pooled_linear_logit():
    head = MODELS.build(dict(type='LinearCAMHead', num_classes=C,
                             in_channels=D))
    reference = MODELS.build(dict(type='MultiLabelLinearClsHead',
                                  num_classes=C, in_channels=D))
    reference.load_state_dict(head.state_dict())
    f = feats()
    pooled = (f[0].mean((2, 3)), )
    torch.testing.assert_close(head(f), reference(pooled))
    torch.testing.assert_close(head(pooled), reference(pooled))
    maps = head.class_maps(f)
    assert maps['saliency'].shape == (2, C, 3, 3)
    torch.testing.assert_close(maps['saliency'].mean((2, 3)), head(f))
    with pytest.raises(ValueError, match='pooling neck'):
        head.class_maps(pooled)


def test_baselines_keep_maps_in_a_classifier():
    from mmengine.registry import init_default_scope

    from oprl_mm.models.baselines import baseline_model
    init_default_scope('mmpretrain')
    oprl = dict(
        type='ImageClassifier',
        backbone=dict(type='ResNet', depth=18, stem_channels=8,
                      base_channels=8, out_indices=(3, )),
        neck=None,
        head=dict(type='OPRLHead', num_classes=C, in_channels=64))
    for name in ('csra', 'linear'):
        cfg = baseline_model(name, oprl)
        cfg['head']['keep_class_maps'] = True
        model = MODELS.build(cfg).eval()
        with torch.no_grad():
            out = model(torch.randn(2, 3, 64, 64),
                        [DataSample(), DataSample()], mode='predict')
        # a 2 x 2 last map at 64 px (stride 32)
        assert out[0].class_attention.shape == (C, 2, 2)


def test_mmpretrain_get_predictions_keeps_its_meaning():
    """``ClassMapsMixin.predict`` calls mmpretrain's private
    ``MultiLabelClsHead._get_predictions``: sigmoid scores and the labels
    at the head's ``thr`` (a number or one per class). Fails on an
    mmpretrain where that changes."""
    head = MODELS.build(
        dict(type='LinearCAMHead', num_classes=C, in_channels=D, thr=0.4))
    logits = torch.tensor([[2., -1., 0., -0.3], [-3., 0.5, 0.1, -0.5]])
    samples = head._get_predictions(logits, None)
    for sample, row in zip(samples, logits):
        assert torch.equal(sample.pred_score, row.sigmoid())
        assert sample.pred_label.tolist() == torch.where(
            row.sigmoid() >= 0.4)[0].tolist()
    head.thr = torch.tensor([0.0, 1.1, 1.1, 1.1])  # per class
    samples = head._get_predictions(logits, None)
    assert [s.pred_label.tolist() for s in samples] == [[0], [0]]
