"""Runner checkpoints reload and resume under torch.load(weights_only=True);
crafted pickles are refused."""
import copy
import io
import json
import os
import pickle

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.logging import HistoryBuffer
from mmengine.runner import Runner

import oprl_mm  # noqa: F401


def write_multilabel_set(root, num_images=8, num_classes=3):
    rng = np.random.default_rng(0)
    data_list = []
    for i in range(num_images):
        img = rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)
        cv2.imwrite(str(root / f'{i}.png'), img)
        labels = sorted({i % num_classes, (i // 2) % num_classes})
        data_list.append(dict(img_path=f'{i}.png', gt_label=labels))
    ann = dict(
        metainfo=dict(classes=[f'c{i}' for i in range(num_classes)]),
        data_list=data_list)
    (root / 'ann.json').write_text(json.dumps(ann))


def tiny_cfg(root, work_dir, max_epochs=2):
    dataset = dict(
        type='MultiLabelDataset',
        data_root=str(root),
        ann_file='ann.json',
        pipeline=[dict(type='LoadImageFromFile'),
                  dict(type='PackInputs')])
    return Config(
        dict(
            default_scope='mmpretrain',
            work_dir=str(work_dir),
            model=dict(
                type='ImageClassifier',
                data_preprocessor=dict(num_classes=3),
                backbone=dict(
                    type='ResNet',
                    depth=18,
                    stem_channels=8,
                    base_channels=8,
                    out_indices=(3, )),
                neck=dict(
                    type='TransformerEncoderNeck',
                    in_channels=64,
                    feedforward_channels=32),
                head=dict(type='OPRLHead', num_classes=3, in_channels=64)),
            train_dataloader=dict(
                batch_size=4,
                num_workers=0,
                sampler=dict(type='DefaultSampler', shuffle=True),
                dataset=dataset),
            val_dataloader=dict(
                batch_size=4,
                num_workers=0,
                sampler=dict(type='DefaultSampler', shuffle=False),
                dataset=dataset),
            val_evaluator=dict(type='MLCMetric'),
            optim_wrapper=dict(optimizer=dict(type='AdamW', lr=1e-3)),
            param_scheduler=dict(
                type='OneCycleLR',
                eta_max=1e-3,
                by_epoch=True,
                begin=0,
                end=max_epochs,
                convert_to_iter_based=True),
            train_cfg=dict(by_epoch=True, max_epochs=max_epochs),
            val_cfg=dict(),
            default_hooks=dict(
                checkpoint=dict(type='CheckpointHook', interval=1),
                logger=dict(type='LoggerHook', interval=1)),
            custom_hooks=[
                dict(type='CooccurrenceHook'),
                dict(type='EMAHook', momentum=0.0003, update_buffers=True)
            ],
            randomness=dict(seed=0),
            log_level='WARNING',
        ))


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp('data')
    write_multilabel_set(root)
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
