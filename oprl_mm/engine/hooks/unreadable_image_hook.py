"""Counts the training images that ``LoadImageFromFileOrSkip`` skipped."""
import os.path as osp
from typing import List

from mmengine.dist import broadcast_object_list, is_main_process
from mmengine.hooks import Hook
from mmpretrain.registry import HOOKS

from oprl_mm.datasets.loading import (VERIFY_TOOL, LoadImageFromFileOrSkip,
                                      read_records)

RECORD_NAME = 'unreadable_images.txt'


def skipping_loaders(dataset) -> List[LoadImageFromFileOrSkip]:
    """The ``LoadImageFromFileOrSkip(skip_unreadable=True)`` transforms of a
    dataset's pipeline, through dataset wrappers (Repeat, Concat ...)."""
    found = []
    datasets = [dataset]
    while datasets:
        ds = datasets.pop()
        datasets += list(getattr(ds, 'datasets', None) or [])
        if getattr(ds, 'dataset', None) is not None:
            datasets.append(ds.dataset)
        transforms = getattr(getattr(ds, 'pipeline', None), 'transforms', [])
        found += [
            t for t in transforms
            if isinstance(t, LoadImageFromFileOrSkip) and t.skip_unreadable
        ]
    return found


@HOOKS.register_module()
class UnreadableImageHook(Hook):
    """Report the unreadable training images skipped, and stop when they are
    too many.

    A training pipeline whose ``LoadImageFromFileOrSkip`` has
    ``skip_unreadable=True`` trains on another sample in place of an
    unreadable file. Dataloader workers are separate processes, so before
    training this hook points those transforms at one record file in the
    run's log dir, where each skipped file is listed once with its reason.
    Every ``interval`` iterations and at each epoch's end the hook reads it
    (on the main process, which tells the others) and stops the run when
    more than ``max_share`` of the training images are unreadable; at the
    end of training it logs how many were skipped and which.

    Without such a transform in the training pipeline the hook does nothing.

    Args:
        max_share (float): largest share of unreadable training images a
            run accepts. Defaults to 0.01.
        interval (int): check every ``interval`` training iterations.
            Defaults to 50.
    """

    priority = 'LOW'

    def __init__(self, max_share: float = 0.01, interval: int = 50):
        if not 0 <= max_share <= 1:
            raise ValueError(f'max_share must be in [0, 1], got {max_share}')
        self.max_share = max_share
        self.interval = interval
        self.record_file = None
        self.num_images = 0

    def before_train(self, runner) -> None:
        dataset = runner.train_dataloader.dataset
        loaders = skipping_loaders(dataset)
        if not loaders:
            self.record_file = None
            return
        self.record_file = osp.join(runner.log_dir, RECORD_NAME)
        self.num_images = len(dataset)
        # set before the dataloader starts (and forks) its workers
        for loader in loaders:
            loader.record_file = self.record_file

    def _records(self) -> dict:
        records = [read_records(self.record_file) if is_main_process()
                   else None]
        broadcast_object_list(records, src=0)
        return records[0]

    def _check(self, runner) -> None:
        records = self._records()
        share = len(records) / max(self.num_images, 1)
        if share > self.max_share:
            first = '; '.join(
                f'{p} ({r})' for p, r in list(records.items())[:5])
            raise RuntimeError(
                f'{len(records)} of {self.num_images} training images '
                f'({share:.2%}) are unreadable, more than max_share='
                f'{self.max_share:.2%} of UnreadableImageHook: check the '
                f'dataset with `python {VERIFY_TOOL} CONFIG --split train`. '
                f'First ones: {first}. All: {self.record_file}')

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None) -> None:
        if self.record_file and self.every_n_train_iters(
                runner, self.interval):
            self._check(runner)

    def after_train_epoch(self, runner) -> None:
        if self.record_file:
            self._check(runner)

    def after_train(self, runner) -> None:
        if not self.record_file:
            return
        records = self._records()
        if not records:
            runner.logger.info('no unreadable training image was skipped')
            return
        listed = '\n'.join(f'  {p}: {r}' for p, r in records.items())
        runner.logger.warning(
            f'{len(records)} unreadable training image(s) of '
            f'{self.num_images} skipped, each replaced by another sample '
            f'(list in {self.record_file}):\n{listed}')
