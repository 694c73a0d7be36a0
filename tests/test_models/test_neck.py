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
