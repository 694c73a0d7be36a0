"""Runs that survive preemption, driven as a user would: ``tools/train.py``
in a subprocess, killed (SIGKILL in the middle of a chosen checkpoint write,
or SIGTERM after a chosen iteration), then ``tools/train.py --resume``.

After any kill, ``--resume`` finishes the run; every checkpoint that
``last_checkpoint`` or a ``best_*`` name points at loads; a best checkpoint
exists; nothing outside the work dir changed; and a run resumed at an epoch
boundary ends with the weights of an uninterrupted one.
"""
import glob
import hashlib
import os
import os.path as osp
import socket
import subprocess
import sys

import pytest
import torch

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
HERE = osp.dirname(osp.abspath(__file__))
TRAIN = osp.join(ROOT, 'tools', 'train.py')
EPOCHS = 3


@pytest.fixture(scope='module')
def config(tmp_path_factory, tiny_cfg, multilabel_writer):
    """3 epochs of 2 iterations, a new best every epoch, the default
    runtime's checkpoint and preemption hooks."""
    data = multilabel_writer(tmp_path_factory.mktemp('data'), 8)
    cfg = tiny_cfg(data, 'unused', max_epochs=EPOCHS)
    cfg.pop('work_dir')
    cfg.param_scheduler.pop('end')  # spans train_cfg.max_epochs
    cfg.default_hooks.checkpoint = dict(
        type='AtomicCheckpointHook', interval=1, max_keep_ckpts=2,
        save_best='step', rule='greater')
    cfg.custom_hooks += [dict(type='PreemptionHook'), dict(type='KillHook')]
    cfg.custom_imports = dict(
        imports=['oprl_mm', 'kill_hook'], allow_failed_imports=False)
    path = tmp_path_factory.mktemp('cfg') / 'tiny.py'
    cfg.dump(str(path))
    return str(path)


def train(config, work_dir, *args, kill=None, cwd=None):
    env = dict(os.environ, OMP_NUM_THREADS='1')
    env['PYTHONPATH'] = os.pathsep.join(
        [HERE, ROOT, env.get('PYTHONPATH', '')])
    env.pop('OPRL_TEST_KILL', None)
    if kill:
        env['OPRL_TEST_KILL'] = kill
    # a session of its own: a signal to its process group reaches only it
    return subprocess.run(
        [sys.executable, TRAIN, config, '--work-dir', str(work_dir), *args],
        env=env, cwd=cwd or work_dir.parent, capture_output=True, text=True,
        timeout=300, start_new_session=True)


def output(proc):
    return proc.stdout[-3000:] + proc.stderr[-3000:]


def final_weights(work_dir):
    ckpt = torch.load(osp.join(work_dir, f'epoch_{EPOCHS}.pth'),
                      weights_only=True)
    return ckpt['state_dict'], ckpt['ema_state_dict']


def assert_consistent(work_dir):
    """What ``last_checkpoint`` and every best name point at loads; a best
    exists; no temporary file is left."""
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        last = f.read().strip()
    torch.load(last, weights_only=True)
    bests = glob.glob(osp.join(work_dir, 'best_*.pth'))
    assert bests
    for best in bests:
        torch.load(best, weights_only=True)
    assert not glob.glob(osp.join(work_dir, '.*.tmp'))


def tree_digest(folder, skip=None):
    digest = {}
    for path in sorted(glob.glob(osp.join(folder, '**'), recursive=True)):
        if osp.isfile(path) and (skip is None or skip not in path):
            with open(path, 'rb') as f:
                digest[path] = hashlib.sha256(f.read()).hexdigest()
    return digest


@pytest.fixture(scope='module')
def uninterrupted(config, tmp_path_factory):
    work = tmp_path_factory.mktemp('straight') / 'work'
    proc = train(config, work)
    assert proc.returncode == 0, output(proc)
    assert_consistent(work)
    return work


# Checkpoint writes, per epoch: epoch_N.pth, last_checkpoint (after the
# epoch), best_step_epoch_N.pth, epoch_N.pth again (with the new best in its
# state), last_checkpoint (after validation).
# (write 10, last_checkpoint after epoch 2's validation, is the resume at an
# epoch boundary below)
WRITES = {
    'epoch_2 rewritten in place': 9,
    'best of epoch 2': 8,
}


@pytest.mark.parametrize('moment', list(WRITES))
def test_sigkill_during_a_write_then_resume_finishes(config, tmp_path,
                                                     uninterrupted, moment):
    work = tmp_path / 'work'
    outside = [osp.dirname(config), str(tmp_path)]
    before = [tree_digest(d, skip=str(work)) for d in outside]
    killed = train(config, work, kill=f'write:{WRITES[moment]}')
    assert killed.returncode == -9, output(killed)
    resumed = train(config, work, '--resume')
    assert resumed.returncode == 0, output(resumed)
    assert osp.isfile(work / f'epoch_{EPOCHS}.pth')
    assert_consistent(work)
    assert [tree_digest(d, skip=str(work)) for d in outside] == before


def test_resume_at_an_epoch_boundary_is_exact(config, tmp_path,
                                              uninterrupted):
    # killed writing last_checkpoint after epoch 2's validation: the resume
    # starts at the boundary of epochs 2 and 3
    work = tmp_path / 'work'
    outside = [osp.dirname(config), str(tmp_path)]
    before = [tree_digest(d, skip=str(work)) for d in outside]
    killed = train(config, work, kill='write:10')
    assert killed.returncode == -9, output(killed)
    resumed = train(config, work, '--resume')
    assert resumed.returncode == 0, output(resumed)
    assert_consistent(work)
    assert [tree_digest(d, skip=str(work)) for d in outside] == before
    for got, want in zip(final_weights(work), final_weights(uninterrupted)):
        assert got.keys() == want.keys()
        for key in want:
            assert torch.equal(got[key], want[key]), key


def test_sigterm_saves_exits_75_and_resumes(config, tmp_path):
    # SIGTERM to the process group, dataloader workers included, as Slurm
    # sends it, after iteration 3 (in epoch 2 of 3)
    work = tmp_path / 'work'
    stopped = train(config, work, '--cfg-options',
                    'train_dataloader.num_workers=2', kill='termgroup:3')
    assert stopped.returncode == 75, output(stopped)
    assert 'SIGTERM: stopped after iteration 3' in stopped.stdout + \
        stopped.stderr
    with open(work / 'last_checkpoint') as f:
        assert f.read().strip().endswith('iter_3.pth')
    ckpt = torch.load(work / 'iter_3.pth', weights_only=True)
    assert ckpt['meta']['iter'] == 3 and 'optimizer' in ckpt
    resumed = train(config, work, '--resume')
    assert resumed.returncode == 0, output(resumed)
    assert osp.isfile(work / f'epoch_{EPOCHS}.pth')
    assert not osp.exists(work / 'iter_3.pth')  # superseded, then removed
    assert_consistent(work)
    # mmengine's epoch loop restarts the interrupted epoch from its first
    # batch: the batch done before the stop is trained on twice
    final = torch.load(work / f'epoch_{EPOCHS}.pth', weights_only=True)
    assert final['meta']['iter'] == 2 * EPOCHS + 1


def test_ranks_stop_together_when_one_gets_sigterm(config, tmp_path):
    # SIGTERM reaches rank 1 only; rank 0, which writes the checkpoint,
    # stops after the same iteration
    work = tmp_path / 'work'
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    env = dict(os.environ, OMP_NUM_THREADS='1', PORT=str(port),
               OPRL_TEST_KILL='term:3', OPRL_TEST_KILL_RANK='1')
    env['PATH'] = osp.dirname(sys.executable) + os.pathsep + env['PATH']
    env['PYTHONPATH'] = os.pathsep.join([HERE, env.get('PYTHONPATH', '')])
    proc = subprocess.run(
        ['bash', osp.join(ROOT, 'tools', 'dist_train.sh'), config, '2',
         '--work-dir', str(work), '--cfg-options',
         'train_dataloader.batch_size=2'],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    # torchrun reports its ranks' exit status 75 as a failure
    assert proc.returncode != 0
    assert 'exitcode  : 75' in proc.stderr, output(proc)
    with open(work / 'last_checkpoint') as f:
        assert f.read().strip().endswith('iter_3.pth')
    ckpt = torch.load(work / 'iter_3.pth', weights_only=True)
    assert ckpt['meta']['iter'] == 3


FAKE_SRUN = '''#!/usr/bin/env bash
echo "$*" >> "$LOG"
calls=$(wc -l < "$LOG")
[ "$calls" -ge 2 ] && exit 0
exit 75
'''


@pytest.mark.parametrize('in_batch_job', [False, True])
def test_slurm_train_requeues_on_exit_75(tmp_path, in_batch_job):
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    (bin_dir / 'srun').write_text(FAKE_SRUN)
    (bin_dir / 'scontrol').write_text(
        '#!/usr/bin/env bash\necho "scontrol $*" >> "$LOG"\n')
    for tool in bin_dir.iterdir():
        tool.chmod(0o755)
    env = dict(os.environ, LOG=str(tmp_path / 'calls'),
               PATH=f'{bin_dir}{os.pathsep}{os.environ["PATH"]}')
    env.pop('SLURM_JOB_ID', None)
    if in_batch_job:
        env['SLURM_JOB_ID'] = '123'
    proc = subprocess.run(
        ['bash', osp.join(ROOT, 'tools', 'slurm_train.sh'), 'part', 'job',
         'cfg.py', 'work'], env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    calls = (tmp_path / 'calls').read_text().splitlines()
    if in_batch_job:  # the batch job is requeued; its script runs again
        assert len(calls) == 2 and calls[1] == 'scontrol requeue 123'
    else:  # srun again
        assert len(calls) == 2 and calls[0] == calls[1]
    assert '--signal=TERM@300' in calls[0]
    assert '--resume' in calls[0].split()


def test_resume_into_another_work_dir_keeps_the_other_best(
        config, tmp_path, uninterrupted):
    # the checkpoint names the source run's best as the best so far
    source = str(uninterrupted)
    before = tree_digest(source)
    work = tmp_path / 'other'
    proc = train(config, work, '--resume',
                 osp.join(source, f'epoch_{EPOCHS}.pth'),
                 '--cfg-options', f'train_cfg.max_epochs={EPOCHS + 1}')
    assert proc.returncode == 0, output(proc)
    assert tree_digest(source) == before
    assert_consistent(work)
    # and the longer schedule is reported
    assert 'The schedule length changed' in output(proc)


def test_resume_of_a_missing_work_dir_says_it_starts_from_scratch(
        config, tmp_path):
    work = tmp_path / 'typo'
    proc = train(config, work, '--resume',
                 '--cfg-options', 'train_cfg.max_epochs=1')
    assert proc.returncode == 0, output(proc)
    assert 'does not exist: training starts from scratch' in output(proc)
