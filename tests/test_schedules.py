"""The two readings of the paper's 40 epochs of one-cycle, and the
documented early-stopping option."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import OptimWrapper
from mmpretrain.registry import HOOKS, PARAM_SCHEDULERS

import oprl_mm  # noqa: F401

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
SCHEDULES = osp.join(ROOT, 'configs', '_base_', 'schedules')


def lr_curve(cfg, epoch_length=10):
    opt = torch.optim.AdamW(torch.nn.Linear(2, 2).parameters(), lr=1.0)
    args = {k: v for k, v in cfg.param_scheduler.items() if k != 'type'}
    args.pop('convert_to_iter_based')
    # mmengine's Runner gives a scheduler without `end` the training length
    args.setdefault('end', cfg.train_cfg.max_epochs)
    build = PARAM_SCHEDULERS.get(
        cfg.param_scheduler.type).build_iter_from_epoch
    scheduler = build(OptimWrapper(opt), epoch_length=epoch_length, **args)
    lrs = []
    for _ in range(cfg.train_cfg.max_epochs * epoch_length):
        lrs.append(opt.param_groups[0]['lr'])
        opt.step()
        scheduler.step()
    return lrs


def test_full_cycle_and_80_epoch_cycle_stopped_at_40():
    full = Config.fromfile(osp.join(SCHEDULES, 'oprl_40e.py'))
    cut = Config.fromfile(osp.join(SCHEDULES, 'oprl_80e_stop40.py'))
    assert full.train_cfg.max_epochs == cut.train_cfg.max_epochs == 40
    # the full cycle spans train_cfg.max_epochs; the cut one sets its end
    assert 'end' not in full.param_scheduler
    assert cut.param_scheduler.end == 80
    peak = full.param_scheduler.eta_max
    assert cut.param_scheduler.eta_max == peak
    full_lrs, cut_lrs = lr_curve(full), lr_curve(cut)
    # the full cycle ends near zero; the cut one stops on the way down,
    # at (1 + cos(pi * (40 - 16) / 64)) / 2 = 69 % of the peak
    assert full_lrs[-1] < 1e-3 * peak
    assert cut_lrs[-1] == pytest.approx(0.69 * peak, rel=0.02)
    # the cut cycle peaks at epoch 16 (20 % of 80), the full one at 8
    assert cut_lrs.index(max(cut_lrs)) // 10 == 15
    assert full_lrs.index(max(full_lrs)) // 10 == 7


def test_documented_early_stopping_hook_builds():
    # the entry that oprl_80e_stop40.py documents, mmengine's own hook
    hook = HOOKS.build(
        dict(type='EarlyStoppingHook', monitor='mAP', rule='greater',
             min_delta=0.0, patience=9))
    assert type(hook).__module__.startswith('mmengine')
    text = open(osp.join(SCHEDULES, 'oprl_80e_stop40.py')).read()
    assert "type='EarlyStoppingHook', monitor='mAP'" in text
