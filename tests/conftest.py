"""Shared fixtures: a tiny multi-label image set and a tiny OPRL runner
config, small enough for a CPU test run in seconds."""
import functools
import os
import json
import os.path as osp
import sys
import uuid

import cv2
import numpy as np
import pytest
from mmengine.config import Config
from mmengine.runner import Runner

import oprl_mm  # noqa: F401

# what `python tools/<name>.py` puts on sys.path: the tools' shared module
# oprl_cli (tools in subfolders add it themselves)
sys.path.insert(0, osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))),
                            'tools'))


def write_multilabel_set(root, num_images=8, num_classes=3):
    """PNG images and an mmpretrain ``MultiLabelDataset`` annotation file."""
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
    return root


def make_tiny_cfg(root, work_dir, max_epochs=2, num_workers=0):
    """OPRL on a 64-channel ResNet-18, with EMA and the one-cycle schedule."""
    dataset = dict(
        type='MultiLabelDataset',
        data_root=str(root),
        ann_file='ann.json',
        pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='RandomResizedCrop', scale=32, crop_ratio_range=(0.5,
                                                                        1.0)),
            dict(type='RandomFlip', prob=0.5, direction='horizontal'),
            dict(type='PackInputs')
        ])
    val_dataloader = dict(
        batch_size=4,
        num_workers=0,
        sampler=dict(type='DefaultSampler', shuffle=False),
        dataset=dict(
            dataset,
            pipeline=[dict(type='LoadImageFromFile'),
                      dict(type='PackInputs')]))
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
                num_workers=num_workers,
                persistent_workers=False,
                sampler=dict(type='DefaultSampler', shuffle=True),
                dataset=dataset),
            val_dataloader=val_dataloader,
            test_dataloader=val_dataloader,
            val_evaluator=dict(type='MLCMetric'),
            test_evaluator=dict(type='MLCMetric'),
            test_cfg=dict(),
            optim_wrapper=dict(optimizer=dict(type='AdamW', lr=1e-3)),
            param_scheduler=dict(
                type='OneCycleLRMomentum',
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
                dict(type='FiniteLossHook'),
                dict(type='EpochSeedHook'),
                dict(type='ClassCountCheckHook'),
                dict(type='CooccurrenceHook'),
                dict(type='EMAHook', momentum=0.0003, update_buffers=True)
            ],
            randomness=dict(seed=0),
            log_level='WARNING',
        ))


@pytest.fixture(scope='session')
def tiny_data(tmp_path_factory):
    return write_multilabel_set(tmp_path_factory.mktemp('tiny_data'))


@pytest.fixture(scope='session')
def tiny_cfg():
    return make_tiny_cfg


@pytest.fixture(scope='session')
def multilabel_writer():
    return write_multilabel_set


@pytest.fixture(autouse=True)
def unique_runner_names(monkeypatch):
    """Give every Runner a test builds its own experiment name.

    mmengine names a Runner's logger, visualizer and message hub after the
    current second when the config gives no experiment name (or the same one,
    as a deep-copied config for a resume does): two Runners built within one
    second then share them, and the second writes into the first one's log
    dir. A uuid suffix makes the instances distinct whatever the timing.
    """
    original = Runner.__init__

    @functools.wraps(original)
    def init(self, *args, experiment_name=None, **kwargs):
        name = f'{experiment_name or "test"}_{uuid.uuid4().hex[:12]}'
        original(self, *args, experiment_name=name, **kwargs)

    monkeypatch.setattr(Runner, '__init__', init)


def write_image(path: str, seed: int = 0, size=(24, 32)) -> str:
    """Write a small random image (format from the extension)."""
    os.makedirs(osp.dirname(path), exist_ok=True)
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 255, (*size, 3), dtype=np.uint8)
    assert cv2.imwrite(path, img)
    return path


@pytest.fixture
def make_image():
    """Moved from tests/test_datasets/conftest.py: the dataset and the
    dataset-check tests both write images."""
    return write_image
