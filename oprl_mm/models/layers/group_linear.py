"""Group-wise linear classifier, paper Eq. 14."""
import math

import torch
import torch.nn as nn
from torch import Tensor


class GroupWiseLinear(nn.Module):
    """One linear classifier per class: ``logit_c = W_c . x_c + b_c`` (Eq. 14).

    Each class scores its own representation x_c with its own weights, the
    group-wise linear layer of Query2Label (Liu et al., "Query2Label: A
    Simple Transformer Way to Multi-Label Classification", 2021), written
    here as one broadcast product over all classes.

    Args:
        num_classes (int): C.
        embed_dims (int): D.
    """

    def __init__(self, num_classes: int, embed_dims: int):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(num_classes, embed_dims))
        self.bias = nn.Parameter(torch.empty(num_classes))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1.0 / math.sqrt(self.weight.size(1))
        nn.init.uniform_(self.weight, -bound, bound)
        nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, x: Tensor) -> Tensor:
        """
        Args:
            x (Tensor): B x C x D representations.

        Returns:
            Tensor: B x C logits.
        """
        return (x * self.weight).sum(dim=-1) + self.bias
