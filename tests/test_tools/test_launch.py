"""Tests of tools/oprl_cli/launch.py (moved from tests/test_engine/test_runner_setup.py, with the module)."""
import pytest
from mmengine.config import Config

from oprl_cli.launch import enable_auto_scale_lr


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


def test_empty_training_set_named(tmp_path):
    # ended in mmengine's `epoch_length` must be a positive integer
    import json
    import uuid

    import torch
    from mmengine.model import BaseModel
    from mmengine.runner import Runner

    import oprl_mm  # noqa: F401
    from oprl_cli.launch import check_train_set

    class Toy(BaseModel):

        def __init__(self):
            super().__init__()
            self.linear = torch.nn.Linear(2, 2)

        def forward(self, inputs=None, data_samples=None, mode='loss'):
            return dict(loss=self.linear.weight.sum())

    ann = tmp_path / 'instances.json'
    ann.write_text(json.dumps(dict(
        images=[dict(id=1, file_name='a.jpg')], annotations=[],
        categories=[dict(id=1, name='person')])))
    runner = Runner(
        model=Toy(),
        work_dir=str(tmp_path / 'work'),
        experiment_name=f'empty_{uuid.uuid4().hex}',
        default_scope='mmpretrain',
        train_dataloader=dict(
            dataset=dict(type='CocoMultiLabel', ann_file=str(ann),
                         data_prefix=str(tmp_path), pipeline=[]),
            sampler=dict(type='DefaultSampler', shuffle=False),
            batch_size=2, num_workers=0),
        train_cfg=dict(by_epoch=True, max_epochs=1),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)))
    with pytest.raises(ValueError) as e:
        check_train_set(runner)
    msg = str(e.value)
    assert 'CocoMultiLabel' in msg and str(ann) in msg
    assert 'holds no image' in msg and 'filter_empty_gt' in msg
