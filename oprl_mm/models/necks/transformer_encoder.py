"""Encoder_t: one transformer encoder layer over the feature map (Eq. 2)."""
import math
from typing import Optional, Tuple

import torch
import torch.nn as nn
from mmengine.model import BaseModule
from mmpretrain.registry import MODELS
from torch import Tensor


def sine_position_encoding(height: int,
                           width: int,
                           embed_dims: int,
                           temperature: float = 10000.,
                           device=None,
                           dtype=torch.float32) -> Tensor:
    """Fixed 2-D sine positional encoding, (H*W) x D.

    The first D/2 channels encode the row, the last D/2 the column; each half
    alternates sin and cos over geometric frequencies (the 2-D extension of
    Vaswani et al.'s encoding, as in DETR), with coordinates normalised to
    (0, 2*pi].

    Args:
        height (int): H.
        width (int): W.
        embed_dims (int): D, a multiple of 4.
        temperature (float): frequency base. Defaults to 10000.
    """
    if embed_dims % 4 != 0:
        raise ValueError(
            f'embed_dims must be a multiple of 4 for the 2-D sine encoding, '
            f'got {embed_dims}')
    num_feats = embed_dims // 2
    scale = 2 * math.pi
    y = torch.arange(1, height + 1, device=device, dtype=torch.float32)
    x = torch.arange(1, width + 1, device=device, dtype=torch.float32)
    y = y / height * scale
    x = x / width * scale
    dim_t = torch.arange(num_feats, device=device, dtype=torch.float32)
    dim_t = temperature**(2 * (dim_t // 2) / num_feats)
    pos_y = y[:, None] / dim_t  # H x D/2
    pos_x = x[:, None] / dim_t  # W x D/2
    pos_y = torch.stack((pos_y[:, 0::2].sin(), pos_y[:, 1::2].cos()),
                        dim=2).flatten(1)
    pos_x = torch.stack((pos_x[:, 0::2].sin(), pos_x[:, 1::2].cos()),
                        dim=2).flatten(1)
    pos = torch.cat((pos_y[:, None, :].expand(height, width, num_feats),
                     pos_x[None, :, :].expand(height, width, num_feats)),
                    dim=2)
    return pos.reshape(height * width, embed_dims).to(dtype)


@MODELS.register_module()
class TransformerEncoderNeck(BaseModule):
    """Encoder_t of Eq. 2: F_bar = Encoder_t(F).

    The last feature map (B x D x H x W) is flattened to H*W tokens and passed
    through ``num_layers`` post-norm transformer encoder layers (the paper
    uses one); the 2-D sine positional encoding is added to queries and keys
    only, as in DETR's encoder. The output is reshaped back to B x D x H x W.
    Earlier feature maps of the tuple pass through unchanged.

    Initialisation: every weight matrix of the encoder layers (the stacked
    query/key/value projection, the attention output projection and both
    feed-forward maps) is xavier-uniform, as DETR's and Query2Label's
    ``Transformer._reset_parameters`` initialise theirs; biases and
    LayerNorms keep torch's defaults, as there.

    Backbones returning a token sequence (ViT with ``out_type='featmap'``
    already returns a map) are not supported: choose a backbone output that
    is a feature map.

    Args:
        in_channels (int): D, the channels of the last feature map.
        num_heads (int): attention heads. Defaults to 4, Query2Label's
            ``--nheads`` default and the authors' own COCO runs (``nheads:
            4`` in SADCL's ``checkpoint/*/ResNet_448_MSCOCO14/config.json``).
        feedforward_channels (int): width of the FFN. Defaults to 1280, the
            width at which OPRL-R101 has Table 8's 86 M parameters and
            34.7 G (thop) multiply-adds (docs/fidelity.md); the paper does
            not give it.
        num_layers (int): encoder layers. Defaults to 1.
        dropout (float): dropout of attention and FFN. Defaults to 0.1.
        init_cfg (dict, optional): initialisation config.
    """

    def __init__(self,
                 in_channels: int,
                 num_heads: int = 4,
                 feedforward_channels: int = 1280,
                 num_layers: int = 1,
                 dropout: float = 0.1,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        self.in_channels = in_channels
        self.layers = nn.ModuleList(
            EncoderLayer(in_channels, num_heads, feedforward_channels,
                         dropout) for _ in range(num_layers))

    def forward(self, inputs: Tuple[Tensor, ...]) -> Tuple[Tensor, ...]:
        if not isinstance(inputs, (tuple, list)):
            inputs = (inputs, )
        feat = inputs[-1]
        if feat.dim() != 4 or feat.size(1) != self.in_channels:
            # a ViT without out_type='featmap' gives B x D (its class token)
            advice = ("; for a ViT, set the backbone's out_type='featmap'"
                      if feat.dim() != 4 else
                      '; set in_channels to the backbone\'s output channels')
            raise ValueError(
                'TransformerEncoderNeck expects a B x D x H x W map with '
                f'D = in_channels = {self.in_channels}, got '
                f'{tuple(feat.shape)}{advice}')
        b, d, h, w = feat.shape
        pos = sine_position_encoding(
            h, w, d, device=feat.device, dtype=feat.dtype)
        tokens = feat.flatten(2).transpose(1, 2)  # B x N x D
        for layer in self.layers:
            tokens = layer(tokens, pos)
        out = tokens.transpose(1, 2).reshape(b, d, h, w)
        return tuple(inputs[:-1]) + (out, )


class EncoderLayer(nn.Module):
    """Post-norm encoder layer with the position added to queries and keys.

    The layout of DETR's encoder layer (Carion et al., "End-to-End Object
    Detection with Transformers", ECCV 2020), which Query2Label also uses:
    self-attention and a ReLU feed-forward network, each followed by dropout,
    a residual connection and LayerNorm; the positional encoding enters the
    queries and keys only.

    Why not mmcv's ``BaseTransformerLayer`` (mmcv-lite 2.2.0) with
    ``operation_order=('self_attn', 'norm', 'ffn', 'norm')``: it computes
    this layer, the same weights giving the same outputs within 1e-6 in
    eval and train mode, but it changes what the counters behind Table 8
    see. Its ``FFN`` is built of ``mmcv.cnn.Linear``, a subclass of
    ``nn.Linear`` that thop (which matches module types exactly) does not
    count: OPRL-R101's 34.7 G multiply-adds at 448 would drop by the FFN's
    2 N D F = 2 x 196 x 2048 x 1280 = 1.03 G. Its ``MultiheadAttention`` calls torch's with the default
    ``need_weights=True``, which forms the head-averaged attention weights
    instead of taking the fused ``scaled_dot_product_attention`` path, a
    different graph for mmengine's counter and more work per forward. It
    would also rename every parameter (``attn.*`` ->
    ``attentions.0.attn.*``, ``ffn.0.*`` -> ``ffns.0.layers.0.0.*`` ...).
    ``test_mmcv_bricks_compute_the_same_layer`` and
    ``test_mmcv_bricks_count_differently`` in
    ``tests/test_models/test_neck.py`` show it.
    """

    def __init__(self, embed_dims: int, num_heads: int,
                 feedforward_channels: int, dropout: float):
        super().__init__()
        self.attn = nn.MultiheadAttention(
            embed_dims, num_heads, dropout=dropout, batch_first=True)
        self.ffn = nn.Sequential(
            nn.Linear(embed_dims, feedforward_channels), nn.ReLU(inplace=True),
            nn.Dropout(dropout), nn.Linear(feedforward_channels, embed_dims))
        self.norm1 = nn.LayerNorm(embed_dims)
        self.norm2 = nn.LayerNorm(embed_dims)
        self.drop1 = nn.Dropout(dropout)
        self.drop2 = nn.Dropout(dropout)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Xavier-uniform weight matrices, as DETR and Query2Label."""
        for param in self.parameters():
            if param.dim() > 1:
                nn.init.xavier_uniform_(param)

    def forward(self, x: Tensor, pos: Tensor) -> Tensor:
        q = k = x + pos
        x = self.norm1(x + self.drop1(self.attn(q, k, x, need_weights=False)[0]))
        return self.norm2(x + self.drop2(self.ffn(x)))
