"""Counts the training images that ``LoadImageFromFileOrSkip`` skipped."""
import os.path as osp
from typing import Optional

from mmengine.dist import all_gather_object, is_main_process
from mmengine.hooks import Hook
from mmpretrain.registry import HOOKS

from oprl_mm.datasets.loading import SKIPPED_KEY, VERIFY_TOOL

RECORD_NAME = 'unreadable_images.txt'


def skipped_in_batch(data_batch: Optional[dict]) -> dict:
    """``{path: reason}`` of the unreadable files that the samples of a
    training batch were drawn in place of (their ``skipped_images``
    metainfo, see ``LoadImageFromFileOrSkip``)."""
    samples = (data_batch or {}).get('data_samples') or []
    return {
        path: reason
        for sample in samples
        for path, reason in sample.metainfo.get(SKIPPED_KEY, ())
    }


@HOOKS.register_module()
class UnreadableImageHook(Hook):
    """Report the unreadable training images skipped, and stop when they are
    too many.

    A training pipeline whose ``LoadImageFromFileOrSkip`` has
    ``skip_unreadable=True`` trains on another sample in place of an
    unreadable file, and that sample carries the skipped file in its
    ``skipped_images`` metainfo (``PackInputs`` must list the key in its
    ``meta_keys``, as ``configs/_base_/datasets/multilabel_base.py`` does).
    The hook reads it from each training batch, so the record comes from
    every dataloader worker and rank with the data, and nothing is written
    into the pipeline. Every ``interval`` iterations and at each epoch's end
    the ranks pool their records; the run stops when more than
    ``max_share`` of the training images are unreadable. The list goes to
    ``unreadable_images.txt`` in the run's log dir, and at the end of
    training to the log.

    A pipeline that never skips gives the hook nothing to count.

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
        self.records = {}

    def before_train(self, runner) -> None:
        self.record_file = osp.join(runner.log_dir, RECORD_NAME)
        self.num_images = len(runner.train_dataloader.dataset)
        self.records = {}

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None) -> None:
        self.records.update(skipped_in_batch(data_batch))
        if self.every_n_train_iters(runner, self.interval):
            self._check()

    def after_train_epoch(self, runner) -> None:
        self._check()

    def after_train(self, runner) -> None:
        records = self._pooled()
        if not records:
            return
        listed = '\n'.join(f'  {p}: {r}' for p, r in records.items())
        runner.logger.warning(
            f'{len(records)} unreadable training image(s) of '
            f'{self.num_images} skipped, each replaced by another sample '
            f'(list in {self.record_file}):\n{listed}')

    def _pooled(self) -> dict:
        """The records of every rank (a collective: all ranks call it at the
        same iterations), written to ``record_file`` by the main one."""
        records = {}
        for part in all_gather_object(self.records):
            for path, reason in part.items():
                records.setdefault(path, reason)
        if records and is_main_process():
            with open(self.record_file, 'w', encoding='utf-8') as f:
                f.writelines(f'{p}\t{" ".join(r.split())}\n'
                             for p, r in records.items())
        return records

    def _check(self) -> None:
        records = self._pooled()
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
