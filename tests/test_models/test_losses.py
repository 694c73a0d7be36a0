import pytest
import torch
from mmpretrain.registry import MODELS

import oprl_mm  # noqa: F401


@pytest.mark.parametrize('cfg', [
    dict(),
    dict(gamma_pos=1.0, gamma_neg=4.0, clip=0.05),
    dict(gamma_pos=0.0, gamma_neg=2.0, clip=0.0),
])
def test_prob_asl_equals_mmpretrain_asl_on_sigmoid(cfg):
    torch.manual_seed(0)
    logits = torch.randn(6, 5) * 3
    target = (torch.rand(6, 5) > 0.6).float()
    x1 = logits.clone().requires_grad_()
    x2 = logits.clone().requires_grad_()
    ref = MODELS.build(dict(type='AsymmetricLoss', **cfg))(
        x1, target, avg_factor=6)
    ours = MODELS.build(dict(type='ProbAsymmetricLoss', **cfg))(
        x2.sigmoid(), target, avg_factor=6)
    torch.testing.assert_close(ours, ref)
    ref.backward()
    ours.backward()
    torch.testing.assert_close(x2.grad, x1.grad)


def test_prob_asl_reduction_is_sum_over_classes_mean_over_batch():
    loss = MODELS.build(dict(type='ProbAsymmetricLoss'))
    p = torch.rand(4, 3)
    y = (torch.rand(4, 3) > 0.5).float()
    per_entry = loss(p, y, reduction_override='none')
    torch.testing.assert_close(loss(p, y, avg_factor=4), per_entry.sum() / 4)


def test_prob_asl_gradient_at_extremes():
    p = torch.tensor([[1e-6, 1 - 1e-6]], requires_grad=True)
    y = torch.tensor([[1.0, 0.0]])
    MODELS.build(dict(type='ProbAsymmetricLoss', clip=0.0))(p, y).backward()
    assert torch.isfinite(p.grad).all() and (p.grad.abs() > 0).all()


def test_prob_asl_shape_mismatch():
    with pytest.raises(ValueError, match='same shape'):
        MODELS.build(dict(type='ProbAsymmetricLoss'))(
            torch.rand(2, 3), torch.rand(2, 4))
