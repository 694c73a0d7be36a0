"""Which checkpoint ``--resume`` loads: one that is intact, whatever killed
the run before.

mmengine's auto-resume reads ``last_checkpoint`` and loads what it names; an
unreadable file there stops every requeued attempt with a bare ``EOFError``,
and a work dir without checkpoints (or a mistyped one) trains from scratch
after "Auto resumed from the latest checkpoint None.". Here the chosen file
is checked first (its zip directory and pickled metadata, without reading the
tensors); an unreadable one is reported in one line and the newest intact
checkpoint of the work dir is taken instead; with none, the run says that it
starts from scratch.
"""
import glob
import os.path as osp
from typing import Optional, Tuple

import torch
from mmengine.config import Config
from mmengine.logging import print_log


def checkpoint_iter(path: str) -> Tuple[Optional[int], str]:
    """``(iterations done, '')`` of a readable checkpoint, else
    ``(None, why it is unreadable)``.

    ``torch.load(mmap=True)`` opens the zip archive (a truncated or empty
    file fails there) and unpickles the small record structure; the tensors
    are mapped, not read, so a 1.3 GB checkpoint is checked in well under a
    second.
    """
    if not osp.isfile(path):
        return None, 'no such file'
    try:
        ckpt = torch.load(path, map_location='cpu', mmap=True,
                          weights_only=True)
        return int(ckpt['meta']['iter']), ''
    except Exception as err:  # any failure means: not resumable
        return None, f'{type(err).__name__}: {str(err).splitlines()[0]}'


def _recorded_checkpoint(work_dir: str) -> Optional[str]:
    """The path ``last_checkpoint`` names, if it names one."""
    record = osp.join(work_dir, 'last_checkpoint')
    if not osp.isfile(record):
        return None
    with open(record) as f:
        path = f.read().strip()
    return path or None


def newest_intact_checkpoint(work_dir: str,
                             exclude: Optional[str] = None) -> Optional[str]:
    """The resumable checkpoint of ``work_dir`` (``epoch_*.pth``,
    ``iter_*.pth``) with the most iterations done, or None.

    Best checkpoints hold no optimizer state and are not resumable.
    """
    best, best_iter = None, -1
    for path in glob.glob(osp.join(work_dir, '*_*.pth')):
        name = osp.basename(path)
        if not name.startswith(('epoch_', 'iter_')) or path == exclude:
            continue
        done, _ = checkpoint_iter(path)
        if done is not None and done > best_iter:
            best, best_iter = path, done
    return best


def choose_resume_checkpoint(work_dir: str,
                             requested: str = 'auto') -> Optional[str]:
    """The checkpoint to resume from, or None to train from scratch; one log
    line says which and why.

    Args:
        work_dir (str): the run's work dir.
        requested (str): a checkpoint path, or 'auto' for the one the work
            dir's ``last_checkpoint`` names.
    """
    target = (_recorded_checkpoint(work_dir)
              if requested == 'auto' else requested)
    problem = ''
    if target is not None:
        done, problem = checkpoint_iter(target)
        if done is not None:
            print_log(f'Resuming from {target} ({done} iterations done).',
                      logger='current')
            return target
    fallback = newest_intact_checkpoint(work_dir, exclude=target)
    if target is not None and fallback is not None:
        print_log(
            f'--resume: {target} is unreadable ({problem}); resuming from '
            f'the newest intact checkpoint {fallback} instead.',
            logger='current', level=30)
    elif target is not None:
        print_log(
            f'--resume: {target} is unreadable ({problem}) and {work_dir} '
            'holds no intact checkpoint: training starts from scratch.',
            logger='current', level=30)
    elif fallback is not None:
        print_log(
            f'--resume: {work_dir} has no last_checkpoint record; resuming '
            f'from its newest intact checkpoint {fallback}.',
            logger='current')
    else:
        state = ('does not exist' if not osp.isdir(work_dir) else
                 'holds no checkpoint')
        print_log(
            f'--resume: the work dir {work_dir} {state}: training starts '
            'from scratch.', logger='current', level=30)
    return fallback


def resume_config(cfg: Config, requested: Optional[str]) -> Config:
    """Set ``cfg.resume`` / ``cfg.load_from`` for ``--resume [PATH]``
    (``requested``: None without ``--resume``, 'auto' without a path).

    Without an intact checkpoint the run starts as the config says (its own
    ``load_from``, if any, still applies).
    """
    if requested is None:
        return cfg
    chosen = choose_resume_checkpoint(cfg.work_dir, requested)
    if chosen is None:
        cfg.resume = False
    else:
        cfg.resume, cfg.load_from = True, chosen
    return cfg
