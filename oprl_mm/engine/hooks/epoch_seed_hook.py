"""Seed every training epoch from (seed, epoch) so that resume is exact."""
import random
from functools import partial

import numpy as np
import torch
from mmengine.dataset import worker_init_fn
from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmpretrain.registry import HOOKS


def epoch_seed(seed: int, epoch: int) -> int:
    """A 31-bit seed drawn from (seed, epoch)."""
    state = np.random.SeedSequence([int(seed) % 2**32, int(epoch)])
    return int(state.generate_state(1)[0] % 2**31)


@HOOKS.register_module()
class EpochSeedHook(Hook):
    """Reseed the random generators at the start of every training epoch.

    mmengine seeds once, from the same seed, when a run starts or resumes, so
    a run resumed after epoch k replays the augmentation (and dropout) draws
    of epoch 1. This hook seeds python, numpy and torch from
    ``(seed, epoch)`` (plus the rank) before each epoch, and gives the
    dataloader workers, which are started anew every epoch, the same
    epoch-dependent seeds. A run stopped after epoch k and resumed then draws
    exactly what an uninterrupted run draws.

    Persistent workers (``persistent_workers=True``) keep their random state
    from one epoch to the next and are not reseeded: with them, resume is
    exact only with ``num_workers=0``.
    """

    priority = 'VERY_HIGH'

    def __init__(self):
        self._warned = False

    def before_train_epoch(self, runner) -> None:
        seed = epoch_seed(runner.seed, runner.epoch)
        rank = get_rank()
        random.seed(seed + rank)
        np.random.seed(seed + rank)
        torch.manual_seed(seed + rank)
        loader = runner.train_dataloader
        if loader.num_workers == 0:
            return
        if loader.persistent_workers:
            if not self._warned:
                runner.logger.info(
                    'EpochSeedHook: persistent dataloader workers keep their '
                    'random state; resume replays augmentation exactly only '
                    'with persistent_workers=False')
                self._warned = True
            return
        loader.worker_init_fn = partial(
            worker_init_fn,
            num_workers=loader.num_workers,
            rank=rank,
            seed=seed)
