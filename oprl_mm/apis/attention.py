"""Attention maps of the OPRL head at image resolution, and how much of
them falls inside the objects' boxes (the geometry lives in
:mod:`oprl_mm.evaluation.localization`, beside the metric that uses it)."""
from typing import Dict

from torch import Tensor

from ..evaluation.localization import (box_attention_share,  # noqa: F401
                                       box_pointing_hits, class_box_masks,
                                       upsample_maps)
from ..models.layers import SpatialPurifiedAttention


def head_maps(model, inputs: Tensor) -> Dict[str, Tensor]:
    """``OPRLHead.forward_outputs`` of a preprocessed batch, plus the plain
    softmax attention of the same saliency (tau = 0).

    Args:
        model: an ``ImageClassifier`` whose head has ``forward_outputs``
            (any backbone whose output is a feature map).
        inputs (Tensor): B x 3 x H x W preprocessed images.

    Returns:
        dict: the head's outputs (``logits``, ``p_aux``, ``saliency``,
        ``attention``) and ``attention_tau0`` (B x C x h x w).
    """
    if not hasattr(model.head, 'forward_outputs'):
        raise TypeError(
            f'{type(model.head).__name__} has no forward_outputs(): '
            'attention maps need an OPRLHead')
    outputs = model.head.forward_outputs(model.extract_feat(inputs))
    saliency = outputs['saliency']
    outputs['attention_tau0'] = SpatialPurifiedAttention(
        0.0).attention_weights(saliency).reshape(saliency.shape)
    return outputs
