"""tools/analysis_tools/config_benchmark.py at a reduced size: the figures
of the configs' evaluators per run, the paired table, and a rerun that
reads the finished runs instead of training again."""
import json
import os.path as osp
import sys

import pytest

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, osp.join(ROOT, 'tools', 'analysis_tools'))
import config_benchmark  # noqa: E402

ABLATIONS = osp.join(ROOT, 'configs/oprl/ablations')
SMALL = [
    'train_dataloader.dataset.num_images=24',
    'val_dataloader.dataset.num_images=12',
    'test_dataloader.dataset.num_images=12',
    'train_dataloader.batch_size=24', 'train_dataloader.num_workers=0',
    'val_dataloader.num_workers=0', 'test_dataloader.num_workers=0',
    'train_dataloader.persistent_workers=False',
    'val_dataloader.persistent_workers=False',
    'test_dataloader.persistent_workers=False',
    'train_cfg.max_epochs=1', 'param_scheduler.end=1'
]


def test_two_configs_one_seed_then_resume(tmp_path, capsys):
    configs = [osp.join(ABLATIONS, 'oprl.py'),
               osp.join(ABLATIONS, 'linear.py')]
    argv = configs + ['--seeds', '0', '--work-dir', str(tmp_path),
                      '--test-split', 'val_shift', '--out',
                      str(tmp_path / 'table.md'), '--cfg-options'] + SMALL
    config_benchmark.main(argv)
    results = json.loads((tmp_path / 'results.json').read_text())
    assert [(r['name'], r['seed']) for r in results] == [('oprl', 0),
                                                          ('linear', 0)]
    for r in results:
        for split in ('val', 'val_shift'):
            for key in ('mAP', 'small/mAP', 'dependents/mAP',
                        'localization/box_share',
                        'localization/box_chance'):
                assert key in r[split], (r['name'], split, key)
        # val and val_shift are different images
        assert r['val']['localization/box_chance'] != \
            r['val_shift']['localization/box_chance']
    table = (tmp_path / 'table.md').read_text()
    assert 'val localization/box_share' in table
    assert 'val_shift dependents/mAP' in table
    paired = table[table.index('minus `oprl`'):]
    assert '| linear |' in paired and '| oprl |' not in paired
    assert '/1 < 0)' in paired  # seeds below the reference

    # finished runs are read, not rerun
    log = tmp_path / 'oprl_seed0' / 'train.log'
    stamp = log.stat().st_mtime_ns
    capsys.readouterr()
    config_benchmark.main(argv)
    assert log.stat().st_mtime_ns == stamp
    assert json.loads((tmp_path / 'results.json').read_text()) == results


def test_config_names_must_differ(tmp_path):
    with pytest.raises(ValueError, match='share a file name'):
        config_benchmark.main([osp.join(ABLATIONS, 'oprl.py')] * 2 +
                              ['--work-dir', str(tmp_path)])


def test_a_failed_run_stops_the_sweep(tmp_path):
    broken = tmp_path / 'broken.py'
    broken.write_text(f"_base_ = [{osp.join(ABLATIONS, 'oprl.py')!r}]\n"
                      "model = dict(head=dict(type='NoSuchHead'))\n")
    work = tmp_path / 'work'
    with pytest.raises(RuntimeError, match='broken_seed0'):
        config_benchmark.main([str(broken), osp.join(ABLATIONS, 'oprl.py'),
                               '--seeds', '0', '--work-dir', str(work)])
    assert (work / 'broken_seed0' / 'train.log').is_file()
    assert not (work / 'oprl_seed0').exists()
