"""Spatial-Purified Attention (SPA), paper Eq. 6-7."""
import math
from typing import Tuple

import torch
import torch.nn as nn
from torch import Tensor


def num_kept_positions(num_positions: int, filter_ratio: float) -> int:
    """How many of N positions SPA keeps: N - floor(tau * N), at least 1.

    tau is the share of positions removed (Eq. 6; "the median removes half"):
    98 of 196 are kept at tau = 0.5, 20 of 196 at tau = 0.9, and the maximum
    alone at tau = 1. A tolerance of 1e-9 keeps floating-point products such
    as 0.29 * 100 = 28.999999999999996 on the intended integer.
    """
    removed = math.floor(filter_ratio * num_positions + 1e-9)
    return max(num_positions - removed, 1)


def spatial_quantile(saliency: Tensor, filter_ratio: float) -> Tensor:
    """The threshold z_tau of every saliency map, over its N = H*W positions.

    z_tau is the k-th largest value of each map with k =
    ``num_kept_positions(N, tau)``, so ``s >= z_tau`` keeps k positions (more
    only where values tie at z_tau) and always keeps the maximum. Computed
    for all B x C maps at once with ``topk``, which, unlike ``kthvalue``,
    exports to ONNX (TopK), so the exported graph keeps the same positions.

    Args:
        saliency (Tensor): B x C x N saliency values.
        filter_ratio (float): tau in [0, 1].

    Returns:
        Tensor: B x C x 1 thresholds.
    """
    k = num_kept_positions(saliency.size(-1), filter_ratio)
    return saliency.topk(k, dim=-1, sorted=True).values[..., -1:]


class SpatialPurifiedAttention(nn.Module):
    """Spatial-Purified Attention: class-wise pooling over salient positions.

    For each image and class c (paper Eq. 6-7)::

        s'[c, n] = s[c, n]  if s[c, n] >= z_tau(S_c)  else  -inf     (6)
        x_c      = sum_n softmax_n(s'[c, :]) * F_hat[:, n]            (7)

    where z_tau is the tau-quantile of S_c over the N = H*W positions, read
    as: floor(tau * N) positions are removed and the other N - floor(tau * N)
    kept (at least one, the maximum; :func:`num_kept_positions`). tau = 0
    keeps every position (plain softmax-weighted pooling); at tau = 1 only
    the maximum survives and x_c becomes F_hat at the arg-max. Ties at the
    threshold are kept, so a constant map keeps all positions and the softmax
    never sees a row that is all -inf.

    The mask is computed on the raw saliency S (not on sigmoid(S)); sigmoid
    is monotonic, so both give the same positions.

    Args:
        filter_ratio (float): tau, the share of positions filtered out of
            every map. Defaults to 0.5 (the paper's median).
    """

    def __init__(self, filter_ratio: float = 0.5):
        super().__init__()
        if not 0.0 <= filter_ratio <= 1.0:
            raise ValueError(
                f'filter_ratio (tau) must be in [0, 1], got {filter_ratio}')
        self.filter_ratio = filter_ratio

    def attention_weights(self, saliency: Tensor) -> Tensor:
        """Softmax weights after masking (Eq. 6 and the top of Eq. 7).

        Args:
            saliency (Tensor): B x C x H x W saliency S.

        Returns:
            Tensor: B x C x (H*W) weights; each row sums to 1, masked
            positions are exactly 0.
        """
        s = saliency.flatten(2)
        if self.filter_ratio > 0:
            z_tau = spatial_quantile(s.detach(), self.filter_ratio)
            s = s.masked_fill(s < z_tau, float('-inf'))
        return s.softmax(dim=-1)

    def forward(self, saliency: Tensor,
                features: Tensor) -> Tuple[Tensor, Tensor]:
        """Pool features into one representation per class (Eq. 6-7).

        Args:
            saliency (Tensor): B x C x H x W saliency S (Eq. 3).
            features (Tensor): B x D x H x W enriched features F_hat (Eq. 5).

        Returns:
            tuple[Tensor, Tensor]: the B x C x D label-aware representations
            X and the B x C x (H*W) attention weights after masking.
        """
        if saliency.shape[-2:] != features.shape[-2:] or \
                saliency.size(0) != features.size(0):
            raise ValueError(
                'saliency (B x C x H x W) and features (B x D x H x W) must '
                f'share B, H and W, got {tuple(saliency.shape)} and '
                f'{tuple(features.shape)}')
        weights = self.attention_weights(saliency)
        return self.pool(weights, features), weights

    @staticmethod
    def pool(weights: Tensor, features: Tensor) -> Tensor:
        """Weighted average pooling of Eq. 7 (bottom).

        Args:
            weights (Tensor): B x C x (H*W) attention weights.
            features (Tensor): B x D x H x W features F_hat.

        Returns:
            Tensor: B x C x D.
        """
        # B x C x N @ B x N x D -> B x C x D
        return torch.bmm(weights, features.flatten(2).transpose(1, 2))

    def extra_repr(self) -> str:
        return f'filter_ratio={self.filter_ratio}'
