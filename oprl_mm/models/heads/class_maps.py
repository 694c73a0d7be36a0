"""Class maps in the predictions, for the attention-localisation metric.

:class:`ClassMapsMixin` gives a multi-label head ``keep_class_maps``: when
set, ``predict()`` stores each image's class maps (C x h x w, at the
feature map's resolution) in its data sample, as ``class_saliency`` and
``class_attention``, which
:class:`~oprl_mm.evaluation.AttentionLocalization` reads. Training and
``mode='tensor'`` are unchanged, and so are the scores.

Two mmpretrain baselines get their maps through it:

- :class:`CSRAMapHead`: mmpretrain's ``CSRAClsHead``; saliency = the
  normalised class scores of its first CSRA module, attention = their
  softmax at that module's temperature (CSRA's class-specific attention);
- :class:`LinearCAMHead`: mmpretrain's ``MultiLabelLinearClsHead`` that
  pools the feature map itself (global average pooling, as the
  ``GlobalAveragePooling`` neck does), so that its class activation map
  (CAM, Zhou et al. 2016: the classifier applied at every position, whose
  mean is the logit) is at hand; both fields hold the CAM.
"""
from typing import Dict, List, Optional, Tuple

import torch
from mmpretrain.models.heads import CSRAClsHead, MultiLabelLinearClsHead
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample
from torch import Tensor

SALIENCY_KEY = 'class_saliency'
ATTENTION_KEY = 'class_attention'


class ClassMapsMixin:
    """``keep_class_maps`` for a ``MultiLabelClsHead``.

    A head using it implements ``class_maps(feats)``, returning a dict
    with ``logits`` (B x C), ``saliency`` and ``attention`` (B x C x h x w)
    from ONE forward pass, and sets ``self.keep_class_maps``.
    """
    keep_class_maps: bool = False

    def class_maps(self, feats: Tuple[Tensor, ...]) -> Dict[str, Tensor]:
        raise NotImplementedError

    def predict(self,
                feats: Tuple[Tensor, ...],
                data_samples: Optional[List[DataSample]] = None
                ) -> List[DataSample]:
        """The parent's predictions; with ``keep_class_maps`` each data
        sample also holds its ``class_saliency`` and ``class_attention``
        (C x h x w, float32)."""
        if not self.keep_class_maps:
            return super().predict(feats, data_samples)
        outputs = self.class_maps(feats)
        # mmpretrain's MultiLabelClsHead has no public "logits -> samples":
        # predict() would run the head a second time. _get_predictions sets
        # pred_score and pred_label at the head's thr (the one threshold);
        # tests/test_models/test_class_maps.py checks that meaning.
        predictions = self._get_predictions(outputs['logits'], data_samples)
        for sample, saliency, attention in zip(
                predictions, outputs['saliency'].detach().float(),
                outputs['attention'].detach().float()):
            sample.set_field(saliency, SALIENCY_KEY, dtype=torch.Tensor)
            sample.set_field(attention, ATTENTION_KEY, dtype=torch.Tensor)
        return predictions


@MODELS.register_module()
class CSRAMapHead(ClassMapsMixin, CSRAClsHead):
    """mmpretrain's ``CSRAClsHead`` with ``keep_class_maps`` (see
    :class:`ClassMapsMixin`); the scores are the parent's.

    Args:
        keep_class_maps (bool): store the class maps of the first CSRA
            module in the predictions. Defaults to False.
        **kwargs: ``CSRAClsHead``'s arguments.
    """

    def __init__(self, keep_class_maps: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.keep_class_maps = keep_class_maps

    def class_maps(self, feats: Tuple[Tensor, ...]) -> Dict[str, Tensor]:
        feat = self.pre_logits(feats)
        module = self.csra_heads[0]
        # CSRAModule.forward's score: the class scores over the norm of
        # each class's weights
        score = module.head(feat) / torch.norm(
            module.head.weight, dim=1, keepdim=True).transpose(0, 1)
        b, c, h, w = score.shape
        flat = score.flatten(2)
        if module.T == 99:  # max pooling: all weight on the peak
            attention = torch.zeros_like(flat).scatter_(
                -1, flat.argmax(-1, keepdim=True), 1.0)
        else:
            attention = (flat * module.T).softmax(-1)
        return dict(
            logits=self(feats),
            saliency=score,
            attention=attention.reshape(b, c, h, w))


@MODELS.register_module()
class LinearCAMHead(ClassMapsMixin, MultiLabelLinearClsHead):
    """mmpretrain's ``MultiLabelLinearClsHead`` on a feature map: it pools
    the B x D x h x w map by its mean (the ``GlobalAveragePooling`` neck's
    job, which this head replaces) and, with ``keep_class_maps``, keeps the
    class activation map (see :class:`ClassMapsMixin`). A B x D input is
    taken as already pooled.

    Args:
        keep_class_maps (bool): store the CAM in the predictions. Defaults
            to False.
        **kwargs: ``MultiLabelLinearClsHead``'s arguments.
    """

    def __init__(self, keep_class_maps: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.keep_class_maps = keep_class_maps

    def pre_logits(self, feats: Tuple[Tensor, ...]) -> Tensor:
        feat = feats[-1]
        return feat.mean((2, 3)) if feat.dim() == 4 else feat

    def class_maps(self, feats: Tuple[Tensor, ...]) -> Dict[str, Tensor]:
        feat = feats[-1]
        if feat.dim() != 4:
            raise ValueError(
                'LinearCAMHead keeps class maps of a B x D x h x w feature '
                f'map, got a tensor of shape {tuple(feat.shape)}: remove the '
                'pooling neck, the head pools by itself')
        # the classifier at every position; its spatial mean is the logit
        cam = torch.einsum('bdhw,cd->bchw', feat, self.fc.weight) + \
            self.fc.bias[:, None, None]
        return dict(logits=cam.mean((2, 3)), saliency=cam, attention=cam)
