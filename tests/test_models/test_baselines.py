import pytest
import torch
from mmengine.registry import init_default_scope
from mmpretrain.registry import MODELS

import oprl_mm  # noqa: F401
from oprl_mm.models.baselines import (BASELINES, baseline_model,
                                      baseline_neck_head)

OPRL = dict(
    type='ImageClassifier',
    backbone=dict(type='ResNet', depth=18, stem_channels=8, base_channels=8,
                  out_indices=(3, )),
    neck=dict(type='TransformerEncoderNeck', in_channels=64,
              feedforward_channels=32),
    head=dict(type='OPRLHead', num_classes=5, in_channels=64))


@pytest.mark.parametrize('name', BASELINES)
def test_baseline_keeps_backbone_and_drops_oprl(name):
    init_default_scope('mmpretrain')
    cfg = baseline_model(name, OPRL)
    assert cfg['backbone'] == OPRL['backbone']
    assert cfg['backbone'] is not OPRL['backbone']
    model = MODELS.build(cfg)
    assert type(model.head).__name__ != 'OPRLHead'
    assert not any('TransformerEncoder' in type(m).__name__
                   for m in model.modules())
    assert model(torch.randn(2, 3, 32, 32), mode='tensor').shape == (2, 5)


def test_loss_is_passed_on_and_default_kept():
    loss = dict(type='AsymmetricLoss', gamma_neg=4.0)
    for name in BASELINES:
        assert baseline_neck_head(name, 5, 64, loss)[1]['loss'] == loss
        assert 'loss' not in baseline_neck_head(name, 5, 64)[1]
    neck, head = baseline_neck_head('csra', 5, 64)
    assert neck is None and head['num_heads'] == 1 and head['lam'] == 0.1


def test_unknown_baseline():
    with pytest.raises(ValueError, match='linear'):
        baseline_neck_head('mlp', 5, 64)


@pytest.mark.parametrize('name', BASELINES)
def test_baseline_behind_the_oprl_neck(name):
    init_default_scope('mmpretrain')
    cfg = baseline_model(name, OPRL, keep_neck=True)
    model = MODELS.build(cfg)
    assert type(model.head).__name__ != 'OPRLHead'
    necks = [m for m in model.modules()
             if type(m).__name__ == 'TransformerEncoderNeck']
    assert len(necks) == 1
    # the neck config is copied, not shared
    neck = cfg['neck']
    assert neck == OPRL['neck'] and neck is not OPRL['neck']
    assert model(torch.randn(2, 3, 32, 32), mode='tensor').shape == (2, 5)
