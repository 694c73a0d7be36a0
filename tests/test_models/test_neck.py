import pytest
import torch
from mmpretrain.registry import MODELS

import oprl_mm  # noqa: F401
from oprl_mm.models.necks import sine_position_encoding

DEFAULT_ARGS = dict(
    type='TransformerEncoderNeck',
    in_channels=32,
    num_heads=4,
    feedforward_channels=64)


def test_shapes_and_tuple():
    neck = MODELS.build(DEFAULT_ARGS)
    early, last = torch.randn(2, 8, 8, 8), torch.randn(2, 32, 3, 5)
    out = neck((early, last))
    assert isinstance(out, tuple) and len(out) == 2
    assert out[0] is early and out[1].shape == last.shape


def test_global_mixing():
    neck = MODELS.build(DEFAULT_ARGS).eval()
    x = torch.randn(1, 32, 4, 4, requires_grad=True)
    out = neck((x, ))[0]
    # a random projection: the sum of a LayerNorm output is constant
    proj = torch.randn(32)
    grad = torch.autograd.grad((out[0, :, 0, 0] * proj).sum(), x)[0]
    # the top-left token sees the bottom-right one
    assert grad[0, :, 3, 3].abs().sum() > 0


def test_position_encoding():
    pos = sine_position_encoding(3, 4, 16)
    assert pos.shape == (12, 16)
    assert torch.unique(pos, dim=0).shape[0] == 12  # every position differs
    with pytest.raises(ValueError, match='multiple of 4'):
        sine_position_encoding(2, 2, 6)


def test_wrong_channels():
    neck = MODELS.build(DEFAULT_ARGS)
    with pytest.raises(ValueError, match='in_channels = 32'):
        neck((torch.randn(1, 16, 4, 4), ))


def test_vit_without_featmap_gets_the_fix():
    # a ViT left at out_type='cls_token' fails here, before the head
    vit = MODELS.build(
        dict(type='VisionTransformer', arch='deit-tiny', img_size=32,
             patch_size=16, out_type='cls_token'))
    neck = MODELS.build(dict(DEFAULT_ARGS, in_channels=192))
    with pytest.raises(ValueError, match="out_type='featmap'"):
        neck(vit(torch.randn(2, 3, 32, 32)))
    vit.out_type = 'featmap'
    assert neck(vit(torch.randn(2, 3, 32, 32)))[0].shape == (2, 192, 2, 2)


def test_four_heads_by_default_and_in_the_config():
    import os.path as osp
    from mmengine.config import Config
    neck = MODELS.build(dict(type='TransformerEncoderNeck', in_channels=32))
    assert neck.layers[0].attn.num_heads == 4
    root = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
    cfg = Config.fromfile(
        osp.join(root, 'configs', '_base_', 'models', 'oprl.py'))
    assert cfg.model.neck.num_heads == 4


def test_weight_matrices_are_xavier_uniform():
    # DETR's / Query2Label's Transformer._reset_parameters: xavier_uniform_
    # on every parameter with more than one dimension
    torch.manual_seed(0)
    neck = MODELS.build(
        dict(type='TransformerEncoderNeck', in_channels=64,
             feedforward_channels=256))
    layer = neck.layers[0]
    matrices = {
        'in_proj': layer.attn.in_proj_weight,
        'out_proj': layer.attn.out_proj.weight,
        'ffn1': layer.ffn[0].weight,
        'ffn2': layer.ffn[3].weight,
    }
    for name, weight in matrices.items():
        fan_out, fan_in = weight.shape
        bound = (6.0 / (fan_in + fan_out))**0.5
        values = weight.detach().abs()
        assert values.max() <= bound, name
        # uniform in +-bound: the largest draw is close to the bound and
        # the standard deviation is bound / sqrt(3)
        assert values.max() > 0.97 * bound, name
        assert weight.std().item() == pytest.approx(bound / 3**0.5,
                                                    rel=0.05), name
