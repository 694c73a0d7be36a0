"""A tiny OPRL model on 64 px SynthMultiLabel images, saved as a config
file and a checkpoint, shared by the inference and tool tests."""
import os.path as osp
import runpy
import sys

import pytest
from mmengine.config import Config

import oprl_mm  # noqa: F401

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
NUM_CLASSES = 10

TINY_CONFIG = f"""
_base_ = [{osp.join(REPO, 'configs/_base_/datasets/synth.py')!r},
          {osp.join(REPO, 'configs/_base_/default_runtime.py')!r}]
model = dict(
    type='ImageClassifier',
    backbone=dict(type='ResNet', depth=18, stem_channels=8, base_channels=8,
                  out_indices=(3, )),
    neck=dict(type='TransformerEncoderNeck', in_channels=64,
              feedforward_channels=32),
    head=dict(type='OPRLHead', num_classes={NUM_CLASSES}, in_channels=64))
val_dataloader = dict(batch_size=8, num_workers=0, persistent_workers=False,
                      dataset=dict(num_images=16))
val_shift_dataloader = dict(batch_size=8, num_workers=0,
                            persistent_workers=False,
                            dataset=dict(num_images=16))
test_dataloader = val_dataloader
img_size = 64
# tested (tools/test.py), never trained
train_dataloader = None
val_cfg = dict()
test_cfg = dict()
"""


@pytest.fixture(scope='session')
def tiny_model(tmp_path_factory):
    """(config path, checkpoint path, class names) of a random tiny OPRL."""
    import torch
    from mmengine.registry import init_default_scope
    from mmengine.runner import save_checkpoint
    from mmpretrain.registry import MODELS

    from oprl_mm.datasets.synth import CLASS_PALETTE

    root = tmp_path_factory.mktemp('tiny_model')
    config = root / 'tiny_oprl_synth.py'
    config.write_text(TINY_CONFIG)
    cfg = Config.fromfile(str(config))
    init_default_scope('mmpretrain')
    torch.manual_seed(0)
    model = MODELS.build(
        dict(cfg.model, data_preprocessor=cfg.data_preprocessor))
    model.init_weights()
    # a larger saliency spread than the 0.02-std init gives peaked maps
    torch.nn.init.normal_(model.head.saliency_map.weight, std=0.5)
    classes = [name for name, _, _ in CLASS_PALETTE[:NUM_CLASSES]]
    checkpoint = root / 'tiny.pth'
    save_checkpoint(
        dict(
            state_dict=model.state_dict(),
            meta=dict(dataset_meta=dict(classes=classes))), str(checkpoint))
    return str(config), str(checkpoint), classes


@pytest.fixture(scope='session')
def misfit_checkpoints(tiny_model, tmp_path_factory):
    """Checkpoints that do not fit the tiny model: ``eight_classes`` (the
    tiny model with an 8-class head) and ``no_cooccurrence`` (the tiny
    checkpoint without SAPM's co-occurrence buffer)."""
    import torch
    from mmengine.registry import init_default_scope
    from mmpretrain.registry import MODELS

    config, checkpoint, _ = tiny_model
    root = tmp_path_factory.mktemp('misfit')
    cfg = Config.fromfile(config)
    init_default_scope('mmpretrain')
    cfg.model.head.num_classes = 8
    eight = MODELS.build(cfg.model)
    paths = dict(eight_classes=str(root / 'eight.pth'),
                 no_cooccurrence=str(root / 'no_cooc.pth'))
    torch.save(dict(state_dict=eight.state_dict(), meta={}),
               paths['eight_classes'])
    ckpt = torch.load(checkpoint, weights_only=True)
    del ckpt['state_dict']['head.gcn.cooccurrence']
    torch.save(ckpt, paths['no_cooccurrence'])
    return paths


@pytest.fixture(scope='session')
def synth_images(tmp_path_factory):
    """Four 64 px SynthMultiLabel val images as PNG files."""
    from oprl_mm.datasets.synth import SynthMultiLabel, write_coco

    root = tmp_path_factory.mktemp('synth_png')
    write_coco(SynthMultiLabel(split='val', num_images=4), str(root))
    return root / 'val'


@pytest.fixture
def run_tool(monkeypatch):
    """Run a tool's ``main()`` in this process with the given arguments."""

    def run(script, *args):
        monkeypatch.setattr(sys, 'argv', [script] + [str(a) for a in args])
        runpy.run_path(osp.join(REPO, script), run_name='__main__')

    return run
