import pytest
import torch
from mmpretrain.registry import MODELS

import oprl_mm  # noqa: F401


@pytest.mark.parametrize('cfg', [
    dict(),
    dict(gamma_pos=1.0, gamma_neg=4.0, clip=0.05),
    dict(gamma_pos=0.0, gamma_neg=2.0, clip=0.0),
])
@pytest.mark.parametrize('loss_type', ['ProbAsymmetricLoss',
                                       'LogitAsymmetricLoss'])
def test_undetached_equals_mmpretrain_asl(cfg, loss_type):
    # with the focal weight's gradient on, both equal mmpretrain's ASL
    torch.manual_seed(0)
    logits = torch.randn(6, 5) * 3
    target = (torch.rand(6, 5) > 0.6).float()
    x1 = logits.clone().requires_grad_()
    x2 = logits.clone().requires_grad_()
    # mmpretrain's own defaults are ASL's (clip 0.05, eps 1e-8): give it ours
    ref_cfg = dict(dict(clip=0.0, eps=1e-5), **cfg)
    ref = MODELS.build(dict(type='AsymmetricLoss', **ref_cfg))(
        x1, target, avg_factor=6)
    loss = MODELS.build(
        dict(type=loss_type, detach_focal_weight=False, **cfg))
    ours = loss(x2.sigmoid() if loss_type == 'ProbAsymmetricLoss' else x2,
                target, avg_factor=6)
    torch.testing.assert_close(ours, ref)
    ref.backward()
    ours.backward()
    torch.testing.assert_close(x2.grad, x1.grad)


def hand_derived_logit_grad(x, y, gamma_pos, gamma_neg, clip):
    """dL/dx of ASL with the focal factor held constant (ASL's dtgfl).

    Positive:  L = -(1 - p)^g+ log p         -> dL/dx = -(1 - p)^g+ (1 - p)
    Negative:  L = -p_m^g- log(1 - p_m),  p_m = max(p - clip, 0)
               -> dL/dx = p_m^g- / (1 - p_m) * p (1 - p)   where p > clip
    """
    p = x.sigmoid()
    grad_pos = -(1 - p).pow(gamma_pos) * (1 - p)
    p_m = (p - clip).clamp(min=0)
    grad_neg = p_m.pow(gamma_neg) / (1 - p_m) * p * (1 - p)
    grad_neg = torch.where(p > clip, grad_neg, torch.zeros_like(p))
    return y * grad_pos + (1 - y) * grad_neg


@pytest.mark.parametrize('gamma_pos,gamma_neg,clip', [(0.0, 4.0, 0.05),
                                                      (1.0, 2.0, 0.0),
                                                      (0.0, 0.0, 0.0)])
def test_detached_focal_weight_gradient_is_the_hand_formula(
        gamma_pos, gamma_neg, clip):
    torch.manual_seed(1)
    x = (torch.randn(8, 6) * 2).double().requires_grad_()
    y = (torch.rand(8, 6) > 0.5).double()
    loss = MODELS.build(
        dict(type='LogitAsymmetricLoss', gamma_pos=gamma_pos,
             gamma_neg=gamma_neg, clip=clip))
    # the loss runs in float32 (as under autocast); compare in float32
    loss(x, y, reduction_override='sum').backward()
    expected = hand_derived_logit_grad(x.detach(), y, gamma_pos, gamma_neg,
                                       clip)
    torch.testing.assert_close(x.grad, expected, rtol=1e-4, atol=1e-6)


def test_detaching_shrinks_the_negative_gradient():
    # at gamma_neg 4, clip 0.05 the focal factor's own gradient makes up
    # most of a negative's gradient (the reason the lineage detaches it)
    x = torch.linspace(-1, 3, 9).reshape(1, 9)
    y = torch.zeros(1, 9)
    grads = []
    for detach in (True, False):
        xi = x.clone().requires_grad_()
        MODELS.build(dict(type='LogitAsymmetricLoss', clip=0.05,
                          detach_focal_weight=detach))(xi, y).backward()
        grads.append(xi.grad)
    ratio = grads[1] / grads[0]
    assert bool((ratio > 2).all()) and bool((ratio < 6).all())


def test_value_does_not_depend_on_detaching():
    p = torch.rand(4, 5)
    y = (torch.rand(4, 5) > 0.5).float()
    values = [
        MODELS.build(dict(type='ProbAsymmetricLoss',
                          detach_focal_weight=d))(p, y) for d in (True, False)
    ]
    torch.testing.assert_close(values[0], values[1])


def test_reduction_is_sum_over_classes_mean_over_batch():
    loss = MODELS.build(dict(type='ProbAsymmetricLoss'))
    p = torch.rand(4, 3)
    y = (torch.rand(4, 3) > 0.5).float()
    per_entry = loss(p, y, reduction_override='none')
    torch.testing.assert_close(loss(p, y, avg_factor=4), per_entry.sum() / 4)


def test_prob_gradient_at_extremes():
    # just inside the log's bound eps = 1e-5 (below it, as in the lineage's
    # clamp, the gradient is zero)
    p = torch.tensor([[1e-4, 1 - 1e-4]], requires_grad=True)
    y = torch.tensor([[1.0, 0.0]])
    MODELS.build(dict(type='ProbAsymmetricLoss', clip=0.0))(p, y).backward()
    assert torch.isfinite(p.grad).all() and (p.grad.abs() > 0).all()


def test_shape_mismatch():
    with pytest.raises(ValueError, match='same shape'):
        MODELS.build(dict(type='ProbAsymmetricLoss'))(
            torch.rand(2, 3), torch.rand(2, 4))


@pytest.mark.parametrize('key,value', [('gamma_neg', -1.0),
                                       ('gamma_pos', -0.5), ('clip', 1.0),
                                       ('clip', -0.1),
                                       ('gamma_neg', float('nan'))])
@pytest.mark.parametrize('loss_type', ['ProbAsymmetricLoss',
                                       'LogitAsymmetricLoss'])
def test_bad_parameters_name_the_key(loss_type, key, value):
    with pytest.raises(ValueError, match=key):
        MODELS.build({'type': loss_type, key: value})


@pytest.mark.parametrize('loss_type',
                         ['LogitAsymmetricLoss', 'ProbAsymmetricLoss'])
def test_defaults_are_the_authors_query2label_run(loss_type):
    # SADCL's checkpoint/Q2L/ResNet_448_MSCOCO14/config.json: gamma_neg 4,
    # gamma_pos 0, loss_clip 0.0, eps 1e-05, dtgfl true
    loss = MODELS.build(dict(type=loss_type))
    assert (loss.gamma_neg, loss.gamma_pos) == (4.0, 0.0)
    assert loss.clip == 0.0 and loss.eps == 1e-5
    assert loss.detach_focal_weight


def test_no_clip_and_eps_bound_the_loss_of_a_certain_negative():
    # p = 1 on a negative: without a clip the log's argument is 1 - p = 0,
    # bounded by eps: the loss is -log(1e-5) times the focal factor 1
    loss = MODELS.build(dict(type='ProbAsymmetricLoss', reduction='sum'))
    value = loss(torch.ones(1, 1), torch.zeros(1, 1))
    assert value.item() == pytest.approx(-torch.log(torch.tensor(1e-5)).item(),
                                         rel=1e-5)
    # a negative just below p = 0.05 is not clipped away: it has a loss
    assert loss(torch.full((1, 1), 0.04), torch.zeros(1, 1)).item() > 0


def test_head_and_config_losses_are_the_authors_run():
    from mmengine.config import Config
    import os.path as osp
    root = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
    cfg = Config.fromfile(
        osp.join(root, 'configs', '_base_', 'models', 'oprl.py'))
    head = MODELS.build(dict(type='OPRLHead', num_classes=3, in_channels=8))
    for loss in (cfg.model.head.loss, cfg.model.head.aux_loss,
                 MODELS.build(cfg.model.head.loss), head.loss_module,
                 head.aux_loss_module):
        get = loss.get if isinstance(loss, dict) else \
            lambda key: getattr(loss, key)
        assert get('clip') == 0.0 and get('eps') == 1e-5
        assert get('gamma_neg') == 4.0 and get('gamma_pos') == 0.0
