"""Checkpoints must fit the model: named keys and likely causes, and files
that are not checkpoints named as such."""
import pickle

import pytest
import torch
from mmpretrain.registry import MODELS

import oprl_mm  # noqa: F401
from oprl_mm.engine.strict_load import (CheckpointMismatchError,
                                        load_checkpoint_strict,
                                        read_checkpoint)


def tiny(num_classes=10, base_channels=8):
    torch.manual_seed(0)
    channels = base_channels * 8
    return MODELS.build(
        dict(type='ImageClassifier',
             backbone=dict(type='ResNet',
                           depth=18,
                           stem_channels=8,
                           base_channels=base_channels,
                           out_indices=(3, )),
             neck=dict(type='TransformerEncoderNeck',
                       in_channels=channels,
                       feedforward_channels=32),
             head=dict(type='OPRLHead',
                       num_classes=num_classes,
                       in_channels=channels)))


def save(model_or_state, path, **extra):
    state = model_or_state if isinstance(model_or_state, dict) \
        else model_or_state.state_dict()
    torch.save(dict(state_dict=state, meta={}, **extra), str(path))
    return str(path)


def test_fitting_checkpoint_loads_every_tensor(tmp_path):
    source = tiny()
    source.head.gcn.cooccurrence.fill_(0.25)  # as CooccurrenceHook sets
    path = save(source, tmp_path / 'ok.pth')
    model = tiny()
    load_checkpoint_strict(model, path)
    for key, value in source.state_dict().items():
        assert torch.equal(model.state_dict()[key], value), key
    # DDP's module. prefix is stripped
    path = save({
        f'module.{k}': v
        for k, v in source.state_dict().items()
    }, tmp_path / 'ddp.pth')
    load_checkpoint_strict(tiny(), path)


def test_other_class_count_named(tmp_path):
    # an 8-class checkpoint in a 10-class config printed warnings and then
    # a metrics table (exit 0)
    path = save(tiny(num_classes=8), tmp_path / 'eight.pth')
    with pytest.raises(CheckpointMismatchError) as e:
        load_checkpoint_strict(tiny(num_classes=10), path)
    msg = str(e.value)
    assert path in msg and 'another class count' in msg
    assert 'the checkpoint has 8 classes, the config 10' in msg
    assert 'head.saliency_map.weight (8, 64, 1, 1) vs (10, 64, 1, 1)' in msg
    assert e.value.wrong_shape and not e.value.unexpected


def test_other_backbone_width_named(tmp_path):
    path = save(tiny(base_channels=16), tmp_path / 'wide.pth')
    with pytest.raises(CheckpointMismatchError) as e:
        load_checkpoint_strict(tiny(base_channels=8), path)
    msg = str(e.value)
    assert 'wrong shape' in msg and 'backbone.conv1.weight' not in msg
    assert 'backbone.layer1.0.conv1.weight (16, 8, 3, 3) vs (8, 8, 3, 3)' \
        in msg
    assert 'Likely cause: another config' in msg


def test_missing_cooccurrence_buffer_is_an_error(tmp_path):
    # inference used the identity matrix instead, changing every label
    state = tiny().state_dict()
    del state['head.gcn.cooccurrence']
    path = save(state, tmp_path / 'no_cooc.pth')
    model = tiny()
    before = model.head.gcn.cooccurrence.clone()
    with pytest.raises(CheckpointMismatchError) as e:
        load_checkpoint_strict(model, path)
    msg = str(e.value)
    assert 'head.gcn.cooccurrence' in msg and 'co-occurrence' in msg
    assert e.value.missing == ['head.gcn.cooccurrence']
    assert torch.equal(model.head.gcn.cooccurrence, before)  # untouched


def test_unexpected_keys_named(tmp_path):
    state = tiny().state_dict()
    state['head.extra.weight'] = torch.zeros(3)
    path = save(state, tmp_path / 'extra.pth')
    with pytest.raises(CheckpointMismatchError,
                       match=r'not in the model: head\.extra\.weight'):
        load_checkpoint_strict(tiny(), path)


@pytest.mark.parametrize('content,expected', [
    (b'', 'is an empty file, not a checkpoint'),
    (b'not a checkpoint at all\n', 'is not a PyTorch checkpoint'),
    (bytes(range(256)) * 8, 'is not a PyTorch checkpoint'),
    (b'PK\x03\x04truncated', 'is not a PyTorch checkpoint'),
])
def test_not_a_checkpoint_named(tmp_path, content, expected):
    # an empty file gave a bare EOFError, random bytes 'Unsupported operand'
    path = tmp_path / 'bad.pth'
    path.write_bytes(content)
    with pytest.raises(ValueError) as e:
        read_checkpoint(str(path))
    assert str(path) in str(e.value) and expected in str(e.value)


def test_a_tensor_is_not_a_checkpoint(tmp_path):
    path = tmp_path / 'tensor.pth'
    torch.save(torch.zeros(3), str(path))
    with pytest.raises(ValueError, match='holds a Tensor'):
        read_checkpoint(str(path))


def test_refused_objects_stay_refused(tmp_path):
    path = tmp_path / 'evil.pth'
    torch.save(dict(state_dict={}, x=pickle.PickleError()), str(path))
    with pytest.raises(pickle.UnpicklingError) as e:
        read_checkpoint(str(path))
    assert str(path) in str(e.value)


@pytest.mark.parametrize('key,value', [('resume', True),
                                       ('load_from', 'other.pth')])
def test_runner_load_refuses_a_config_that_would_load_again(
        tmp_path, key, value):
    """``Runner.load_or_resume`` (in ``runner.test()``) would load over the
    strict load: the config must not ask for it."""
    from types import SimpleNamespace

    from mmengine.config import Config

    from oprl_mm.engine.strict_load import runner_load_strict
    runner = SimpleNamespace(cfg=Config({key: value}))
    with pytest.raises(ValueError, match=f'{key}=.*cfg.load_from = None'):
        runner_load_strict(runner, save(tiny(), tmp_path / 'a.pth'))
