"""Attention maps of the OPRL head at image resolution, and how much of
them falls inside the objects' boxes."""
from typing import Dict, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

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


def upsample_maps(maps: Tensor, size: Tuple[int, int],
                  normalise: bool = False) -> Tensor:
    """Bilinear resize of B x C x h x w maps to ``size`` (H, W).

    With ``normalise`` each map is clamped at 0 and divided by its sum, so
    that it is again a distribution over the image's pixels.
    """
    out = F.interpolate(
        maps.float(), size=tuple(size), mode='bilinear', align_corners=False)
    if normalise:
        out = out.clamp(min=0)
        out = out / out.flatten(2).sum(-1).clamp(min=1e-12)[..., None, None]
    return out


def class_box_masks(bboxes: Sequence[Tensor], labels: Sequence[Tensor],
                    num_classes: int, size: Tuple[int, int]) -> Tensor:
    """B x C x H x W boolean masks: pixels inside a box of each class.

    A pixel belongs to a box x1 y1 x2 y2 (pixels) when its centre does.

    Args:
        bboxes (Sequence[Tensor]): per image, N_i x 4 boxes.
        labels (Sequence[Tensor]): per image, N_i class indices.
        num_classes (int): C.
        size (tuple[int, int]): (H, W) of the masks.
    """
    batch = len(bboxes)
    height, width = size
    most = max([len(b) for b in bboxes] + [1])
    boxes = torch.zeros(batch, most, 4)
    onehot = torch.zeros(batch, most, num_classes)
    for i, (box, label) in enumerate(zip(bboxes, labels)):
        box = torch.as_tensor(box, dtype=torch.float32).reshape(-1, 4)
        label = torch.as_tensor(label, dtype=torch.long).reshape(-1)
        boxes[i, :len(box)] = box
        onehot[i, torch.arange(len(label)), label] = 1
    ys = torch.arange(height, dtype=torch.float32) + 0.5
    xs = torch.arange(width, dtype=torch.float32) + 0.5
    x1, y1, x2, y2 = (boxes[..., j, None] for j in range(4))  # B x N x 1
    inside_y = (ys >= y1) & (ys <= y2)  # B x N x H
    inside_x = (xs >= x1) & (xs <= x2)  # B x N x W
    # contract the separable box masks directly: no B x N x H x W tensor
    return torch.einsum('bnc,bnh,bnw->bchw', onehot, inside_y.float(),
                        inside_x.float()) > 0


def box_attention_share(maps: Tensor, masks: Tensor) -> Tensor:
    """B x C share of each (image-resolution, normalised) map inside its
    class's boxes: sum of the weights over the mask pixels."""
    return (maps * masks).flatten(2).sum(-1)


def box_pointing_hits(maps: Tensor, masks: Tensor) -> Tensor:
    """B x C booleans: whether each map's arg-max pixel is inside a box of
    its class (the pointing game)."""
    peak = maps.flatten(2).argmax(-1, keepdim=True)
    return masks.flatten(2).gather(-1, peak).squeeze(-1)
