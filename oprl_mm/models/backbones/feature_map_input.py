"""The identity backbone of models trained on cached feature maps."""
from typing import Tuple

import torch
from mmpretrain.models.backbones.base_backbone import BaseBackbone
from mmpretrain.registry import MODELS


@MODELS.register_module()
class FeatureMapInput(BaseBackbone):
    """Pass a batch of feature maps on, as a backbone's single output.

    The backbone of a model whose inputs are a frozen backbone's feature
    maps, precomputed by the ``BackboneFeatureCache`` dataset: the neck and
    head then train as they would behind the frozen backbone itself, without
    running it. No parameters.

    Shapes: ``x`` (B, C, h, w) -> ``(x, )``.
    """

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor]:
        return (x, )
