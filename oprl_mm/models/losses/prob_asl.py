"""Asymmetric loss on probabilities (paper Eq. 15)."""
from typing import Optional

import torch
import torch.nn as nn
from mmpretrain.models.losses.utils import weight_reduce_loss
from mmpretrain.registry import MODELS
from torch import Tensor


def prob_asymmetric_loss(prob: Tensor,
                         target: Tensor,
                         weight: Optional[Tensor] = None,
                         gamma_pos: float = 0.0,
                         gamma_neg: float = 4.0,
                         clip: float = 0.05,
                         reduction: str = 'mean',
                         avg_factor: Optional[float] = None,
                         eps: float = 1e-8) -> Tensor:
    """ASL (Ridnik et al., ICCV 2021) of probabilities that are already given.

    Same formula as mmpretrain's ``asymmetric_loss`` with ``use_sigmoid=True``
    but without the sigmoid: the input is p itself, e.g. p_aux of Eq. 4,
    which is a mean of sigmoids and has no logit of its own.

    Args:
        prob (Tensor): N x C probabilities in [0, 1].
        target (Tensor): N x C binary targets.
        weight (Tensor, optional): per-sample weight of shape (N, ).
        gamma_pos (float): positive focusing parameter. Defaults to 0.
        gamma_neg (float): negative focusing parameter. Defaults to 4.
        clip (float): probability margin for negatives. Defaults to 0.05.
        reduction (str): 'none', 'mean' or 'sum'.
        avg_factor (float, optional): divisor of the summed loss.
        eps (float): lower bound of the argument of the log.

    Returns:
        Tensor: the loss.
    """
    if prob.shape != target.shape:
        raise ValueError(f'prob {tuple(prob.shape)} and target '
                         f'{tuple(target.shape)} must have the same shape')
    target = target.type_as(prob)
    if clip and clip > 0:
        p_neg = (1 - prob + clip).clamp(max=1)
    else:
        p_neg = 1 - prob
    pt = p_neg * (1 - target) + prob * target
    asymmetric_weight = (1 - pt).pow(gamma_pos * target + gamma_neg *
                                     (1 - target))
    loss = -torch.log(pt.clamp(min=eps)) * asymmetric_weight
    if weight is not None:
        if weight.dim() != 1:
            raise ValueError('weight must be per sample, of shape (N, )')
        weight = weight.float().reshape(-1, 1)
    return weight_reduce_loss(loss, weight, reduction, avg_factor)


@MODELS.register_module()
class ProbAsymmetricLoss(nn.Module):
    """Registered module of :func:`prob_asymmetric_loss`.

    ``ProbAsymmetricLoss()(sigmoid(x), y)`` equals mmpretrain's
    ``AsymmetricLoss()(x, y)`` in value and gradient. mmpretrain's
    ``use_sigmoid=False`` means softmax, not "already a probability", and a
    logit() round trip would lose the gradient at the extremes; hence this
    separate loss.

    Args:
        gamma_pos (float): Defaults to 0.
        gamma_neg (float): Defaults to 4.
        clip (float): Defaults to 0.05.
        reduction (str): Defaults to 'mean'.
        loss_weight (float): Defaults to 1.
        eps (float): Defaults to 1e-8.
    """

    def __init__(self,
                 gamma_pos: float = 0.0,
                 gamma_neg: float = 4.0,
                 clip: float = 0.05,
                 reduction: str = 'mean',
                 loss_weight: float = 1.0,
                 eps: float = 1e-8):
        super().__init__()
        self.gamma_pos = gamma_pos
        self.gamma_neg = gamma_neg
        self.clip = clip
        self.reduction = reduction
        self.loss_weight = loss_weight
        self.eps = eps

    def forward(self,
                prob: Tensor,
                target: Tensor,
                weight: Optional[Tensor] = None,
                avg_factor: Optional[float] = None,
                reduction_override: Optional[str] = None) -> Tensor:
        assert reduction_override in (None, 'none', 'mean', 'sum')
        reduction = reduction_override or self.reduction
        return self.loss_weight * prob_asymmetric_loss(
            prob,
            target,
            weight,
            gamma_pos=self.gamma_pos,
            gamma_neg=self.gamma_neg,
            clip=self.clip,
            reduction=reduction,
            avg_factor=avg_factor,
            eps=self.eps)
