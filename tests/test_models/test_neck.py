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


def mmcv_encoder_layer(embed_dims, num_heads, feedforward_channels, dropout):
    """DETR's post-norm layer as mmcv's bricks express it."""
    from mmcv.cnn.bricks.transformer import BaseTransformerLayer
    return BaseTransformerLayer(
        attn_cfgs=dict(
            type='MultiheadAttention', embed_dims=embed_dims,
            num_heads=num_heads, attn_drop=dropout, proj_drop=0.,
            dropout_layer=dict(type='Dropout', drop_prob=dropout),
            batch_first=True),
        ffn_cfgs=dict(
            type='FFN', embed_dims=embed_dims,
            feedforward_channels=feedforward_channels, num_fcs=2,
            ffn_drop=dropout, act_cfg=dict(type='ReLU', inplace=True),
            dropout_layer=None, add_identity=True),
        operation_order=('self_attn', 'norm', 'ffn', 'norm'),
        norm_cfg=dict(type='LN'), batch_first=True)


# our EncoderLayer's keys -> mmcv's BaseTransformerLayer's
MMCV_KEYS = (('attn.', 'attentions.0.attn.'), ('ffn.0.', 'ffns.0.layers.0.0.'),
             ('ffn.3.', 'ffns.0.layers.1.'), ('norm1.', 'norms.0.'),
             ('norm2.', 'norms.1.'))


def to_mmcv_keys(state_dict):
    renamed = {}
    for key, value in state_dict.items():
        old, new = next(pair for pair in MMCV_KEYS if key.startswith(pair[0]))
        renamed[new + key[len(old):]] = value
    return renamed


def both_layers(dims=32, ffn=64):
    """Our EncoderLayer and mmcv's, with the same weights, in eval mode."""
    from oprl_mm.models.necks.transformer_encoder import EncoderLayer
    torch.manual_seed(0)
    ours = EncoderLayer(dims, 4, ffn, 0.1).eval()
    theirs = mmcv_encoder_layer(dims, 4, ffn, 0.1).eval()
    theirs.load_state_dict(to_mmcv_keys(ours.state_dict()))
    return ours, theirs


class Call(torch.nn.Module):
    """One signature (tokens, position) for both layers, for the counters."""

    def __init__(self, layer, mmcv):
        super().__init__()
        self.layer, self.mmcv = layer, mmcv

    def forward(self, x, pos):
        return self.layer(x, query_pos=pos) if self.mmcv else \
            self.layer(x, pos)


def test_mmcv_bricks_compute_the_same_layer():
    """mmcv's BaseTransformerLayer expresses DETR's post-norm layer: the
    same weights give the same outputs, dropout included (the same random
    draws in the same order). EncoderLayer's docstring says why it is kept
    all the same (next test)."""
    ours, theirs = both_layers()
    x, pos = torch.randn(2, 12, 32), torch.randn(12, 32)
    torch.testing.assert_close(
        theirs(x, query_pos=pos), ours(x, pos), rtol=0, atol=1e-6)
    ours.train(), theirs.train()
    torch.manual_seed(1)
    expected = ours(x, pos)
    torch.manual_seed(1)
    torch.testing.assert_close(
        theirs(x, query_pos=pos), expected, rtol=0, atol=1e-6)


def test_mmcv_bricks_count_differently():
    """thop does not count mmcv's FFN (Table 8's figure would fall), and
    mmcv's attention asks torch for the attention weights, so mmengine's
    counter sees another graph (no fused attention)."""
    thop = pytest.importorskip('thop')
    from mmengine.analysis import FlopAnalyzer
    dims, ffn, tokens = 32, 64, 12
    ours, theirs = both_layers(dims, ffn)
    x, pos = torch.randn(1, tokens, dims), torch.randn(tokens, dims)
    ours_macs = thop.profile(Call(ours, False), (x, pos), verbose=False)[0]
    theirs_macs = thop.profile(Call(theirs, True), (x, pos), verbose=False)[0]
    # mmcv's FFN is built of mmcv.cnn.Linear, a subclass thop does not match
    assert ours_macs - theirs_macs == 2 * tokens * dims * ffn

    def uncounted(module):
        analyzer = FlopAnalyzer(module, (x, pos))
        analyzer.total()
        return analyzer.unsupported_ops()

    fused = 'aten::scaled_dot_product_attention'
    assert fused in uncounted(Call(ours, False))
    assert fused not in uncounted(Call(theirs, True))
