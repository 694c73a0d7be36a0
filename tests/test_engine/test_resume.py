"""The pieces behind a run that survives preemption: atomic writes, the
choice of the checkpoint to resume from, the one-cycle length, the
process-group timeout message and the launcher watch."""
import copy
import logging
import os
import os.path as osp
import signal
import socket
import subprocess
import sys
import textwrap
import time

import pytest
import torch
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.runner import Runner

from oprl_cli.launch import collective_timeout_message
from oprl_mm.engine.hooks import atomic_write
from oprl_mm.engine.resume import choose_resume_checkpoint, resume_config

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
# the repository and tools/ (oprl_cli) for the scripts these tests start
SCRIPT_PATH = os.pathsep.join(
    [ROOT, osp.join(ROOT, 'tools'),
     os.environ.get('PYTHONPATH', '')])


def test_atomic_write_keeps_the_old_file_when_a_write_fails(
        tmp_path, monkeypatch):
    path = tmp_path / 'epoch_1.pth'
    atomic_write(b'old', str(path))

    def full_disk(fd):
        raise OSError('No space left on device')

    monkeypatch.setattr(os, 'fsync', full_disk)
    with pytest.raises(OSError):
        atomic_write(b'new, never complete', str(path))
    monkeypatch.undo()
    assert path.read_bytes() == b'old'
    assert os.listdir(tmp_path) == ['epoch_1.pth']  # no temporary left
    atomic_write(b'new', str(path))
    assert path.read_bytes() == b'new'


def fake_checkpoint(path, done):
    torch.save(dict(meta=dict(iter=done), state_dict={}), path)


@pytest.fixture
def messages():
    """What the resume logic logs."""
    records = []
    handler = logging.Handler()
    handler.emit = lambda record: records.append(record.getMessage())
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    yield records
    logger.removeHandler(handler)


def test_unreadable_last_checkpoint_falls_back_to_the_newest_intact(
        tmp_path, messages):
    fake_checkpoint(tmp_path / 'epoch_1.pth', 2)
    fake_checkpoint(tmp_path / 'iter_3.pth', 3)
    fake_checkpoint(tmp_path / 'best_mAP_epoch_2.pth', 4)  # not resumable
    data = (tmp_path / 'epoch_1.pth').read_bytes()
    (tmp_path / 'epoch_2.pth').write_bytes(data[:len(data) // 2])
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'epoch_2.pth'))
    assert choose_resume_checkpoint(str(tmp_path)) == str(
        tmp_path / 'iter_3.pth')
    assert len(messages) == 1 and 'epoch_2.pth is unreadable' in messages[0]
    # an empty file, and an explicit path, the same way
    (tmp_path / 'iter_3.pth').write_bytes(b'')
    assert choose_resume_checkpoint(
        str(tmp_path), str(tmp_path / 'iter_3.pth')) == str(
            tmp_path / 'epoch_1.pth')


@pytest.mark.parametrize('state', ['does not exist', 'holds no checkpoint'])
def test_nothing_to_resume_says_it_starts_from_scratch(tmp_path, messages,
                                                       state):
    work = tmp_path / 'work'
    if state == 'holds no checkpoint':
        work.mkdir()
        (work / 'epoch_1.pth').write_bytes(b'PK')  # unreadable
    cfg = resume_config(
        Config(dict(work_dir=str(work), resume=True, load_from=None)), 'auto')
    assert cfg.resume is False
    assert messages == [f'--resume: the work dir {work} {state}: training '
                        'starts from scratch.']


def test_one_cycle_spans_train_cfg_max_epochs(tiny_data, tiny_cfg, tmp_path):
    for name in ('oprl_r101_coco448', 'oprl_r18_synth'):
        cfg = Config.fromfile(osp.join(ROOT, 'configs', 'oprl', name + '.py'))
        assert 'end' not in cfg.param_scheduler, name
    cfg = tiny_cfg(tiny_data, tmp_path, max_epochs=2)
    cfg.param_scheduler.pop('end')
    runner = Runner.from_cfg(copy.deepcopy(cfg))
    runner.train()
    scheduler = runner.param_schedulers[0]
    assert scheduler.end == 2 * len(runner.train_dataloader)
    # annealed to the end: far below the peak
    assert runner.optim_wrapper.get_lr()['lr'][0] < 1e-3 * 1e-3


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def test_stalled_rank_ends_in_a_message_naming_the_rank(tmp_path):
    # rank 1 joins the group, then stalls; rank 0 waits on an all_reduce
    script = textwrap.dedent(f'''
        import datetime, os, sys, time
        import torch, torch.distributed as dist
        from oprl_cli.launch import (
            collective_timeout_message, exit_after_collective_timeout)
        dist.init_process_group('gloo',
                                timeout=datetime.timedelta(seconds=2))
        if dist.get_rank() == 1:
            time.sleep(120)
            os._exit(0)
        try:
            dist.all_reduce(torch.ones(1))
        except RuntimeError as err:
            # what tools/train.py does with a timed-out collective
            exit_after_collective_timeout(
                collective_timeout_message(err) or repr(err))
    ''')
    env = dict(os.environ, MASTER_ADDR='127.0.0.1',
               MASTER_PORT=str(free_port()), WORLD_SIZE='2',
               PYTHONPATH=SCRIPT_PATH)
    procs = [
        subprocess.Popen([sys.executable, '-c', script],
                         env=dict(env, RANK=str(rank)),
                         stderr=subprocess.PIPE, text=True)
        for rank in (0, 1)
    ]
    _, err = procs[0].communicate(timeout=100)
    stalled_still = procs[1].poll() is None
    procs[1].kill()
    procs[1].communicate()
    assert stalled_still  # the timeout ended rank 0, not the peer's exit
    assert procs[0].returncode == 1
    assert err.strip().splitlines()[-1].startswith('rank 0 of 2: a '
                                                   'collective operation')


def test_message_only_for_timeouts():
    assert collective_timeout_message(RuntimeError('CUDA out of memory')) \
        is None


def test_a_rank_stops_when_its_launcher_dies(tmp_path):
    pid_file = tmp_path / 'child.pid'
    rank = textwrap.dedent(f'''
        import os, time
        from oprl_cli.launch import exit_with_launcher
        exit_with_launcher(interval=0.1)
        open({str(pid_file)!r}, 'w').write(str(os.getpid()))
        time.sleep(300)
    ''')
    launcher = textwrap.dedent(f'''
        import subprocess, sys
        subprocess.Popen([sys.executable, '-c', {rank!r}]).wait()
    ''')
    env = dict(os.environ, PYTHONPATH=SCRIPT_PATH)
    agent = subprocess.Popen([sys.executable, '-c', launcher], env=env)
    deadline = time.monotonic() + 180  # imports take long on a busy machine
    while not pid_file.exists() or not pid_file.read_text():
        assert time.monotonic() < deadline and agent.poll() is None
        time.sleep(0.1)
    child = int(pid_file.read_text())
    agent.send_signal(signal.SIGKILL)
    agent.wait()
    deadline = time.monotonic() + 60
    while alive(child):
        assert time.monotonic() < deadline, 'the orphan kept running'
        time.sleep(0.1)


def alive(pid):
    """Running (a zombie waiting for its reaper counts as gone)."""
    try:
        with open(f'/proc/{pid}/stat') as f:
            return f.read().rsplit(')', 1)[1].split()[0] != 'Z'
    except FileNotFoundError:
        return False


@pytest.mark.parametrize('name', ['oprl_r101_coco448', 'oprl_r101_voc448',
                                  'oprl_r101_nus448'])
def test_real_loaders_time_out_unless_without_workers(name):
    from oprl_cli.launch import load_config
    path = osp.join(ROOT, 'configs', 'oprl', name + '.py')
    cfg = load_config(path)
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        assert cfg[key].num_workers > 0 and cfg[key].timeout > 0, key
    # torch refuses a timeout without workers: dropped for num_workers=0
    cfg = load_config(path, {'train_dataloader.num_workers': 0})
    assert 'timeout' not in cfg.train_dataloader
    assert cfg.val_dataloader.timeout > 0
