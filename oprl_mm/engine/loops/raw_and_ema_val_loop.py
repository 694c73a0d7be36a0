"""Validation of the raw weights beside the EMA ones."""
from numbers import Number
from typing import Dict, List, Union

import torch
from mmengine.runner import ValLoop
from mmengine.runner.amp import autocast
from mmengine.structures import BaseDataElement
from mmpretrain.registry import LOOPS
from torch.utils.data import DataLoader

RAW_PREFIX = 'raw/'


def without_loss(outputs: list) -> list:
    """A ``val_step``'s data samples without the loss element a model may
    append (``BaseDataElement`` holding only ``loss``), which mmengine's
    ``ValLoop`` takes off before the evaluator sees the samples."""
    if outputs and isinstance(outputs[-1], BaseDataElement) and \
            outputs[-1].keys() == ['loss']:
        return outputs[:-1]
    return outputs


@LOOPS.register_module()
class RawAndEMAValLoop(ValLoop):
    """mmengine's ``ValLoop`` that can also score the raw (non-EMA) weights.

    ``EMAHook`` swaps the averaged weights in at ``before_val_epoch``, so a
    plain validation scores the EMA model only. Query2Label and SADCL score
    both the raw and the EMA model at every epoch and keep the better. With
    ``evaluate_raw=True`` this loop first scores the weights being trained
    (before ``ValLoop.run`` and so before the swap), then validates as
    ``ValLoop`` does; the raw figures go to the message hub as
    ``val/raw/<key>``, where ``RuntimeInfoHook`` puts the EMA ones, and the
    logger writes them beside the EMA ones (``raw/mAP`` ...). Checkpoint
    selection (``save_best='mAP'``) still follows the EMA model.

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
        """The raw weights' metrics, then ``ValLoop.run``; returns both."""
        raw = self.raw_metrics() if self.evaluate_raw else {}
        hub = self.runner.message_hub
        for key, value in raw.items():  # as RuntimeInfoHook.after_val_epoch
            if isinstance(value, Number):
                hub.update_scalar(f'val/{key}', value)
            else:
                hub.update_info(f'val/{key}', value)
        metrics = super().run()
        metrics.update(raw)
        return metrics

    @torch.no_grad()
    def raw_metrics(self) -> dict:
        """Metrics of the weights being trained, keys prefixed ``raw/``."""
        self.runner.model.eval()
        for data_batch in self.dataloader:
            with autocast(enabled=self.fp16):
                outputs = self.runner.model.val_step(data_batch)
            self.evaluator.process(
                data_samples=without_loss(outputs), data_batch=data_batch)
        metrics = self.evaluator.evaluate(len(self.dataloader.dataset))
        return {RAW_PREFIX + key: value for key, value in metrics.items()}
