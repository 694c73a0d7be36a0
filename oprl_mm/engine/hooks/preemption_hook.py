"""Stop on SIGTERM as a cluster scheduler sends it ahead of a kill.

Slurm (``--signal=TERM@300``, preemption with a grace time) and most job
schedulers send SIGTERM some time before SIGKILL. Python's default is to die
at once, losing up to an epoch of training. :class:`PreemptionHook` lets the
iteration in flight finish, writes a resumable checkpoint of every iteration
done (atomically, through :class:`AtomicCheckpointHook`), logs how to resume
and raises :class:`Preempted`, which ``tools/train.py`` turns into exit
status 75 (``EX_TEMPFAIL``: try again), the status ``tools/slurm_train.sh``
requeues on.
"""
import signal
import threading
from typing import Optional

import torch
from mmengine.dist import all_reduce, barrier, get_world_size, is_main_process
from mmengine.hooks import Hook
from mmpretrain.registry import HOOKS

from .atomic_checkpoint_hook import AtomicCheckpointHook

EX_TEMPFAIL = 75


class Preempted(Exception):
    """Training stopped on SIGTERM after writing ``checkpoint``."""

    def __init__(self, checkpoint: str, iteration: int):
        super().__init__(f'stopped on SIGTERM after iteration {iteration}; '
                         f'resumable checkpoint: {checkpoint}')
        self.checkpoint = checkpoint
        self.iteration = iteration


@HOOKS.register_module()
class PreemptionHook(Hook):
    """On SIGTERM: finish the iteration, save, say how to resume, stop.

    The signal handler only sets a flag; after each training iteration the
    flag is combined over all ranks (one max-reduce of one integer), so that
    every rank stops after the same iteration even when the signal reaches
    them at different moments.

    Args:
        sync_interval (int): iterations between two checks of the flag in a
            distributed run (every check is one collective). Defaults to 1.
    """

    priority = 'LOWEST'  # after EMA, the scheduler and the logger

    def __init__(self, sync_interval: int = 1):
        if sync_interval < 1:
            raise ValueError('PreemptionHook: sync_interval must be >= 1, '
                             f'got {sync_interval}')
        self.sync_interval = sync_interval
        self.requested = False
        self._previous = None

    def _on_sigterm(self, signum, frame):
        # no logging here: a handler may interrupt the logging module itself
        self.requested = True

    def before_train(self, runner) -> None:
        if self._checkpoint_hook(runner) is None:
            runner.logger.warning(
                "PreemptionHook needs default_hooks.checkpoint of type "
                "'AtomicCheckpointHook' (configs/_base_/default_runtime.py) "
                'to write the checkpoint of a preempted run; with this '
                'config SIGTERM ends the run without a checkpoint.')
        elif threading.current_thread() is not threading.main_thread():
            runner.logger.warning(
                'PreemptionHook: training runs outside the main thread, '
                'where no signal handler can be set; SIGTERM ends the run '
                'without a checkpoint.')
        else:
            self._previous = signal.signal(signal.SIGTERM, self._on_sigterm)

    def after_train(self, runner) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGTERM, self._previous)
            self._previous = None

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs=None) -> None:
        if not self._stop_agreed(runner):
            return
        path = self._checkpoint_hook(runner).save_now(runner)
        barrier()  # rank 0 has written the checkpoint
        done = runner.iter + 1
        if is_main_process():
            config = runner.cfg.filename or 'CONFIG'
            runner.logger.warning(
                f'SIGTERM: stopped after iteration {done} (epoch '
                f'{runner.epoch + 1}, not finished); saved {path}. Resume '
                f'with: python tools/train.py {config} --work-dir '
                f'{runner.work_dir} --resume')
        self.after_train(runner)
        raise Preempted(path, done)

    def _stop_agreed(self, runner) -> bool:
        if get_world_size() == 1:
            return self.requested
        if (runner.iter + 1) % self.sync_interval:
            return False
        flag = torch.tensor([int(self.requested)])
        all_reduce(flag, op='max')
        return bool(flag.item())

    @staticmethod
    def _checkpoint_hook(runner) -> Optional[AtomicCheckpointHook]:
        for hook in runner.hooks:
            if isinstance(hook, AtomicCheckpointHook):
                return hook
        return None
