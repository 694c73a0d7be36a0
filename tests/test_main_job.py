"""The Quick-start job end to end at a small size: train, then
tools/test.py on the saved checkpoint reproduces the last validation."""
import glob
import json
import os.path as osp
import subprocess
import sys

import pytest

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG = osp.join(ROOT, 'configs/oprl/oprl_r18_synth.py')
SMALL = [
    'train_dataloader.dataset.num_images=96',
    'val_dataloader.dataset.num_images=40',
    'test_dataloader.dataset.num_images=40', 'train_cfg.max_epochs=2',
    'param_scheduler.end=2', 'train_dataloader.batch_size=32'
]


def run(args, cwd):
    proc = subprocess.run([sys.executable] + args,
                          cwd=cwd,
                          capture_output=True,
                          text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


def test_train_then_test_reproduces_validation(tmp_path):
    work = tmp_path / 'work'
    proc = run([
        osp.join(ROOT, 'tools/train.py'), CONFIG, '--work-dir',
        str(work), '--cfg-options'
    ] + SMALL, tmp_path)
    # the seven figures as one table row per evaluation
    assert proc.stdout.count('|    mAP |     CP |') == 2
    scalars = glob.glob(str(work / '*' / 'vis_data' / 'scalars.json'))
    assert len(scalars) == 1
    records = [json.loads(line) for line in open(scalars[0])]
    last_val = [r for r in records if 'mAP' in r][-1]
    assert last_val['step'] == 2

    ckpt = work / 'epoch_2.pth'
    assert ckpt.is_file() and glob.glob(str(work / 'best_mAP_epoch_*.pth'))
    run([
        osp.join(ROOT, 'tools/test.py'), CONFIG,
        str(ckpt), '--work-dir',
        str(tmp_path / 'test'), '--out',
        str(tmp_path / 'metrics.json'), '--per-class', '--cfg-options'
    ] + SMALL, tmp_path)
    # the per-class AP table, one row per class
    rows = (tmp_path / 'test' / 'per_class_ap.csv').read_text().splitlines()
    assert rows[0] == 'class,AP,positives' and len(rows) == 1 + 10
    assert rows[1].startswith('red disc,')
    tested = json.loads((tmp_path / 'metrics.json').read_text())
    assert len(tested['AP_classwise']) == 10
    for key in ('mAP', 'CP', 'CR', 'CF1', 'OP', 'OR', 'OF1'):
        assert tested[key] == pytest.approx(last_val[key], abs=1e-3), key


def test_hard_setting_trains_with_one_command(tmp_path):
    """configs/oprl/oprl_r18_synth_entangled.py through tools/train.py at a
    reduced size: it reads SynthEntangled, validates after each epoch and
    saves its checkpoints."""
    work = tmp_path / 'work'
    proc = run([
        osp.join(ROOT, 'tools/train.py'),
        osp.join(ROOT, 'configs/oprl/oprl_r18_synth_entangled.py'),
        '--work-dir', str(work), '--cfg-options'
    ] + SMALL, tmp_path)
    assert proc.stdout.count('|    mAP |     CP |') == 2
    (dumped, ) = work.glob('*.py')  # the config as the run read it
    assert "type='SynthEntangled'" in dumped.read_text()
    assert (work / 'epoch_2.pth').is_file()


def test_hard_setting_last_map_is_8x8():
    import torch
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmpretrain.registry import MODELS

    import oprl_mm  # noqa: F401
    init_default_scope('mmpretrain')
    cfg = Config.fromfile(
        osp.join(ROOT, 'configs/oprl/oprl_r18_synth_entangled.py'))
    model = MODELS.build(cfg.model).eval()
    with torch.no_grad():
        (feat, ) = model.backbone(torch.zeros(1, 3, 64, 64))
    assert feat.shape == (1, cfg.model.head.in_channels, 8, 8)
