"""Runner checkpoints reload and resume under torch.load(weights_only=True);
crafted pickles are refused."""
import copy
import io
import os
import pickle

import pytest
import torch
from mmengine.logging import HistoryBuffer
from mmengine.runner import Runner

import oprl_mm  # noqa: F401


@pytest.fixture(scope='module')
def trained(tmp_path_factory, tiny_data, tiny_cfg):
    root = tiny_data
    work_dir = tmp_path_factory.mktemp('work')
    cfg = tiny_cfg(root, work_dir)
    runner = Runner.from_cfg(copy.deepcopy(cfg))
    runner.train()
    return root, work_dir, cfg, runner


def test_checkpoint_loads_with_weights_only(trained):
    _, work_dir, _, runner = trained
    ckpt = torch.load(work_dir / 'epoch_2.pth', weights_only=True)
    assert {'state_dict', 'message_hub', 'param_schedulers',
            'ema_state_dict', 'optimizer'} <= set(ckpt)
    a = ckpt['state_dict']['head.gcn.cooccurrence']
    assert not torch.equal(a, torch.eye(3))  # A from the labels, not eye
    # the EMA copy holds the same A
    assert torch.equal(ckpt['ema_state_dict']['module.head.gcn.cooccurrence'],
                       a)


def test_resume_under_weights_only(trained):
    root, work_dir, cfg, _ = trained
    cfg = copy.deepcopy(cfg)
    cfg.train_cfg.max_epochs = 3
    cfg.param_scheduler.end = 3
    cfg.resume = True
    cfg.load_from = str(work_dir / 'epoch_2.pth')
    cfg.work_dir = str(work_dir / 'resumed')
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert runner.epoch == 3
    assert os.path.isfile(work_dir / 'resumed' / 'epoch_3.pth')


class Evil:

    def __init__(self, func, args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


def crafted(obj):
    buf = io.BytesIO()
    torch.save({'state_dict': {}, 'x': obj}, buf)
    buf.seek(0)
    return buf


@pytest.mark.parametrize('payload', [
    Evil(os.system, ('echo pwned', )),
    Evil(getattr, (HistoryBuffer, '__init__')),
    Evil(getattr, (HistoryBuffer, 'min', None)),
    Evil(eval, ('1 + 1', )),
])
def test_crafted_pickles_are_refused(payload):
    with pytest.raises(pickle.UnpicklingError):
        torch.load(crafted(payload), weights_only=True)


def test_allowed_getattr_pairs_resolve():
    obj = torch.load(
        crafted(Evil(getattr, (HistoryBuffer, 'mean'))), weights_only=True)
    assert obj['x'] is HistoryBuffer.mean
