"""Checkpoints that a kill never leaves half-written.

mmengine's ``CheckpointHook`` writes a checkpoint in place, writes
``last_checkpoint`` in place, removes the oldest checkpoint before the new one
is written and, with ``save_best``, removes the previous best before the new
best is written; it also removes the previous best wherever it lies (the path
comes from the checkpoint a run resumed from, possibly another work dir). A
kill at the wrong moment leaves ``last_checkpoint`` pointing at a truncated
file, or no intact best checkpoint at all.

:class:`AtomicCheckpointHook` keeps mmengine's schedule (interval, keep, best)
and changes only how files are written and removed:

- every file is written by :func:`atomic_write` (a temporary name in the same
  folder, flushed, fsynced, renamed over the final name), through the
  registered file backend ``atomic_local`` that ``runner.save_checkpoint``
  also uses;
- ``last_checkpoint`` is written the same way, after its target is complete;
- outdated checkpoints and the previous best are removed after the new file
  is complete, and only when they lie inside this run's checkpoint folder.

``CheckpointHook`` has no public seam for how it writes and removes files:
the hook overrides its private ``_save_checkpoint_with_step`` and
``_save_best_checkpoint`` (mmengine 0.10); tests/test_engine/test_hooks.py
checks that mmengine still calls them with these arguments.
"""
import glob
import os
import os.path as osp
import tempfile
from typing import Optional

from mmengine.dist import is_main_process
from mmengine.fileio import LocalBackend, register_backend
from mmengine.hooks import CheckpointHook
from mmpretrain.registry import HOOKS

ATOMIC_BACKEND = 'atomic_local'


def atomic_write(data: bytes, path: str) -> None:
    """Write ``data`` to ``path`` so that ``path`` is either its old content
    or the whole new one, whenever the process is killed.

    The bytes go to a temporary file in the same folder (so that the rename
    stays on one file system), are flushed and fsynced, and the file is
    renamed over ``path`` (``os.replace``, atomic on POSIX); the folder is
    fsynced so that the rename survives a crash of the machine too.
    """
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        dir=folder, prefix=f'.{osp.basename(path)}.', suffix='.tmp')
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise
    dir_fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


@register_backend(ATOMIC_BACKEND)
class AtomicLocalBackend(LocalBackend):
    """mmengine's local file backend whose writes are atomic
    (:func:`atomic_write`). Select it with
    ``backend_args=dict(backend='atomic_local')``."""

    def put(self, obj: bytes, filepath) -> None:
        atomic_write(obj, str(filepath))

    def put_text(self, obj: str, filepath, encoding: str = 'utf-8') -> None:
        atomic_write(obj.encode(encoding), str(filepath))


def is_inside(path: str, folder: str) -> bool:
    """Whether ``path`` lies inside ``folder`` (symlinks resolved)."""
    path, folder = osp.realpath(path), osp.realpath(folder)
    return osp.commonpath([path, folder]) == folder


class _DeferredRemoval:
    """A file backend's stand-in that records removals instead of doing
    them; every other call goes to the backend."""

    def __init__(self, backend):
        self._backend = backend
        self.removals = []

    def remove(self, path):
        self.removals.append(path)

    def rmtree(self, path):
        self.removals.append(path)

    def __getattr__(self, name):
        return getattr(self._backend, name)


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """mmengine's ``CheckpointHook`` whose files survive a kill at any moment.

    It takes every argument of ``CheckpointHook``; without ``backend_args``
    (and ``file_client_args``) it writes through the ``atomic_local`` backend.
    A checkpoint, then ``last_checkpoint``, is complete on disk before any
    older file is removed, and nothing outside the checkpoint folder is ever
    removed (a best checkpoint recorded by a run this one resumed from stays
    where it is).

    It also writes the checkpoint of a preempted run (:meth:`save_now`,
    called by ``PreemptionHook``), and says so when a resumed run's schedule
    length differs from the checkpoint's.
    """

    def __init__(self, *args, backend_args: Optional[dict] = None, **kwargs):
        if backend_args is None and kwargs.get('file_client_args') is None:
            backend_args = dict(backend=ATOMIC_BACKEND)
        super().__init__(*args, backend_args=backend_args, **kwargs)

    def before_train(self, runner) -> None:
        super().before_train(runner)
        if is_main_process():
            self._remove_partial_writes(runner)

    def _remove_partial_writes(self, runner) -> None:
        """Temporary files of :func:`atomic_write` that a kill left behind
        (never a checkpoint: the rename had not happened)."""
        leftovers = set()
        for folder in {self.out_dir, runner.work_dir}:
            for pattern in ('.*.pth.*.tmp', '.last_checkpoint.*.tmp'):
                leftovers.update(glob.glob(osp.join(folder, pattern)))
        for path in sorted(leftovers):
            runner.logger.info(f'Removing {path}, a checkpoint write that '
                               'was interrupted.')
            os.remove(path)

    def _save_checkpoint_with_step(self, runner, step, meta):
        """Write the checkpoint of ``step``, then ``last_checkpoint``, then
        remove the checkpoints beyond ``max_keep_ckpts``."""
        outdated = self._update_keep_ids(runner, step)
        self._write(runner, self.filename_tmpl.format(step), meta)
        if is_main_process():
            for old in outdated:
                path = self._path(self.filename_tmpl.format(old))
                self._remove_inside(runner, path)
            self._remove_preemption_checkpoint(runner)

    def _update_keep_ids(self, runner, step) -> list:
        """Record ``step`` among the kept checkpoints; return the steps that
        fall out (removed once the new checkpoint is complete)."""
        if self.max_keep_ckpts <= 0 or (self.keep_ckpt_ids
                                        and self.keep_ckpt_ids[-1] == step):
            return []
        outdated = []
        if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
            outdated.append(self.keep_ckpt_ids.popleft())
        self.keep_ckpt_ids.append(step)
        runner.message_hub.update_info('keep_ckpt_ids',
                                       list(self.keep_ckpt_ids))
        return outdated

    def _write(self, runner, filename: str, meta: dict) -> str:
        """``runner.save_checkpoint`` (atomic through the backend), then
        ``last_checkpoint`` pointing at it."""
        self.last_ckpt = self._path(filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        runner.save_checkpoint(
            self.out_dir,
            filename,
            self.file_client_args,
            save_optimizer=self.save_optimizer,
            save_param_scheduler=self.save_param_scheduler,
            meta=meta,
            by_epoch=self.by_epoch,
            backend_args=self.backend_args,
            **self.args)
        if is_main_process():
            atomic_write(
                str(self.last_ckpt).encode(),
                osp.join(runner.work_dir, 'last_checkpoint'))
        return self.last_ckpt

    def _save_best_checkpoint(self, runner, metrics) -> None:
        """mmengine's best-checkpoint logic, with the previous best removed
        after the new one is complete, and only inside the folder."""
        if not self.save_best:
            return
        self._forget_foreign_best(runner)
        backend = self.file_backend
        deferred = _DeferredRemoval(backend)
        self.file_backend = deferred
        try:
            super()._save_best_checkpoint(runner, metrics)
        finally:
            self.file_backend = backend
        current = set(self._best_paths().values())
        if is_main_process():
            for path in deferred.removals:
                if path not in current:
                    self._remove_inside(runner, path)

    def _forget_foreign_best(self, runner) -> None:
        """A best checkpoint outside the folder (recorded by the run this one
        resumed from) is another run's: it is never replaced here."""
        for key, path in self._best_paths().items():
            if path and not is_inside(path, self.out_dir):
                runner.logger.info(
                    f'The best checkpoint so far, {path}, lies outside '
                    f'{self.out_dir}: it is kept, and this run saves its '
                    'own best there.')
                if key is None:
                    self.best_ckpt_path = None
                else:
                    self.best_ckpt_path_dict[key] = None

    def _best_paths(self) -> dict:
        """Key indicator (None with a single one) -> its best so far."""
        if len(self.key_indicators) == 1:
            return {None: self.best_ckpt_path}
        return dict(self.best_ckpt_path_dict)

    def save_now(self, runner) -> str:
        """Write a resumable checkpoint of the iterations done so far
        (``iter_{N}.pth``, then ``last_checkpoint``); the next regular
        checkpoint removes it. Returns its path."""
        done = runner.iter + 1
        filename = f'iter_{done}.pth'
        # recorded in the checkpoint itself, for the resumed run to remove
        runner.message_hub.update_info('preemption_ckpt', self._path(filename))
        return self._write(runner, filename,
                           dict(epoch=runner.epoch, iter=done))

    def _remove_preemption_checkpoint(self, runner) -> None:
        path = runner.message_hub.get_info('preemption_ckpt')
        if path and path != self.last_ckpt:
            self._remove_inside(runner, path)
            runner.message_hub.update_info('preemption_ckpt', None)

    def _remove_inside(self, runner, path: str) -> None:
        if not is_inside(path, self.out_dir):
            runner.logger.info(f'{path} lies outside {self.out_dir}: kept.')
        elif self.file_backend.isfile(path):
            self.file_backend.remove(path)
        elif self.file_backend.isdir(path):
            self.file_backend.rmtree(path)

    def _path(self, filename: str) -> str:
        return self.file_backend.join_path(self.out_dir, filename)

    def after_load_checkpoint(self, runner, checkpoint) -> None:
        """Say so when a resumed run's schedule length differs from the
        checkpoint's: the parameter schedulers resume the checkpoint's."""
        if (not runner.cfg.get('resume')
                or 'param_schedulers' not in checkpoint):
            return
        saved = checkpoint['param_schedulers']
        built = runner.param_schedulers
        if isinstance(saved, dict):
            pairs = [(s, b) for k in saved for s, b in zip(saved[k], built[k])]
        else:
            pairs = list(zip(saved, built))
        for state, scheduler in pairs:
            if state.get('end') != scheduler.end:
                runner.logger.warning(
                    f'The schedule length changed: {type(scheduler).__name__}'
                    f" ends at iteration {state.get('end')} in the checkpoint"
                    f' and at {scheduler.end} with this config (train_cfg.'
                    f'max_epochs={runner.max_epochs}). The resumed scheduler '
                    "keeps the checkpoint's: iterations beyond its end train "
                    'at its final value. To train on a new schedule, start a '
                    'new run with load_from=<checkpoint> instead of --resume.')

