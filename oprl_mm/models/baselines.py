"""The baselines OPRL is compared with, as mmpretrain model configs.

Each keeps the backbone of the OPRL model it is compared with and replaces
the OPRL head (and, unless ``neck`` is given, the Encoder_t neck):

- ``linear``: global average pooling and mmpretrain's
  ``MultiLabelLinearClsHead``, as :class:`~oprl_mm.models.heads.LinearCAMHead`
  (which pools the map itself, so that its class activation map can be
  kept);
- ``csra``: mmpretrain's ``CSRAClsHead`` on the feature map, one head with
  lambda 0.1 (CSRA's setting for ResNet-101), as
  :class:`~oprl_mm.models.heads.CSRAMapHead` (its class attention can be
  kept).

Both take ``keep_class_maps=True`` for the attention-localisation metric
(:class:`~oprl_mm.evaluation.AttentionLocalization`); the scores are
mmpretrain's heads' own.

With ``neck`` (the OPRL model's Encoder_t config) the baseline head sits
behind the same neck, so that a comparison separates what the neck does
from what OPRL's head does.

``tools/analysis_tools/benchmark.py`` measures their cost and
``tools/analysis_tools/synth_benchmark.py`` trains them.
"""
import copy
from typing import Optional, Tuple

BASELINES = ('linear', 'csra')


def baseline_neck_head(name: str,
                       num_classes: int,
                       in_channels: int,
                       loss: Optional[dict] = None,
                       neck: Optional[dict] = None
                       ) -> Tuple[Optional[dict], dict]:
    """The neck (None for no neck) and head configs of a baseline.

    Args:
        name (str): One of :data:`BASELINES`.
        num_classes (int): Number of classes C.
        in_channels (int): Channels of the backbone's feature map.
        loss (dict, optional): The head's loss; None keeps the head's
            default. Defaults to None.
        neck (dict, optional): A neck that keeps the map's shape (e.g.
            OPRL's ``TransformerEncoderNeck``) to put before the head.
            Defaults to None.
    """
    head = dict(num_classes=num_classes, in_channels=in_channels)
    if loss is not None:
        head['loss'] = loss
    neck = copy.deepcopy(neck)
    if name == 'linear':
        return neck, dict(type='LinearCAMHead', **head)
    if name == 'csra':
        return neck, dict(type='CSRAMapHead', num_heads=1, lam=0.1, **head)
    raise ValueError(f'unknown baseline {name!r}; one of {BASELINES}')


def baseline_model(name: str,
                   model: dict,
                   loss: Optional[dict] = None,
                   keep_neck: bool = False) -> dict:
    """An ``ImageClassifier`` config of a baseline on the backbone of an
    OPRL model config (whose head gives ``num_classes`` and
    ``in_channels``), behind the model's own neck with ``keep_neck``."""
    neck, head = baseline_neck_head(
        name, model['head']['num_classes'], model['head']['in_channels'],
        loss, model.get('neck') if keep_neck else None)
    return dict(
        type='ImageClassifier',
        backbone=copy.deepcopy(model['backbone']),
        neck=neck,
        head=head)
