"""Validation of the raw weights beside the EMA ones."""
from typing import Dict, List, Union

import torch
from mmengine.runner import ValLoop
from mmengine.runner.loops import _parse_losses, _update_losses
from mmengine.runner.amp import autocast
from mmpretrain.registry import LOOPS
from torch.utils.data import DataLoader

RAW_PREFIX = 'raw/'


@LOOPS.register_module()
class RawAndEMAValLoop(ValLoop):
    """mmengine's ``ValLoop`` that can also score the raw (non-EMA) weights.

    ``EMAHook`` swaps the averaged weights in at ``before_val_epoch``, so a
    plain validation scores the EMA model only. Query2Label and SADCL score
    both the raw and the EMA model at every epoch and keep the better. With
    ``evaluate_raw=True`` this loop first scores the weights being trained
    (before the swap), then validates as ``ValLoop`` does; the raw figures
    are logged beside the EMA ones under ``raw/<key>`` (``raw/mAP`` ...).
    Checkpoint selection (``save_best='mAP'``) still follows the EMA model.

    Args:
        runner: the runner.
        dataloader (DataLoader or dict): validation data.
        evaluator (Evaluator or dict or list): validation metrics.
        fp16 (bool): validate under autocast. Defaults to False.
        evaluate_raw (bool): also score the raw weights. Defaults to False.
    """

    def __init__(self,
                 runner,
                 dataloader: Union[DataLoader, Dict],
                 evaluator: Union[Dict, List],
                 fp16: bool = False,
                 evaluate_raw: bool = False) -> None:
        super().__init__(runner, dataloader, evaluator, fp16=fp16)
        self.evaluate_raw = evaluate_raw

    def run(self) -> dict:
        """``ValLoop.run`` with the raw weights scored before the EMA swap."""
        self.runner.call_hook('before_val')
        raw = self.raw_metrics() if self.evaluate_raw else {}
        # EMAHook swaps the averaged weights in here
        self.runner.call_hook('before_val_epoch')
        self.runner.model.eval()
        self.val_loss.clear()
        for idx, data_batch in enumerate(self.dataloader):
            self.run_iter(idx, data_batch)
        metrics = self.evaluator.evaluate(len(self.dataloader.dataset))
        if self.val_loss:
            metrics.update(_parse_losses(self.val_loss, 'val'))
        metrics.update(raw)
        self.runner.call_hook('after_val_epoch', metrics=metrics)
        self.runner.call_hook('after_val')
        return metrics

    @torch.no_grad()
    def raw_metrics(self) -> dict:
        """Metrics of the weights being trained, keys prefixed ``raw/``."""
        self.runner.model.eval()
        for data_batch in self.dataloader:
            with autocast(enabled=self.fp16):
                outputs = self.runner.model.val_step(data_batch)
            # losses a val_step may return are not data samples
            outputs, _ = _update_losses(outputs, {})
            self.evaluator.process(data_samples=outputs, data_batch=data_batch)
        metrics = self.evaluator.evaluate(len(self.dataloader.dataset))
        return {RAW_PREFIX + key: value for key, value in metrics.items()}
