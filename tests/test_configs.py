"""Every shipped config parses; the headline config matches Table 8."""
import glob
import os.path as osp
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config
from mmpretrain.registry import MODELS

import oprl_mm  # noqa: F401

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
# old config names kept as files that fail, naming the new config
RENAMED = {'oprl_vit-l16_coco448.py': 'oprl_vit-l16-in21k_coco448.py'}
CONFIGS = sorted(
    p for p in glob.glob(osp.join(ROOT, 'configs', 'oprl', '*.py'))
    if osp.basename(p) not in RENAMED)


@pytest.mark.parametrize('path', CONFIGS, ids=osp.basename)
def test_config_parses(path):
    cfg = Config.fromfile(path)
    assert cfg.custom_imports.imports == ['oprl_mm']
    evaluators = cfg.val_evaluator if isinstance(cfg.val_evaluator, list) \
        else [cfg.val_evaluator]
    assert evaluators[0].type == 'MLCMetric'
    # builds: no MLCMetric thr, the threshold is the head's
    from mmpretrain.registry import METRICS
    METRICS.build(evaluators[0])
    head = cfg.model.head
    if head.type == 'OPRLHead':
        assert head.num_classes == cfg.data_preprocessor.num_classes


@pytest.mark.parametrize('old,new', RENAMED.items())
def test_renamed_config_names_the_new_one(old, new):
    with pytest.raises(ValueError, match=new):
        Config.fromfile(osp.join(ROOT, 'configs', 'oprl', old))
    assert osp.isfile(osp.join(ROOT, 'configs', 'oprl', new))


@pytest.fixture(scope='module')
def r101():
    cfg = Config.fromfile(osp.join(ROOT, 'configs/oprl/oprl_r101_coco448.py'))
    cfg.model.backbone.init_cfg = None
    model = MODELS.build(cfg.model)
    return cfg, model.eval()


def test_r101_parameter_count(r101):
    _, model = r101
    params = sum(p.numel() for p in model.parameters()) / 1e6
    assert 82 <= params <= 90, f'{params:.1f} M, Table 8 says 86 M'


def test_r101_backbone_trains_as_the_lineage(r101):
    """Frozen BatchNorm (statistics and affine), stem and stage 1 frozen,
    stages 2-4 trained (Query2Label/SADCL's FrozenBatchNorm2d recipe)."""
    _, model = r101
    backbone = model.backbone
    bns = [m for m in backbone.modules()
           if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    stats = [(m.running_mean.clone(), m.running_var.clone()) for m in bns]
    model.train()
    try:
        assert not any(m.training for m in bns)
        x = torch.randn(2, 3, 64, 64) * 3 + 1  # far from the statistics
        model(x, mode='tensor').sum().backward()
    finally:
        model.eval()
    for m, (mean, var) in zip(bns, stats):
        assert torch.equal(m.running_mean, mean)
        assert torch.equal(m.running_var, var)
        assert not m.weight.requires_grad and m.weight.grad is None
        assert not m.bias.requires_grad and m.bias.grad is None
    frozen = [backbone.conv1, backbone.layer1]
    for module in frozen:
        assert all(p.grad is None for p in module.parameters())
    for name in ('layer2', 'layer3', 'layer4'):
        convs = [p for n, p in getattr(backbone, name).named_parameters()
                 if 'conv' in n]
        assert convs and all(p.grad is not None for p in convs), name
    model.zero_grad(set_to_none=True)


def test_r101_forward_448(r101):
    cfg, model = r101
    assert cfg.model.head.num_classes == 80
    with torch.no_grad():
        scores = model(torch.randn(1, 3, 448, 448), mode='tensor')
    assert scores.shape == (1, 80)
    assert torch.isfinite(scores).all()


def test_train_without_coco_names_the_missing_file(tmp_path):
    config = osp.join(ROOT, 'configs/oprl/oprl_r101_coco448.py')
    proc = subprocess.run(
        [sys.executable,
         osp.join(ROOT, 'tools/train.py'), config, '--work-dir',
         str(tmp_path / 'work')],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300)
    assert proc.returncode != 0
    assert 'instances_train2014.json' in proc.stderr
    assert 'docs/datasets.md' in proc.stderr


def test_unreachable_pretrained_weights_say_what_to_do(tmp_path, tiny_data,
                                                       tiny_cfg):
    cfg = tiny_cfg(tiny_data, tmp_path / 'work', max_epochs=1)
    # nothing listens on port 9 of this machine: the download fails at once
    cfg.model.backbone.init_cfg = dict(
        type='Pretrained', checkpoint='http://127.0.0.1:9/r18.pth')
    cfg.dump(str(tmp_path / 'cfg.py'))
    proc = subprocess.run(
        [sys.executable,
         osp.join(ROOT, 'tools/train.py'),
         str(tmp_path / 'cfg.py')],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300)
    assert proc.returncode != 0
    assert 'Could not download pretrained weights' in proc.stderr
    assert 'model.backbone.init_cfg=None' in proc.stderr
    assert 'model.backbone.frozen_stages=-1' in proc.stderr


@pytest.mark.skipif(torch.cuda.is_available(), reason='a GPU is visible')
def test_amp_without_gpu_is_a_one_line_error(tmp_path):
    proc = subprocess.run(
        [sys.executable,
         osp.join(ROOT, 'tools/train.py'),
         osp.join(ROOT, 'configs/oprl/oprl_r18_synth.py'), '--amp',
         '--work-dir',
         str(tmp_path)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300)
    assert proc.returncode != 0
    assert 'Traceback' not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith(
        '--amp: mixed-precision training needs a CUDA GPU')
