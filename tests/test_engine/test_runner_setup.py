import pytest
from mmengine.config import Config

from oprl_mm.engine.runner_setup import enable_auto_scale_lr


def schedule_cfg(batch_size, **extra):
    return Config(
        dict(
            train_dataloader=dict(batch_size=batch_size),
            optim_wrapper=dict(
                optimizer=dict(type='AdamW', lr=5e-5), **extra),
            param_scheduler=dict(type='OneCycleLR', eta_max=5e-5),
            auto_scale_lr=dict(base_batch_size=64)))


def test_auto_scale_lr_scales_one_cycle_peak(monkeypatch):
    monkeypatch.setenv('WORLD_SIZE', '2')
    cfg = schedule_cfg(8)
    assert enable_auto_scale_lr(cfg) == pytest.approx(0.25)
    assert cfg.param_scheduler.eta_max == pytest.approx(5e-5 / 4)
    assert cfg.auto_scale_lr.enable


def test_auto_scale_lr_counts_accumulation(monkeypatch):
    monkeypatch.setenv('WORLD_SIZE', '1')
    cfg = schedule_cfg(8, accumulative_counts=8)
    assert enable_auto_scale_lr(cfg) == pytest.approx(1.0)


def test_auto_scale_lr_needs_a_base(monkeypatch):
    cfg = schedule_cfg(8)
    cfg.pop('auto_scale_lr')
    with pytest.raises(KeyError, match='base_batch_size'):
        enable_auto_scale_lr(cfg)
