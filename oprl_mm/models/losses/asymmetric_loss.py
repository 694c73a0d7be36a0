"""Asymmetric loss (ASL) of p_cls and p_aux, paper Eq. 14-16.

ASL is Ridnik et al., "Asymmetric Loss For Multi-Label Classification"
(ICCV 2021); the formula is theirs, the code is this project's. Two entry
points share one function: :class:`LogitAsymmetricLoss` takes logits (p_cls
of Eq. 14 is their sigmoid) and :class:`ProbAsymmetricLoss` takes
probabilities that are already given (p_aux of Eq. 4 is a mean of sigmoids
and has no logit of its own).
"""
from typing import Optional

import torch
import torch.nn as nn
from mmpretrain.models.losses.utils import weight_reduce_loss
from mmpretrain.registry import MODELS
from torch import Tensor


def asymmetric_loss(prob: Tensor,
                    target: Tensor,
                    weight: Optional[Tensor] = None,
                    gamma_pos: float = 0.0,
                    gamma_neg: float = 4.0,
                    clip: float = 0.0,
                    detach_focal_weight: bool = True,
                    reduction: str = 'mean',
                    avg_factor: Optional[float] = None,
                    eps: float = 1e-5) -> Tensor:
    """ASL of probabilities (Eq. 15)::

        p_m  = max(p - clip, 0)                      shifted negative prob
        L+   = -(1 - p)^gamma_pos   * log(p)          for y = 1
        L-   = -p_m^gamma_neg       * log(1 - p_m)    for y = 0

    With ``detach_focal_weight`` the focal factors (1 - p)^gamma_pos and
    p_m^gamma_neg are constants of the backward pass and the gradient flows
    through the log terms only, as ASL's ``disable_torch_grad_focal_loss``
    and the paper's code lineage (Query2Label, SADCL ``--dtgfl``) train;
    a negative then gets dL/dp = p_m^gamma_neg / (1 - p_m) for p > clip.
    Without it (mmpretrain's ``AsymmetricLoss``) the factor's own derivative
    adds gamma_neg * p_m^(gamma_neg - 1) * -log(1 - p_m): a negative's
    gradient grows by 1 + gamma_neg (1 - p_m)(-log(1 - p_m)) / p_m, up to
    5 times at gamma_neg 4 just above the clip, about 2 times at p = 0.95.

    Args:
        prob (Tensor): N x C probabilities in [0, 1].
        target (Tensor): N x C binary targets.
        weight (Tensor, optional): per-sample weight of shape (N, ).
        gamma_pos (float): positive focusing parameter. Defaults to 0.
        gamma_neg (float): negative focusing parameter. Defaults to 4.
        clip (float): probability margin of negatives. Defaults to 0, as
            the authors' own Query2Label run (``loss_clip: 0.0`` in SADCL's
            ``checkpoint/Q2L/ResNet_448_MSCOCO14/config.json``); ASL's own
            default is 0.05.
        detach_focal_weight (bool): no gradient through the focal factor.
            Defaults to True.
        reduction (str): 'none', 'mean' or 'sum'.
        avg_factor (float, optional): divisor of the summed loss.
        eps (float): lower bound of the argument of the log. Defaults to
            1e-5, as that run and Query2Label's ``--eps`` (ASL's: 1e-8).

    Returns:
        Tensor: the loss.
    """
    if prob.shape != target.shape:
        raise ValueError(f'prob {tuple(prob.shape)} and target '
                         f'{tuple(target.shape)} must have the same shape')
    target = target.type_as(prob)
    p_neg = (1 - prob + clip).clamp(max=1) if clip > 0 else 1 - prob
    pt = p_neg * (1 - target) + prob * target
    base = (1 - pt).detach() if detach_focal_weight else 1 - pt
    focal_weight = base.pow(gamma_pos * target + gamma_neg * (1 - target))
    loss = -torch.log(pt.clamp(min=eps)) * focal_weight
    if weight is not None:
        if weight.dim() != 1:
            raise ValueError('weight must be per sample, of shape (N, )')
        weight = weight.float().reshape(-1, 1)
    return weight_reduce_loss(loss, weight, reduction, avg_factor)


@MODELS.register_module()
class ProbAsymmetricLoss(nn.Module):
    """ASL of probabilities (Eq. 15 on p_aux); :func:`asymmetric_loss`.

    ``ProbAsymmetricLoss(detach_focal_weight=False)(sigmoid(x), y)`` equals
    mmpretrain's ``AsymmetricLoss()(x, y)`` in value and gradient; by
    default the focal factor carries no gradient. mmpretrain's
    ``use_sigmoid=False`` means softmax, not "already a probability", and a
    logit() round trip would lose the gradient at the extremes; hence this
    separate loss.

    The defaults are the authors' own Query2Label run on COCO (SADCL's
    ``checkpoint/Q2L/ResNet_448_MSCOCO14/config.json``: ``gamma_neg 4``,
    ``gamma_pos 0``, ``loss_clip 0.0``, ``eps 1e-05``, ``dtgfl true``).

    Args:
        gamma_pos (float): >= 0. Defaults to 0.
        gamma_neg (float): >= 0. Defaults to 4.
        clip (float): in [0, 1). Defaults to 0.
        detach_focal_weight (bool): Defaults to True (the lineage's
            ``--dtgfl``); False restores mmpretrain's behaviour.
        reduction (str): Defaults to 'mean'.
        loss_weight (float): Defaults to 1.
        eps (float): Defaults to 1e-5.
    """

    def __init__(self,
                 gamma_pos: float = 0.0,
                 gamma_neg: float = 4.0,
                 clip: float = 0.0,
                 detach_focal_weight: bool = True,
                 reduction: str = 'mean',
                 loss_weight: float = 1.0,
                 eps: float = 1e-5):
        super().__init__()
        name = type(self).__name__
        for key, value in (('gamma_pos', gamma_pos), ('gamma_neg',
                                                      gamma_neg)):
            if not value >= 0:
                raise ValueError(f'{name}: {key} must be >= 0, got {value}')
        if clip is None:
            clip = 0.0
        if not 0 <= clip < 1:
            raise ValueError(f'{name}: clip must be in [0, 1), got {clip}')
        self.gamma_pos = gamma_pos
        self.gamma_neg = gamma_neg
        self.clip = clip
        self.detach_focal_weight = detach_focal_weight
        self.reduction = reduction
        self.loss_weight = loss_weight
        self.eps = eps

    def to_prob(self, pred: Tensor) -> Tensor:
        """The probabilities the loss is taken of (here, ``pred`` itself)."""
        return pred

    def forward(self,
                pred: Tensor,
                target: Tensor,
                weight: Optional[Tensor] = None,
                avg_factor: Optional[float] = None,
                reduction_override: Optional[str] = None) -> Tensor:
        assert reduction_override in (None, 'none', 'mean', 'sum')
        reduction = reduction_override or self.reduction
        # in float32: under autocast, float16 would round p near 0 and 1
        return self.loss_weight * asymmetric_loss(
            self.to_prob(pred.float()),
            target.float(),
            weight,
            gamma_pos=self.gamma_pos,
            gamma_neg=self.gamma_neg,
            clip=self.clip,
            detach_focal_weight=self.detach_focal_weight,
            reduction=reduction,
            avg_factor=avg_factor,
            eps=self.eps)


@MODELS.register_module()
class LogitAsymmetricLoss(ProbAsymmetricLoss):
    """ASL of logits (Eq. 14-15 on p_cls = sigmoid(logits)).

    Same arguments as :class:`ProbAsymmetricLoss`. With
    ``detach_focal_weight=False`` it equals mmpretrain's ``AsymmetricLoss``
    in value and gradient.
    """

    def to_prob(self, pred: Tensor) -> Tensor:
        return pred.sigmoid()
