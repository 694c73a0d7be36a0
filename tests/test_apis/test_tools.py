import json
import os.path as osp
import runpy
import sys

import pytest
import torch

from oprl_mm.apis import (MultiLabelInferencer, box_attention_share,
                          box_pointing_hits, class_box_masks, upsample_maps)

NUM_CLASSES = 10  # the tiny model of conftest.py
REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def test_box_masks_and_shares():
    boxes = [torch.tensor([[0., 0., 4., 4.], [4., 4., 8., 8.]]),
             torch.tensor([[2., 0., 8., 2.]])]
    labels = [torch.tensor([1, 1]), torch.tensor([0])]
    masks = class_box_masks(boxes, labels, 3, (8, 8))
    assert masks.shape == (2, 3, 8, 8)
    assert masks[0, 1].sum() == 32 and masks[0, 0].sum() == 0
    assert masks[1, 0].sum() == 12 and masks[1, 0, 0, 2] and \
        not masks[1, 0, 2, 2]
    # a uniform map puts the box area share inside the boxes
    uniform = torch.full((2, 3, 8, 8), 1 / 64)
    share = box_attention_share(uniform, masks)
    assert share[0, 1].item() == pytest.approx(0.5)
    assert share[1, 0].item() == pytest.approx(12 / 64)
    # a map peaked inside the box: share 1 and a pointing hit
    peaked = torch.zeros(2, 3, 8, 8)
    peaked[:, :, 1, 3] = 1
    assert box_attention_share(peaked, masks)[1, 0] == 1
    assert box_pointing_hits(peaked, masks)[1, 0]
    assert not box_pointing_hits(peaked, masks)[1, 1]
    # upsampling keeps a distribution
    small = torch.rand(2, 3, 2, 2).softmax(-1)
    big = upsample_maps(small, (8, 8), normalize=True)
    with pytest.raises(TypeError, match='pass normalize'):
        upsample_maps(small, (8, 8), normalise=True)
    assert torch.allclose(big.flatten(2).sum(-1), torch.ones(2, 3))


def test_calibration_writes_a_file_the_inferencer_reads(
        tiny_model, run_tool, tmp_path, capsys):
    config, checkpoint, classes = tiny_model
    out = tmp_path / 'thr.json'
    run_tool('tools/analysis_tools/calibrate_thresholds.py', config,
             checkpoint, '--split', 'val', '--eval-split', 'val_shift',
             '--out', out, '--device', 'cpu', '--cfg-options',
             'val_dataloader.dataset.num_images=12')
    content = json.loads(out.read_text())
    assert content['classes'] == classes
    assert len(content['thresholds']) == NUM_CLASSES
    assert content['num_images'] == 12 and content['split'] == 'val'
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report['eval_split'] == 'val_shift'
    assert set(report['before']) == set(report['after']) >= {'CF1', 'OF1'}
    inferencer = MultiLabelInferencer(config, checkpoint, thr=str(out))
    assert torch.allclose(inferencer.thresholds,
                          torch.tensor(content['thresholds']))


def test_benchmark_json(tiny_model, run_tool, tmp_path):
    config = tiny_model[0]
    out = tmp_path / 'bench.json'
    run_tool('tools/analysis_tools/benchmark.py', config, '--device', 'cpu',
             '--img-size', 64, '--batch-sizes', 1, 2, '--warmup', 1,
             '--runs', 2, '--json', out)
    content = json.loads(out.read_text())
    rows = {r['model']: r for r in content['rows']}
    assert set(rows) == {'oprl', 'linear', 'csra', 'backbone'}
    for row in rows.values():
        assert set(row['throughput']) == {'1', '2'}
        assert all(v > 0 for v in row['throughput'].values())
        assert row['params_M'] > 0 and row['gflops'] > 0
        assert 'peak_mem_MB' in row
    assert rows['oprl']['params_M'] > rows['csra']['params_M'] >= \
        rows['backbone']['params_M']
    assert rows['oprl']['gflops'] > rows['backbone']['gflops']
    assert 'topk' in ' '.join(rows['oprl']['uncounted_ops'])
    assert content['img_size'] == 64 and content['amp'] is False
    assert set(content) >= {'device', 'torch', 'ratios'}
    assert content['ratios']['flops_ratio'] == pytest.approx(
        rows['backbone']['gflops'] / rows['oprl']['gflops'], rel=1e-3)
    # the paper's convention beside mmengine's
    pytest.importorskip('thop')
    assert content['thop_missing'] is None
    assert 'thop' in content['gflops_thop_unit']
    for row in rows.values():
        assert row['gflops_thop'] > 0 and row['thop_params_M'] > 0
    assert rows['oprl']['gflops_thop'] > rows['backbone']['gflops_thop']
    # thop has no rule for nn.MultiheadAttention nor the group-wise
    # classifier: their parameters are not in its total
    assert rows['oprl']['thop_params_M'] < rows['oprl']['params_M']
    assert rows['backbone']['thop_params_M'] == pytest.approx(
        rows['backbone']['params_M'])
    assert content['ratios']['flops_ratio_thop'] == pytest.approx(
        rows['backbone']['gflops_thop'] / rows['oprl']['gflops_thop'],
        rel=1e-3)


def test_benchmark_without_thop(tiny_model, run_tool, tmp_path, monkeypatch,
                                capsys):
    monkeypatch.setitem(sys.modules, 'thop', None)  # import fails
    out = tmp_path / 'bench.json'
    run_tool('tools/analysis_tools/benchmark.py', tiny_model[0], '--device',
             'cpu', '--img-size', 64, '--batch-sizes', 1, '--warmup', 0,
             '--runs', 1, '--models', 'oprl', 'backbone', '--json', out)
    content = json.loads(out.read_text())
    assert '.[analysis]' in content['thop_missing']
    assert all(r['gflops_thop'] is None for r in content['rows'])
    assert all(r['gflops'] > 0 for r in content['rows'])
    assert 'flops_ratio_thop' not in content['ratios']
    assert 'thop column left empty' in capsys.readouterr().out


def test_oprl_r101_size_matches_table8():
    """oprl_r101_coco448 has the paper's Table 8 size: 86 M parameters and
    34.7 G multiply-adds at 448 as thop counts them."""
    pytest.importorskip('thop')
    from mmengine.analysis import parameter_count

    from oprl_cli.launch import load_config
    tool = runpy.run_path(osp.join(REPO, 'tools/analysis_tools/benchmark.py'))
    cfg = load_config(osp.join(REPO, 'configs/oprl/oprl_r101_coco448.py'),
                      None)
    # the tool builds it with model.backbone.init_cfg=None: no download
    model = tool['build_variants'](cfg, ['oprl'])['oprl'].eval()
    assert 85.5e6 <= parameter_count(model)[''] <= 86.5e6
    macs = tool['count_thop'](model, 448, 'cpu')['flops']
    assert 34.6e9 <= macs <= 34.8e9


def test_visualize_attention_writes_a_png(tiny_model, synth_images,
                                          run_tool, tmp_path):
    import cv2
    config, checkpoint, _ = tiny_model
    image = sorted(synth_images.glob('*.png'))[0]
    run_tool('tools/visualize_attention.py', config, checkpoint, image,
             '--out', tmp_path / 'vis', '--thr', 0.5, '--device', 'cpu')
    png = tmp_path / 'vis' / '000000_attention.png'
    img = cv2.imread(str(png))
    assert img is not None and img.shape[0] > 200 and img.shape[1] > 600


def test_attention_localization(tiny_model, run_tool, tmp_path):
    config, checkpoint, _ = tiny_model
    out = tmp_path / 'loc.json'
    run_tool('tools/analysis_tools/attention_localization.py', config,
             checkpoint, '--split', 'val', '--num-images', 6,
             '--batch-size', 4, '--out', out, '--device', 'cpu')
    content = json.loads(out.read_text())
    assert content['images'] == 6 and content['pairs'] >= 6
    for key in ('spa_share', 'softmax_share', 'chance_share'):
        assert 0 < content[key] <= 1
    assert content['tau'] == 0.5


def test_calibration_from_the_test_dump(tiny_model, run_tool, tmp_path):
    """tools/test.py --dump (mmengine's DumpResults) scores a split once;
    calibrating on the dump gives the thresholds of calibrating by running
    the model."""
    from mmengine.fileio import load

    from oprl_mm.apis import metric_scores_targets
    config, checkpoint, classes = tiny_model
    dump = tmp_path / 'test_scores.pkl'
    run_tool('tools/test.py', config, checkpoint, '--work-dir',
             tmp_path / 'work', '--dump', dump)
    scores, targets = metric_scores_targets(load(str(dump)))
    assert scores.shape == targets.shape == (16, NUM_CLASSES)
    assert set(targets.unique().tolist()) <= {0.0, 1.0}
    with pytest.raises(ValueError, match=r'--dump .*\.pth.*DumpResults'):
        run_tool('tools/test.py', config, checkpoint, '--work-dir',
                 tmp_path / 'work', '--dump', tmp_path / 'old.pth')

    run_tool('tools/analysis_tools/calibrate_thresholds.py', config,
             '--predictions', dump, '--out', tmp_path / 'from_dump.json')
    run_tool('tools/analysis_tools/calibrate_thresholds.py', config,
             checkpoint, '--split', 'test', '--device', 'cpu', '--out',
             tmp_path / 'from_model.json')
    from_dump = json.loads((tmp_path / 'from_dump.json').read_text())
    from_model = json.loads((tmp_path / 'from_model.json').read_text())
    assert from_dump['classes'] == classes
    assert from_dump['num_images'] == from_model['num_images'] == 16
    assert from_dump['thresholds'] == pytest.approx(
        from_model['thresholds'], abs=1e-5)


def test_the_tools_share_one_thr_parser(tmp_path):
    import argparse

    from oprl_cli.args import add_model_args, parse_thr
    assert parse_thr('0.3') == 0.3
    file = tmp_path / 'thr.json'
    file.write_text('{}')
    assert parse_thr(str(file)) == str(file)
    with pytest.raises(argparse.ArgumentTypeError, match='neither'):
        parse_thr('nothing.json')
    parser = add_model_args(argparse.ArgumentParser(), thr=True)
    args = parser.parse_args(['c.py', 'w.pth', '--thr', '0.25',
                              '--cfg-options', 'a.b=1'])
    assert args.thr == 0.25 and args.cfg_options == {'a.b': 1}
    # default: the config's model.head.thr (the one threshold)
    assert parser.parse_args(['c.py', 'w.pth']).thr is None


def test_test_tool_refuses_a_checkpoint_that_does_not_fit(
        tiny_model, misfit_checkpoints, run_tool, tmp_path):
    # an 8-class checkpoint in the 10-class config gave a metrics table
    from oprl_mm.engine.strict_load import CheckpointMismatchError
    config, _, _ = tiny_model
    out = tmp_path / 'metrics.json'
    for name, cause in (('eight_classes', 'another class count'),
                        ('no_cooccurrence', 'co-occurrence')):
        path = misfit_checkpoints[name]
        with pytest.raises(CheckpointMismatchError) as e:
            run_tool('tools/test.py', config, path, '--work-dir',
                     tmp_path / 'work', '--out', out)
        assert path in str(e.value) and cause in str(e.value)
    assert not out.exists()
    empty = tmp_path / 'empty.pth'
    empty.write_bytes(b'')
    with pytest.raises(ValueError, match='empty file, not a checkpoint'):
        run_tool('tools/test.py', config, empty, '--work-dir',
                 tmp_path / 'work')


@pytest.mark.parametrize('option', ['--out', '--dump'])
def test_test_tool_checks_outputs_before_the_work(tiny_model, run_tool,
                                                  tmp_path, monkeypatch,
                                                  option):
    # an --out/--dump to a folder failed after the whole evaluation
    from mmengine.runner import Runner

    def no_runner(*args, **kwargs):
        raise AssertionError('the Runner was built before the check')

    monkeypatch.setattr(Runner, 'from_cfg', no_runner)
    config, checkpoint, _ = tiny_model
    (tmp_path / 'a_file').write_text('')
    for bad, expected in ((tmp_path, 'is a folder'),
                          (tmp_path / 'a_file' / 'x.pkl', 'cannot be '
                           'written')):
        with pytest.raises(ValueError) as e:
            run_tool('tools/test.py', config, checkpoint, '--work-dir',
                     tmp_path / 'work', option, bad)
        assert f'{option} {bad}' in str(e.value) and expected in str(e.value)
    if option == '--out':  # mmengine's dump knows no .txt
        with pytest.raises(ValueError, match='metrics.txt: the metrics'):
            run_tool('tools/test.py', config, checkpoint, '--work-dir',
                     tmp_path / 'work', option, tmp_path / 'metrics.txt')
