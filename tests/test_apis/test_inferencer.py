import json
import os.path as osp
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch

from oprl_mm.apis import (MultiLabelInferencer, f1_optimal_thresholds,
                          load_thresholds)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
NUM_CLASSES = 10  # the tiny model of conftest.py


@pytest.fixture(scope='module')
def inferencer(tiny_model):
    config, checkpoint, _ = tiny_model
    return MultiLabelInferencer(config, checkpoint, device='cpu', thr=0.0)


def test_path_array_list_and_batching(inferencer, synth_images, tiny_model):
    paths = sorted(str(p) for p in synth_images.glob('*.png'))
    one = inferencer(paths[0])
    assert isinstance(one, list) and len(one) == 1
    result = one[0]
    assert set(result) == {
        'image', 'pred_scores', 'pred_labels', 'pred_classes'
    }
    assert result['image'] == paths[0]
    assert len(result['pred_scores']) == NUM_CLASSES
    assert inferencer.classes == tiny_model[2]

    array = inferencer(cv2.imread(paths[0]))[0]
    assert array['image'] == 0  # an array input is named by its position
    np.testing.assert_allclose(array['pred_scores'], result['pred_scores'],
                               atol=1e-6)

    single = inferencer(paths, batch_size=1)
    batched = inferencer(paths, batch_size=3)
    assert len(single) == len(batched) == len(paths)
    np.testing.assert_allclose([r['pred_scores'] for r in single],
                               [r['pred_scores'] for r in batched],
                               atol=1e-5)


def test_thresholds_all_above_best_first(inferencer, synth_images,
                                         tmp_path):
    path = str(sorted(synth_images.glob('*.png'))[1])
    scores = np.array(inferencer(path)[0]['pred_scores'])
    # thr 0: every class, in decreasing score order
    everything = inferencer(path)[0]['pred_labels']
    assert everything == np.argsort(-scores, kind='stable').tolist()

    thr = float(np.median(scores))
    inferencer.set_thresholds(thr)
    result = inferencer(path)[0]
    expected = [c for c in everything if scores[c] >= thr]
    assert result['pred_labels'] == expected
    assert result['pred_classes'] == [inferencer.classes[c] for c in expected]

    # a per-class file: the class with the lowest score alone gets thr 0
    low = int(np.argmin(scores))
    per_class = [1.01] * NUM_CLASSES
    per_class[low] = 0.0
    file = tmp_path / 'thr.json'
    file.write_text(
        json.dumps(dict(classes=inferencer.classes, thresholds=per_class)))
    inferencer.set_thresholds(str(file))
    assert inferencer(path)[0]['pred_labels'] == [low]
    inferencer.set_thresholds(0.0)


def test_threshold_file_errors(tmp_path, inferencer):
    wrong = tmp_path / 'wrong.json'
    wrong.write_text(json.dumps(dict(classes=['a', 'b'], thresholds=[.5, .5])))
    with pytest.raises(ValueError, match='2 thresholds but the model has 10'):
        load_thresholds(str(wrong), NUM_CLASSES)
    with pytest.raises(ValueError, match='2 thresholds'):
        inferencer.set_thresholds(str(wrong))
    with pytest.raises(FileNotFoundError, match='nothing.json'):
        load_thresholds(str(tmp_path / 'nothing.json'), NUM_CLASSES)
    assert torch.equal(load_thresholds(0.3, 3), torch.full((3, ), 0.3))


def test_image_errors_name_the_path(inferencer, tmp_path):
    missing = str(tmp_path / 'missing.png')
    with pytest.raises(FileNotFoundError, match='missing.png'):
        inferencer(missing)
    broken = tmp_path / 'broken.png'
    broken.write_bytes(b'not an image')
    with pytest.raises(ValueError, match='broken.png'):
        inferencer(str(broken))
    with pytest.raises(ValueError, match='H x W x 3'):
        inferencer(np.zeros((8, 8), np.uint8))


def test_infer_tool_on_a_folder(tiny_model, synth_images, tmp_path):
    config, checkpoint, classes = tiny_model
    out = tmp_path / 'results.json'
    proc = subprocess.run(
        [sys.executable, osp.join(REPO, 'tools/infer.py'), config,
         checkpoint, str(synth_images), '--out', str(out), '--thr', '0.5',
         '--device', 'cpu', '--batch-size', '3'],
        capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-2000:]
    content = json.loads(out.read_text())
    images = sorted(str(p) for p in synth_images.glob('*.png'))
    assert [r['image'] for r in content['results']] == images
    assert content['classes'] == classes
    for r in content['results']:
        scores = r['pred_scores']
        assert r['pred_labels'] == sorted(
            (c for c in range(NUM_CLASSES) if scores[c] >= 0.5),
            key=lambda c: -scores[c])
    assert '000003.png' in proc.stdout and 'results written' in proc.stdout


def test_f1_optimal_thresholds_beat_every_candidate():
    gen = torch.Generator().manual_seed(0)
    target = (torch.rand(60, 5, generator=gen) < 0.3).float()
    scores = (0.4 * target + 0.8 * torch.rand(60, 5, generator=gen)).round(
        decimals=1)  # ties
    target[:3, 0] = -1  # ignored entries
    target[:, 4] = 0  # a class without positives
    thr, best = f1_optimal_thresholds(scores, target, default=0.5)
    assert thr[4] == 0.5 and best[4] == 0
    for c in range(4):
        valid = target[:, c] > -1
        s, t = scores[valid, c], target[valid, c]
        f1s = []
        for cand in s.unique():
            pred = s >= cand
            tp = (pred & (t == 1)).sum().item()
            f1s.append(2 * tp / (pred.sum().item() + (t == 1).sum().item()))
        pred = s >= thr[c]
        tp = (pred & (t == 1)).sum().item()
        f1 = 2 * tp / (pred.sum().item() + (t == 1).sum().item())
        assert f1 == pytest.approx(max(f1s)) == pytest.approx(best[c].item())


@pytest.fixture(scope='module')
def mixed_folder(synth_images, tmp_path_factory):
    """3 readable images, an empty file, a truncated JPEG and a text file
    named like an image."""
    import shutil
    folder = tmp_path_factory.mktemp('mixed')
    for src in sorted(synth_images.glob('*.png'))[:3]:
        shutil.copy(src, folder / src.name)
    (folder / 'empty.png').write_bytes(b'')
    jpeg = cv2.imencode('.jpg', cv2.imread(str(src)))[1].tobytes()
    (folder / 'truncated.jpg').write_bytes(jpeg[:len(jpeg) // 2])
    return folder


def test_unreadable_images_skipped_or_raised(inferencer, mixed_folder):
    from oprl_mm.datasets import UnreadableImageError
    paths = sorted(str(p) for p in mixed_folder.iterdir())
    good = [p for p in paths if 'empty' not in p and 'truncated' not in p]
    with pytest.warns(UserWarning, match='skipped unreadable image') as rec:
        results = inferencer(paths, batch_size=2, num_workers=2,
                             skip_unreadable=True)
    assert [r['image'] for r in results] == good
    reasons = {osp.basename(f['image']): f['reason']
               for f in inferencer.failed}
    assert reasons == {'empty.png': 'empty file',
                       'truncated.jpg': reasons['truncated.jpg']}
    assert 'cannot decode' in reasons['truncated.jpg']
    assert len([w for w in rec if 'skipped' in str(w.message)]) == 2
    # the same scores as one image at a time, without workers
    alone = inferencer(good, num_workers=0)
    np.testing.assert_allclose([r['pred_scores'] for r in results],
                               [r['pred_scores'] for r in alone], atol=1e-5)
    with pytest.raises(UnreadableImageError, match='empty.png'):
        inferencer(paths, batch_size=2, num_workers=2)
    with pytest.raises(TypeError, match='`strict` was renamed; pass '
                       'skip_unreadable'):
        inferencer(paths, strict=False)


def test_datasamples_carry_the_thresholded_labels(inferencer, synth_images):
    path = str(sorted(synth_images.glob('*.png'))[0])
    sample = inferencer(path, return_datasamples=True)[0]
    result = inferencer(path)[0]
    assert sample.pred_label.tolist() == result['pred_labels']


def run_infer(tiny_model, *args):
    config, checkpoint, _ = tiny_model
    return subprocess.run(
        [sys.executable, osp.join(REPO, 'tools/infer.py'), config,
         checkpoint, *map(str, args), '--device', 'cpu'],
        capture_output=True, text=True, cwd=REPO)


def test_infer_tool_skips_unreadable_files(tiny_model, mixed_folder,
                                           tmp_path):
    out = tmp_path / 'results.json'
    proc = run_infer(tiny_model, mixed_folder, '--out', out,
                     '--batch-size', 2)
    assert proc.returncode == 0, proc.stderr[-2000:]
    content = json.loads(out.read_text())
    assert len(content['results']) == 3
    assert {osp.basename(f['image']) for f in content['failed']} == {
        'empty.png', 'truncated.jpg'}
    assert all(f['reason'] for f in content['failed'])
    assert '3 images read, 2 unreadable' in proc.stdout
    assert proc.stderr.count('UserWarning: skipped unreadable image') == 2

    strict = run_infer(tiny_model, mixed_folder, '--no-skip-unreadable')
    assert strict.returncode != 0
    assert 'empty.png' in strict.stderr and 'Traceback' not in strict.stderr


@pytest.mark.parametrize('old, new', [(['--strict'], '--no-skip-unreadable'),
                                      (['--topk', '3'], '--shown-labels')])
def test_infer_tool_renamed_flags_name_the_new_one(tiny_model, mixed_folder,
                                                   old, new):
    proc = run_infer(tiny_model, mixed_folder, *old)
    assert proc.returncode == 2
    assert f'{old[0]} was renamed; use {new}' in proc.stderr


def test_metric_targets_ignore_difficult_only_labels():
    from oprl_mm.apis import metric_scores_targets
    samples = [
        dict(pred_score=torch.tensor([.9, .2, .7]),
             gt_label=torch.tensor([0]),
             gt_label_difficult=torch.tensor([0, 2])),
        dict(pred_score=torch.tensor([.1, .8, .3]),
             gt_label=torch.tensor([1]))
    ]
    scores, targets = metric_scores_targets(samples)
    assert torch.equal(targets, torch.tensor([[1., 0., -1.], [0., 1., 0.]]))
    assert torch.equal(scores[1], torch.tensor([.1, .8, .3]))


def test_inferencer_refuses_a_checkpoint_that_does_not_fit(
        tiny_model, misfit_checkpoints):
    from oprl_mm.engine.strict_load import CheckpointMismatchError
    config, _, _ = tiny_model
    with pytest.raises(CheckpointMismatchError, match='another class count'):
        MultiLabelInferencer(config, misfit_checkpoints['eight_classes'],
                             device='cpu')


def test_infer_tool_refuses_a_checkpoint_without_cooccurrence(
        tiny_model, misfit_checkpoints, synth_images, run_tool):
    # it predicted with the identity matrix instead, exit 0
    from oprl_mm.engine.strict_load import CheckpointMismatchError
    config, _, _ = tiny_model
    path = misfit_checkpoints['no_cooccurrence']
    with pytest.raises(CheckpointMismatchError) as e:
        run_tool('tools/infer.py', config, path, synth_images, '--device',
                 'cpu')
    assert path in str(e.value) and 'head.gcn.cooccurrence' in str(e.value)
    assert 'co-occurrence' in str(e.value)


def test_infer_tool_checks_out_before_the_work(tiny_model, synth_images,
                                               run_tool, tmp_path,
                                               monkeypatch):
    import oprl_cli.args as cli

    def no_model(*args, **kwargs):
        raise AssertionError('the model was built before the check')

    monkeypatch.setattr(cli, 'inferencer_from_args', no_model)
    config, checkpoint, _ = tiny_model
    (tmp_path / 'a_file').write_text('')
    for bad, expected in ((tmp_path, 'is a folder'),
                          (tmp_path / 'a_file' / 'r.json', 'cannot be '
                           'written')):
        with pytest.raises(ValueError) as e:
            run_tool('tools/infer.py', config, checkpoint, synth_images,
                     '--out', bad)
        assert f'--out {bad}' in str(e.value) and expected in str(e.value)


def test_infer_tool_writes_what_it_has_when_it_stops(
        tiny_model, synth_images, run_tool, tmp_path, monkeypatch):
    # an error after some batches lost every result
    calls = []
    forward = MultiLabelInferencer.forward

    def fail_second(self, data, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError('CUDA out of memory (simulated)')
        return forward(self, data, **kwargs)

    monkeypatch.setattr(MultiLabelInferencer, 'forward', fail_second)
    config, checkpoint, _ = tiny_model
    out = tmp_path / 'results.json'
    with pytest.raises(RuntimeError, match='simulated'):
        run_tool('tools/infer.py', config, checkpoint, synth_images, '--out',
                 out, '--batch-size', 2, '--num-workers', 0, '--device',
                 'cpu')
    content = json.loads(out.read_text())
    images = sorted(str(p) for p in synth_images.glob('*.png'))
    assert [r['image'] for r in content['results']] == images[:2]
    assert 'simulated' in content['stopped']


def test_failures_of_one_image_are_listed(inferencer, synth_images,
                                          monkeypatch):
    # only unreadable files were caught: a decode that ran out of memory or
    # an image too large for memory ended the run
    import mmcv
    paths = sorted(str(p) for p in synth_images.glob('*.png'))
    decode = mmcv.imfrombytes

    def out_of_memory(content, *args, **kwargs):
        if out_of_memory.calls == 1:
            out_of_memory.calls += 1
            raise MemoryError
        out_of_memory.calls += 1
        return decode(content, *args, **kwargs)

    out_of_memory.calls = 0
    monkeypatch.setattr(mmcv, 'imfrombytes', out_of_memory)
    with pytest.warns(UserWarning, match='skipped unreadable image'):
        results = inferencer(paths, num_workers=0, skip_unreadable=True)
    assert [r['image'] for r in results] == paths[:1] + paths[2:]
    assert [f['image'] for f in inferencer.failed] == [paths[1]]
    assert 'out of memory' in inferencer.failed[0]['reason']
    monkeypatch.setattr(mmcv, 'imfrombytes', decode)
    # the documented pixel limit, here below the 64 x 64 images
    monkeypatch.setattr(inferencer, 'max_pixels', 64 * 64 - 1)
    with pytest.warns(UserWarning):
        assert inferencer(paths, num_workers=0, skip_unreadable=True) == []
    assert len(inferencer.failed) == 4
    assert '64 x 64 = 4096 pixels, more than the limit of 4095' in \
        inferencer.failed[0]['reason']


def test_mmpretrain_call_and_folder_handling(inferencer, synth_images):
    """The call is mmpretrain's ``ImageClassificationInferencer.__call__``
    (its kwargs dispatch, batching, progress) and a folder path becomes
    its files, as there."""
    from mmpretrain.apis import ImageClassificationInferencer
    assert MultiLabelInferencer.__call__ is \
        ImageClassificationInferencer.__call__
    paths = sorted(str(p) for p in synth_images.glob('*.png'))
    results = inferencer(str(synth_images), batch_size=3)
    assert sorted(r['image'] for r in results) == paths
    with pytest.raises(ValueError, match='unknown argument'):
        inferencer(paths[0], no_such_option=1)


def test_the_head_owns_the_threshold(tiny_model, synth_images):
    config, checkpoint, _ = tiny_model
    path = str(sorted(synth_images.glob('*.png'))[0])
    # no thr: the config's head threshold, read back and applied
    own = MultiLabelInferencer(config, checkpoint, device='cpu',
                               cfg_options={'model.head.thr': 0.45})
    assert own.model.head.thr == 0.45
    assert torch.equal(own.thresholds, torch.full((NUM_CLASSES, ), 0.45))
    result = own(path)[0]
    scores = np.array(result['pred_scores'])
    assert sorted(result['pred_labels']) == np.flatnonzero(
        scores >= 0.45).tolist()
    # thr sets the head's threshold, per class too: test_step's
    # pred_label (what MLCMetric counts) is the inferencer's labels
    per_class = np.where(np.arange(NUM_CLASSES) % 2 == 0, 0.0, 1.01)
    own.set_thresholds(per_class.tolist())
    assert torch.equal(own.model.head.thr.cpu(),
                       torch.tensor(per_class, dtype=torch.float32))
    sample = own.model.test_step(pseudo_batch(own, path))[0]
    assert sorted(sample.pred_label.tolist()) == list(
        range(0, NUM_CLASSES, 2)) == sorted(own(path)[0]['pred_labels'])
    own.thresholds = 0.2  # the attribute of before: sets the head's
    assert own.model.head.thr == 0.2


def pseudo_batch(inferencer, path):
    from mmengine.dataset import pseudo_collate
    return pseudo_collate([inferencer.prepare(path)])


def test_show_dir_draws_the_images_read(inferencer, mixed_folder, tmp_path):
    """A skipped image has no prediction: the drawings are those of the
    images read, each under its own name."""
    paths = sorted(str(p) for p in mixed_folder.iterdir())
    with pytest.warns(UserWarning, match='skipped unreadable image'):
        results = inferencer(paths, batch_size=2, skip_unreadable=True,
                             show_dir=str(tmp_path / 'vis'))
    drawn = sorted(p.stem for p in (tmp_path / 'vis').iterdir())
    assert drawn == sorted(osp.splitext(osp.basename(r['image']))[0]
                           for r in results)
    assert len(drawn) == 3
