"""BatchSizeCheckHook: one warning when the real total batch is not the
config's, none with --auto-scale-lr or at the config's batch."""
import pytest
from mmengine.config import Config
from mmengine.runner import Runner

import oprl_mm  # noqa: F401
from oprl_mm.engine.hooks import ema_momentum_for_accumulation
from oprl_cli.launch import enable_auto_scale_lr


def train_and_collect_warnings(cfg, monkeypatch):
    runner = Runner.from_cfg(cfg)
    warnings = []
    monkeypatch.setattr(runner.logger, 'warning',
                        lambda msg, *args, **kwargs: warnings.append(msg))
    runner.train()
    return [w for w in warnings if 'total batch' in w]


def batch_cfg(tiny_cfg, tiny_data, work_dir, base_batch_size):
    cfg = tiny_cfg(tiny_data, work_dir, max_epochs=1)
    cfg.auto_scale_lr = dict(base_batch_size=base_batch_size)
    cfg.custom_hooks.append(dict(type='BatchSizeCheckHook'))
    return cfg


def test_one_warning_naming_both_fixes(tmp_path, tiny_data, tiny_cfg,
                                       monkeypatch):
    # 1 process x 4 images against a config made for 64: 16 x fewer
    cfg = batch_cfg(tiny_cfg, tiny_data, tmp_path, 64)
    (warning, ) = train_and_collect_warnings(cfg, monkeypatch)
    assert '= 4 images a step' in warning and 'for 64' in warning
    assert '--auto-scale-lr' in warning
    assert 'accumulative_counts=16' in warning
    # the EMA momentum that keeps 0.9997 per 64 images at 16 iterations
    assert f'{1 - 0.9997**(1 / 16):.4g}' in warning


def test_no_warning_with_auto_scale_lr(tmp_path, tiny_data, tiny_cfg,
                                       monkeypatch):
    cfg = batch_cfg(tiny_cfg, tiny_data, tmp_path, 64)
    enable_auto_scale_lr(cfg)
    assert train_and_collect_warnings(cfg, monkeypatch) == []


def test_no_warning_at_the_configs_batch(tmp_path, tiny_data, tiny_cfg,
                                         monkeypatch):
    # 4 images x 2 accumulation steps = 8, the batch this config is for
    cfg = batch_cfg(tiny_cfg, tiny_data, tmp_path, 8)
    cfg.optim_wrapper.accumulative_counts = 2
    assert train_and_collect_warnings(cfg, monkeypatch) == []


def test_ema_momentum_keeps_the_decay_per_optimizer_step():
    momentum = ema_momentum_for_accumulation(0.0003, 8)
    assert momentum == pytest.approx(3.7505e-5, rel=1e-4)
    # 8 EMA updates on the same weights decay the old average by 0.9997
    assert (1 - momentum)**8 == pytest.approx(0.9997, rel=1e-12)
    assert ema_momentum_for_accumulation(0.0003, 1) == pytest.approx(0.0003)


def test_the_real_runtime_has_it():
    import os.path as osp
    root = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
    cfg = Config.fromfile(
        osp.join(root, 'configs', 'oprl', 'oprl_r101_coco448.py'))
    assert any(h['type'] == 'BatchSizeCheckHook' for h in cfg.custom_hooks)
    assert cfg.auto_scale_lr.base_batch_size == 64
    # README's accumulation example sets custom_hooks.7.momentum
    assert cfg.custom_hooks[7]['type'] == 'EMAHook'
