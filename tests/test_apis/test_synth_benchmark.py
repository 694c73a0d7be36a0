"""tools/analysis_tools/synth_benchmark.py at a reduced size: every
measure of a run, the variants' models, and the same figures twice for the
same seed."""
import json
import os.path as osp
import sys

import pytest
from mmengine.config import Config

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, osp.join(ROOT, 'tools', 'analysis_tools'))
import synth_benchmark  # noqa: E402

CONFIG = osp.join(ROOT, 'configs/oprl/oprl_r18_synth_entangled.py')
SMALL = [
    'train_dataloader.dataset.num_images=64',
    'val_dataloader.dataset.num_images=40',
    'train_dataloader.batch_size=32', 'train_dataloader.num_workers=0',
    'val_dataloader.num_workers=0',
    'train_dataloader.persistent_workers=False',
    'val_dataloader.persistent_workers=False',
    'train_cfg.max_epochs=1', 'param_scheduler.end=1'
]


def test_variants_switch_one_thing():
    import oprl_mm  # noqa: F401
    cfg = Config.fromfile(CONFIG)
    head = cfg.model.head
    for variant, switch in synth_benchmark.HEAD_SWITCHES.items():
        other = synth_benchmark.variant_cfg(cfg, variant)
        changed = {k for k in other.model.head
                   if other.model.head[k] != head.get(k)}
        assert changed == set(switch), variant
        assert other.model.neck == cfg.model.neck
    for name in ('csra', 'linear'):
        bare = synth_benchmark.variant_cfg(cfg, name)
        behind = synth_benchmark.variant_cfg(cfg, name + '_neck')
        assert bare.model.head == behind.model.head
        assert bare.model.head.type != 'OPRLHead'
        assert 'TransformerEncoderNeck' not in str(bare.model.neck)
        assert 'TransformerEncoderNeck' in str(behind.model.neck)
        # no co-occurrence matrix to compute for a baseline
        assert 'CooccurrenceHook' not in str(behind.custom_hooks)
    with pytest.raises(ValueError, match='unknown variant'):
        synth_benchmark.variant_cfg(cfg, 'mlp_neck')
    no_neck = Config(dict(cfg.to_dict(), model=dict(cfg.model, neck=None)))
    with pytest.raises(ValueError, match='has none'):
        synth_benchmark.variant_cfg(no_neck, 'csra_neck')


def test_class_ap_and_small_rows():
    import torch
    scores = torch.tensor([[0.9, 0.1], [0.2, 0.8], [0.7, 0.3]])
    target = torch.tensor([[1., 0.], [0., 0.], [1., 0.]])
    ap = synth_benchmark.class_ap(scores, target)
    assert ap[0] == pytest.approx(100.) and torch.isnan(ap[1])
    assert torch.isnan(synth_benchmark.class_ap(scores, target, [])).all()
    assert synth_benchmark.class_ap(scores, target, [1, 2])[0] == \
        pytest.approx(100.)

    from oprl_mm.datasets import SynthEntangled
    ds = SynthEntangled(split='val', num_images=60)
    rows = synth_benchmark.small_rows(ds, 0.2)
    for i in range(len(ds)):
        boxes = ds.get_layout(i)['gt_bboxes']
        small = bool((boxes[:, 2:] - boxes[:, :2] <= 0.2 * 64).all())
        assert (i in rows) == small
    assert 0 < len(rows) < 60


def test_small_sweep_measures_and_repeats(tmp_path, capsys):
    args = ['--config', CONFIG, '--seeds', '0', '--variants', 'oprl',
            'no_amp', 'linear_neck', '--small-side', '0.2', '--out',
            str(tmp_path / 'table.md'), '--cfg-options'] + SMALL
    synth_benchmark.main(['--work-dir', str(tmp_path / 'a')] + args)
    results = json.load(open(tmp_path / 'a' / 'results.json'))
    assert [r['variant'] for r in results] == ['oprl', 'no_amp',
                                               'linear_neck']
    for r in results:
        for split in ('val', 'val_shift'):
            assert set(r[split]) == {'mAP', 'CF1', 'OF1'}
            assert 0 <= r[split]['mAP'] <= 100
        assert r['gap'] == pytest.approx(r['val']['mAP'] -
                                         r['val_shift']['mAP'])
        assert 0 < r['small_images'] < 40 and 0 <= r['small_mAP'] <= 100
        assert 0 <= r['val_shift_dependent_AP'] <= 100
    # attention for every head with class maps: OPRL's and the baselines'
    loc = results[0]['localization']
    assert 0 < loc['chance_share'] < 1 and 0 <= loc['softmax_share'] <= 1
    assert 'localization' in results[1]
    assert results[2]['localization']['chance_share'] == \
        loc['chance_share']
    table = open(tmp_path / 'table.md').read()
    assert table.count('\n| oprl |') == 2  # accuracy and localisation
    assert table.count('\n| linear_neck |') == 3  # and paired
    assert '| linear_neck |' in table and 'dep. AP shift' in table
    # the paired differences from oprl, one row per other variant
    paired = table[table.index('minus `oprl`'):]
    assert '| no_amp |' in paired and '| oprl |' not in paired
    # the measures score the EMA weights that the run's last validation
    # scored (the checkpoint's state_dict holds them)
    (scalars, ) = (tmp_path / 'a' / 'oprl_seed0').glob(
        '*/vis_data/scalars.json')
    last_val = [json.loads(line) for line in open(scalars)
                if '"mAP"' in line][-1]
    assert results[0]['val']['mAP'] == pytest.approx(last_val['mAP'],
                                                     abs=1e-3)

    # the same seed gives the same figures, to the digit
    synth_benchmark.main(['--work-dir', str(tmp_path / 'b'), '--variants',
                          'oprl'] + args[:4] + args[8:])
    again = json.load(open(tmp_path / 'b' / 'results.json'))[0]
    for key in ('val', 'val_shift', 'small_mAP', 'localization'):
        assert again[key] == results[0][key], key

    # --resume runs nothing new
    synth_benchmark.main(['--work-dir', str(tmp_path / 'a'), '--resume'] +
                         args)
    assert '(0 s wall for 0 runs)' in capsys.readouterr().out


def test_paired_differences_and_sign_agreement():
    def run(variant, seed, val, shift):
        return dict(variant=variant, seed=seed, train_s=1.0, gap=val - shift,
                    small_mAP=val, val=dict(mAP=val, CF1=0., OF1=0.),
                    val_shift=dict(mAP=shift, CF1=0., OF1=0.))

    results = [run('oprl', 0, 90., 70.), run('oprl', 1, 92., 74.),
               run('oprl', 2, 91., 72.),
               run('x', 0, 93., 70.), run('x', 1, 93., 73.),
               run('x', 2, 90., 72.)]
    table = synth_benchmark.paired_table(results, ['oprl', 'x'])
    (row, ) = [line for line in table.splitlines() if line.startswith('| x')]
    cells = [c.strip() for c in row.strip('|').split('|')]
    # val mAP: +3, +1, -1 -> mean +1, std 1.63, two seeds agree
    assert cells[1] == '+1.00 ± 1.63 (2/3)'
    # val_shift: 0, -1, 0 -> mean -0.33; one seed has its sign
    assert cells[2] == '-0.33 ± 0.47 (1/3)'
    # no localisation, no dependents: no cell
    assert cells[5:] == ['-', '-', '-']
    assert synth_benchmark.paired_table(results, ['x'], reference='y') == ''


def test_result_under_the_old_key_names_the_new_one(tmp_path):
    path = tmp_path / 'result.json'
    path.write_text(json.dumps(dict(variant='oprl', localisation={})))
    with pytest.raises(ValueError,
                       match="'localisation', now 'localization'"):
        synth_benchmark.read_result(str(path))
