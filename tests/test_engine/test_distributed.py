"""Two CPU processes (gloo) through tools/dist_train.sh and dist_test.sh."""
import json
import os
import os.path as osp
import socket
import subprocess
import sys

import pytest
import torch

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
HERE = osp.dirname(osp.abspath(__file__))


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def run(cmd, tmp_path):
    env = dict(os.environ)
    # the launch scripts call `python`: make it this interpreter
    env['PATH'] = osp.dirname(sys.executable) + os.pathsep + env['PATH']
    env['PYTHONPATH'] = HERE + os.pathsep + env.get('PYTHONPATH', '')
    env['PORT'] = str(free_port())
    env['OMP_NUM_THREADS'] = '1'
    proc = subprocess.run(
        cmd, cwd=tmp_path, env=env, capture_output=True, text=True,
        timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


@pytest.fixture(scope='module')
def dist_run(tmp_path_factory, tiny_cfg, multilabel_writer):
    tmp_path = tmp_path_factory.mktemp('dist')
    data = multilabel_writer(tmp_path_factory.mktemp('data'), 9)
    # 9 images: 5 a rank (one padded), one step an epoch, 3 steps
    cfg = tiny_cfg(data, tmp_path / 'work', max_epochs=3)
    cfg.train_dataloader.batch_size = 5
    cfg.custom_imports = dict(
        imports=['oprl_mm', 'rank_dump_hook'], allow_failed_imports=False)
    cfg.custom_hooks.append(dict(type='RankDumpHook'))
    cfg.dump(str(tmp_path / 'tiny.py'))
    run([
        'bash',
        osp.join(ROOT, 'tools/dist_train.sh'),
        str(tmp_path / 'tiny.py'), '2'
    ], tmp_path)
    return tmp_path


def test_both_ranks_end_with_identical_weights(dist_run):
    work = dist_run / 'work'
    r0 = torch.load(work / 'rank0.pth', weights_only=True)
    r1 = torch.load(work / 'rank1.pth', weights_only=True)
    assert r0.keys() == r1.keys()
    # BatchNorm running statistics are per rank, as in any DDP run without
    # SyncBatchNorm (GPU-only); every weight and the matrix A are shared
    shared = [k for k in r0 if 'running_' not in k and 'batches_tracked'
              not in k]
    assert 'head.gcn.cooccurrence' in shared
    for key in shared:
        assert torch.equal(r0[key], r1[key]), key
    # and training moved them away from the initial weights
    init = torch.load(work / 'init.pth', weights_only=True)
    assert not torch.equal(init['head.classifier.weight'],
                           r0['head.classifier.weight'])


def assert_gloo_freed(work_dir):
    """tools/train.py and test.py free the gloo process group before exit:
    its threads left alive into interpreter shutdown abort a rank now and
    then (SIGABRT) after all results were written."""
    if not osp.isdir('/proc/self/task'):
        pytest.skip('thread names need Linux /proc')
    for rank in (0, 1):
        names = json.loads(
            (work_dir / f'exit_threads_rank{rank}.json').read_text())
        assert names, rank
        assert not [n for n in names if 'gloo' in n], (rank, names)


def test_train_frees_the_process_group_before_exit(dist_run):
    assert_gloo_freed(dist_run / 'work')


def test_two_process_eval_equals_one_process(dist_run):
    cfg, ckpt = dist_run / 'tiny.py', dist_run / 'work' / 'epoch_3.pth'
    run([
        sys.executable,
        osp.join(ROOT, 'tools/test.py'),
        str(cfg),
        str(ckpt), '--work-dir',
        str(dist_run / 'test1'), '--out',
        str(dist_run / 'one.json')
    ], dist_run)
    run([
        'bash',
        osp.join(ROOT, 'tools/dist_test.sh'),
        str(cfg),
        str(ckpt), '2', '--work-dir',
        str(dist_run / 'test2'), '--out',
        str(dist_run / 'two.json')
    ], dist_run)
    assert_gloo_freed(dist_run / 'test2')
    one = json.loads((dist_run / 'one.json').read_text())
    two = json.loads((dist_run / 'two.json').read_text())
    assert set(one) == {'mAP', 'CP', 'CR', 'CF1', 'OP', 'OR', 'OF1'}
    for key in one:
        assert one[key] == pytest.approx(two[key], abs=1e-6), key
