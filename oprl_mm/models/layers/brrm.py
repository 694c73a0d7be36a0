"""Bidirectional Representation Refinement Module (BRRM), paper Eq. 11-13."""
from typing import Optional

import torch.nn as nn
from torch import Tensor


class Mlp(nn.Sequential):
    """Linear, GELU, Linear over the last dimension."""

    def __init__(self, in_features: int, hidden_features: int):
        super().__init__(
            nn.Linear(in_features, hidden_features), nn.GELU(),
            nn.Linear(hidden_features, in_features))


class BidirectionalRefinement(nn.Module):
    """Dual-path MLP mixing over the representation (r) and category (c) dims.

    The transposes printed in Eq. 11-12 do not type-check; this module
    implements the intent of Sec. 4.4 (as recorded in the project's design
    notes). With X of shape B x C x D, ``mix_r`` an MLP over D and ``mix_c``
    an MLP over C (applied to the transpose)::

        X_0   = LN_in(X)                                        (11)
        P1'   = LN_1(mix_r1(X_0) + X_0)                         (12, path 1)
        P1''  = mix_c1(P1'^T)^T + P1'
        P2'   = LN_2(mix_c2(X_0^T)^T + X_0)                     (12, path 2)
        P2''  = mix_r2(P2') + P2'
        X_bar = (P1'' + P2'') / 2                               (13)

    Eq. 13's X'_1 is read as X''_1, the final output of path 1.

    Args:
        num_classes (int): C.
        embed_dims (int): D.
        r_hidden_ratio (float): hidden width of the r-dim MLPs as a share of
            D. Defaults to 0.25 (D/4).
        c_hidden_ratio (float): hidden width of the c-dim MLPs as a share of
            C. Defaults to 1.0 (C).
        c_hidden_dims (int, optional): a fixed hidden width h of the c-dim
            MLPs, overriding ``c_hidden_ratio``. Each c-dim MLP is then the
            low-rank C -> h -> C, 2 C h multiply-adds per channel instead of
            2 C^2 at the paper's width C: linear in C. Defaults to None.
    """

    def __init__(self,
                 num_classes: int,
                 embed_dims: int,
                 r_hidden_ratio: float = 0.25,
                 c_hidden_ratio: float = 1.0,
                 c_hidden_dims: Optional[int] = None):
        super().__init__()
        if c_hidden_dims is not None and c_hidden_dims < 1:
            raise ValueError(
                f'c_hidden_dims must be >= 1, got {c_hidden_dims}')
        r_hidden = max(1, int(round(embed_dims * r_hidden_ratio)))
        c_hidden = c_hidden_dims or max(
            1, int(round(num_classes * c_hidden_ratio)))
        self.norm_in = nn.LayerNorm(embed_dims)
        self.mix_r1 = Mlp(embed_dims, r_hidden)
        self.norm1 = nn.LayerNorm(embed_dims)
        self.mix_c1 = Mlp(num_classes, c_hidden)
        self.mix_c2 = Mlp(num_classes, c_hidden)
        self.norm2 = nn.LayerNorm(embed_dims)
        self.mix_r2 = Mlp(embed_dims, r_hidden)

    def forward(self, x: Tensor) -> Tensor:
        """
        Args:
            x (Tensor): B x C x D representations X_hat (after SAPM).

        Returns:
            Tensor: B x C x D refined representations X_bar.
        """
        x0 = self.norm_in(x)
        # path 1: representation dimension first, then category dimension
        p1 = self.norm1(self.mix_r1(x0) + x0)
        p1 = self.mix_c1(p1.transpose(1, 2)).transpose(1, 2) + p1
        # path 2: category dimension first, then representation dimension
        p2 = self.norm2(self.mix_c2(x0.transpose(1, 2)).transpose(1, 2) + x0)
        p2 = self.mix_r2(p2) + p2
        return 0.5 * (p1 + p2)
