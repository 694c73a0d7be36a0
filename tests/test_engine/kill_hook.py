"""A hook for the preemption tests: kills its own process at a chosen moment,
as a scheduler or an operator would.

``OPRL_TEST_KILL`` chooses the moment (unset: the hook does nothing):

- ``write:K``: SIGKILL in the middle of the K-th file write of a checkpoint
  or of ``last_checkpoint`` (half of its bytes written), whatever writes it
  (mmengine's in-place writes or a temporary file);
- ``term:N``: SIGTERM to this process after training iteration N (in a
  distributed run, with ``OPRL_TEST_KILL_RANK``, to that rank only);
- ``termgroup:N``: SIGTERM to this process's whole process group (its
  dataloader workers included), as Slurm signals a job step.

It also adds ``step`` (the epoch number) to the validation metrics, so that
``save_best='step'`` makes a new best checkpoint every epoch.
"""
import builtins
import io
import os
import os.path as osp
import signal

from mmengine.hooks import Hook
from mmpretrain.registry import HOOKS


def _target(file):
    """The path an ``open`` argument writes to (a name or a descriptor)."""
    if isinstance(file, int):
        return os.readlink(f'/proc/self/fd/{file}')
    return os.fspath(file)


def _is_checkpoint_write(path: str) -> bool:
    name = osp.basename(path)
    return '.pth' in name or 'last_checkpoint' in name


class _KillingFile:
    """A file whose next write stops half-way with SIGKILL."""

    def __init__(self, file):
        self._file = file

    def write(self, data):
        self._file.write(data[:len(data) // 2])
        self._file.flush()
        os.kill(os.getpid(), signal.SIGKILL)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return self._file.__exit__(*exc)

    def __getattr__(self, name):
        return getattr(self._file, name)


def _kill_at_write(k: int) -> None:
    original = io.open
    count = [0]

    def killing_open(file, mode='r', *args, **kwargs):
        handle = original(file, mode, *args, **kwargs)
        if 'w' in mode and _is_checkpoint_write(_target(file)):
            count[0] += 1
            if count[0] == k:
                return _KillingFile(handle)
        return handle

    builtins.open = io.open = killing_open


@HOOKS.register_module()
class KillHook(Hook):

    priority = 'NORMAL'  # before PreemptionHook (LOWEST)

    def __init__(self):
        spec = os.environ.get('OPRL_TEST_KILL', '')
        self.kind, _, number = spec.partition(':')
        self.number = int(number) if number else None
        rank = os.environ.get('OPRL_TEST_KILL_RANK')
        self.this_rank = rank is None or rank == os.environ.get('RANK', '0')

    def before_run(self, runner):
        if self.kind == 'write':
            _kill_at_write(self.number)

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        if not self.this_rank or runner.iter + 1 != self.number:
            return
        if self.kind == 'term':
            os.kill(os.getpid(), signal.SIGTERM)
        elif self.kind == 'termgroup':
            os.killpg(os.getpgrp(), signal.SIGTERM)

    def after_val_epoch(self, runner, metrics=None):
        if metrics is not None:
            metrics['step'] = float(runner.epoch)
