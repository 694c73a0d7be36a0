"""Stop a run on a non-finite loss instead of training on NaN."""
import math

import torch
from mmengine.hooks import Hook
from mmpretrain.registry import HOOKS


class NonFiniteLossError(FloatingPointError):
    """Raised when a training loss is NaN or infinite."""


@HOOKS.register_module()
class FiniteLossHook(Hook):
    """Check the losses of every training iteration; stop on NaN or inf.

    The error names the iteration, the epoch and the offending loss terms.
    Checkpoints already in the work dir are untouched.

    Args:
        interval (int): check every ``interval`` iterations. Defaults to 1.
    """

    priority = 'VERY_HIGH'

    def __init__(self, interval: int = 1):
        self.interval = interval

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None) -> None:
        if not outputs or not self.every_n_train_iters(runner, self.interval):
            return
        values = {
            k: float(torch.as_tensor(v).detach())
            for k, v in outputs.items() if k.startswith('loss')
        }
        bad = {k: v for k, v in values.items() if not math.isfinite(v)}
        if bad:
            terms = ', '.join(f'{k}={v}' for k, v in bad.items())
            raise NonFiniteLossError(
                f'non-finite loss at iteration {runner.iter + 1} (epoch '
                f'{runner.epoch + 1}): {terms}. The run stops here; the '
                f'checkpoints in {runner.work_dir} are from before. Lower '
                'the learning rate, check the data (tools/misc/'
                'verify_dataset.py) or resume from the last checkpoint.')
