"""The baselines OPRL is compared with, as mmpretrain model configs.

Each keeps the backbone of the OPRL model it is compared with and replaces
the Encoder_t neck and the OPRL head:

- ``linear``: global average pooling and mmpretrain's
  ``MultiLabelLinearClsHead``;
- ``csra``: mmpretrain's ``CSRAClsHead`` on the feature map, one head with
  lambda 0.1 (CSRA's setting for ResNet-101).

``tools/analysis_tools/benchmark.py`` measures their cost and
``tools/analysis_tools/synth_benchmark.py`` trains them.
"""
import copy
from typing import Optional, Tuple

BASELINES = ('linear', 'csra')


def baseline_neck_head(name: str,
                       num_classes: int,
                       in_channels: int,
                       loss: Optional[dict] = None
                       ) -> Tuple[Optional[dict], dict]:
    """The neck (None for no neck) and head configs of a baseline.

    Args:
        name (str): One of :data:`BASELINES`.
        num_classes (int): Number of classes C.
        in_channels (int): Channels of the backbone's feature map.
        loss (dict, optional): The head's loss; None keeps the head's
            default. Defaults to None.
    """
    head = dict(num_classes=num_classes, in_channels=in_channels)
    if loss is not None:
        head['loss'] = loss
    if name == 'linear':
        return dict(type='GlobalAveragePooling'), dict(
            type='MultiLabelLinearClsHead', **head)
    if name == 'csra':
        return None, dict(type='CSRAClsHead', num_heads=1, lam=0.1, **head)
    raise ValueError(f'unknown baseline {name!r}; one of {BASELINES}')


def baseline_model(name: str,
                   model: dict,
                   loss: Optional[dict] = None) -> dict:
    """An ``ImageClassifier`` config of a baseline on the backbone of an
    OPRL model config (whose head gives ``num_classes`` and
    ``in_channels``)."""
    neck, head = baseline_neck_head(name, model['head']['num_classes'],
                                    model['head']['in_channels'], loss)
    return dict(
        type='ImageClassifier',
        backbone=copy.deepcopy(model['backbone']),
        neck=neck,
        head=head)
