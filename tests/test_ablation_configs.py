"""configs/oprl/ablations/ (synthetic) and its lite0_frozen/ (real photos,
cached Lite0 maps): each variant switches exactly one thing of its folder's
oprl.py, builds, and tools/test.py reports the benchmark's measures."""
import glob
import json
import os.path as osp
import subprocess
import sys

import pytest
from mmengine.config import Config

import oprl_mm  # noqa: F401

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
ABLATIONS = osp.join(ROOT, 'configs/oprl/ablations')
FROZEN = osp.join(ABLATIONS, 'lite0_frozen')
VARIANTS = {'oprl', 'no_spa', 'no_sas', 'no_sapm', 'no_amp', 'no_brrm',
            'csra', 'csra_neck', 'linear', 'linear_neck'}
# what each variant changes in oprl.py, as flattened config keys
SWITCHES = {
    'no_spa': {'model.head.use_spa': False},
    'no_sas': {'model.head.use_aux_loss': False},
    'no_sapm': {'model.head.use_sapm': False},
    'no_amp': {'model.head.use_average_message': False},
    'no_brrm': {'model.head.use_brrm': False},
}
BASELINE_HEADS = {'csra': 'CSRAMapHead', 'linear': 'LinearCAMHead'}


def flat(value, prefix=''):
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            out.update(flat(v, f'{prefix}.{k}' if prefix else k))
        return out
    return {prefix: value}


def load(name, folder=ABLATIONS):
    return Config.fromfile(osp.join(folder, f'{name}.py')).to_dict()


@pytest.mark.parametrize('folder', [ABLATIONS, FROZEN])
def test_every_variant_has_a_config(folder):
    names = {osp.basename(p)[:-3] for p in glob.glob(f'{folder}/*.py')}
    assert names == VARIANTS


def test_frozen_reference_is_the_real_photo_config_on_cached_maps():
    ref = load('oprl', FROZEN)
    base = Config.fromfile(
        osp.join(ROOT, 'configs/oprl/oprl_lite0_cutout256.py')).to_dict()
    assert ref['model']['backbone'] == dict(type='FeatureMapInput')
    assert ref['model']['neck'] == base['model']['neck']
    assert ref['model']['head'] == base['model']['head']
    assert ref['val_evaluator'] == base['val_evaluator']
    for loader in ('train_dataloader', 'val_dataloader',
                   'val_shift_dataloader'):
        wrapped = ref[loader]['dataset']
        assert wrapped['type'] == 'BackboneFeatureCache'
        # the frozen backbone is the fine-tuned config's, with its weights
        assert wrapped['backbone'] == base['model']['backbone']
        assert wrapped['dataset'] == base[loader]['dataset']
    # the maps are normalised already: no mean, std or channel swap
    assert 'mean' not in ref['data_preprocessor']
    assert not ref['data_preprocessor'].get('to_rgb')


def test_reference_inherits_the_hard_setting_and_measures():
    ref = load('oprl')
    base = Config.fromfile(
        osp.join(ROOT, 'configs/oprl/oprl_r18_synth_entangled.py')).to_dict()
    assert ref['model']['backbone'] == base['model']['backbone']
    assert ref['train_dataloader'] == base['train_dataloader']
    types = [e['type'] for e in ref['val_evaluator']]
    assert types == ['MLCMetric', 'SmallObjectMAP', 'ClassSubsetMAP',
                     'AttentionLocalization']
    assert ref['test_evaluator'] == ref['val_evaluator']
    from oprl_mm.datasets import SynthEntangled
    subset = ref['val_evaluator'][2]['classes']
    assert subset == list(SynthEntangled(split='val',
                                         num_images=1).dependents)
    for loader in ('val_dataloader', 'test_dataloader',
                   'val_shift_dataloader'):
        (pack, ) = ref[loader]['dataset']['pipeline']
        assert {'gt_bboxes', 'gt_bboxes_labels'} <= set(pack['meta_keys'])


@pytest.mark.parametrize('folder', [ABLATIONS, FROZEN])
@pytest.mark.parametrize('name', sorted(SWITCHES))
def test_single_ablation_switches_one_head_option(name, folder):
    ref, cfg = flat(load('oprl', folder)), flat(load(name, folder))
    changed = {k: cfg.get(k) for k in set(ref) | set(cfg)
               if ref.get(k) != cfg.get(k)}
    assert changed == SWITCHES[name]


@pytest.mark.parametrize('folder', [ABLATIONS, FROZEN])
@pytest.mark.parametrize('name', ['csra', 'csra_neck', 'linear',
                                  'linear_neck'])
def test_baseline_replaces_the_head_only(name, folder):
    ref, cfg = load('oprl', folder), load(name, folder)
    assert cfg['model']['head']['type'] == BASELINE_HEADS[name.split('_')[0]]
    assert cfg['model']['head']['keep_class_maps']
    assert cfg['model']['head']['loss'] == ref['model']['head']['loss']
    if name.endswith('_neck'):
        assert cfg['model']['neck'] == ref['model']['neck']
    else:
        assert cfg['model']['neck'] is None
    rest = {k: v for k, v in flat(cfg).items() if not k.startswith(
        ('model.head', 'model.neck'))}
    assert rest == {k: v for k, v in flat(ref).items() if not k.startswith(
        ('model.head', 'model.neck'))}


@pytest.mark.parametrize('name', ['oprl', 'no_sapm', 'csra', 'linear_neck'])
def test_variant_builds_and_keeps_maps(name):
    import torch
    from mmengine.registry import init_default_scope
    from mmpretrain.registry import MODELS
    from mmpretrain.structures import DataSample
    init_default_scope('mmpretrain')
    model = MODELS.build(Config(load(name)).model).eval()
    with torch.no_grad():
        (out, ) = model(torch.zeros(1, 3, 64, 64), [DataSample()],
                        mode='predict')
    assert out.class_attention.shape == (10, 8, 8)


SMALL = [
    'val_dataloader.dataset.num_images=24',
    'test_dataloader.dataset.num_images=24', 'val_dataloader.batch_size=12',
    'test_dataloader.batch_size=12', 'test_dataloader.num_workers=0',
    'test_dataloader.persistent_workers=False'
]


@pytest.mark.parametrize('name', ['oprl', 'linear'])
def test_tools_test_reports_the_new_metrics(name, tmp_path):
    import torch
    from mmengine.registry import init_default_scope
    from mmengine.runner import save_checkpoint
    from mmpretrain.registry import MODELS
    init_default_scope('mmpretrain')
    config = osp.join(ABLATIONS, f'{name}.py')
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(config).model)
    model.init_weights()
    checkpoint = str(tmp_path / 'random.pth')
    save_checkpoint(dict(state_dict=model.state_dict()), checkpoint)
    out = tmp_path / 'metrics.json'
    proc = subprocess.run(
        [sys.executable, osp.join(ROOT, 'tools/test.py'), config,
         checkpoint, '--work-dir', str(tmp_path / 'work'), '--out',
         str(out), '--per-class', '--cfg-options'] + SMALL,
        cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    metrics = json.loads(out.read_text())
    for key in ('mAP', 'small/mAP', 'small/images', 'dependents/mAP',
                'localization/box_share', 'localization/box_share_softmax',
                'localization/box_chance', 'localization/box_pointing'):
        assert key in metrics, key
    assert metrics['localization/box_pairs'] >= 24
    # --per-class finds the MLCMetric among the evaluators
    assert len(metrics['AP_classwise']) == 10
    assert (tmp_path / 'work' / 'per_class_ap.csv').is_file()
    assert 0 < metrics['localization/box_chance'] < 100
    assert 0 <= metrics['localization/box_share'] <= 100
