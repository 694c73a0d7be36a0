"""Attention maps of the OPRL head at image resolution, and how much of
them falls inside the objects' boxes (the geometry lives in
:mod:`oprl_mm.evaluation.localization`, beside the metric that uses it)."""
from typing import Dict, List, Optional, Tuple

import torch
from mmengine.dataset import pseudo_collate
from torch import Tensor

from ..evaluation.localization import (AttentionLocalization,  # noqa: F401
                                       box_attention_share, box_pointing_hits,
                                       class_box_masks, upsample_maps)
from ..models.heads import ClassMapsMixin
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


def measure_localization(model,
                         dataset,
                         num_images: Optional[int] = None,
                         batch_size: int = 50,
                         progress: bool = True) -> Tuple[List[dict], int]:
    """:class:`~oprl_mm.evaluation.AttentionLocalization` over the first
    ``num_images`` images of ``dataset``, without a Runner.

    Args:
        model: an ``ImageClassifier`` whose head keeps class maps
            (``OPRLHead``, ``CSRAMapHead``, ``LinearCAMHead``); its
            ``keep_class_maps`` is switched on.
        dataset: a built dataset whose pipeline packs the boxes (see
            :func:`oprl_mm.evaluation.localization.with_region_meta_keys`).
        num_images (int, optional): the first N images; all by default.
        batch_size (int): images per forward pass.
        progress (bool): show a progress bar.

    Returns:
        tuple: the metric's per-image results and the number of images.
    """
    if not isinstance(model.head, ClassMapsMixin):
        raise TypeError(
            f'{type(model.head).__name__} keeps no class maps: the measure '
            'needs OPRLHead, CSRAMapHead or LinearCAMHead')
    model.head.keep_class_maps = True
    metric = AttentionLocalization()
    total = len(dataset) if num_images is None else min(
        num_images, len(dataset))
    starts = range(0, total, batch_size)
    if progress:
        from rich.progress import track
        starts = track(starts, description='localisation')
    for start in starts:
        data = pseudo_collate([
            dataset[i] for i in range(start, min(start + batch_size, total))
        ])
        with torch.no_grad():
            outputs = model.test_step(data)
        metric.process(None, [o.to_dict() for o in outputs])
    return metric.results, total
