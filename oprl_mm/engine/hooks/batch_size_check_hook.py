"""Warn, once at the start, when the real total batch is not the config's."""
from typing import Optional

from mmengine.dist import get_world_size
from mmengine.hooks import EMAHook, Hook
from mmpretrain.registry import HOOKS


def ema_momentum_for_accumulation(momentum: float, accumulation: int) -> float:
    """The EMA momentum that keeps a decay of ``1 - momentum`` per optimizer
    step when gradients are accumulated over ``accumulation`` iterations.

    mmengine's ``EMAHook`` updates after every iteration, and between two
    optimizer steps the weights do not change: ``k`` updates with decay
    ``d ** (1 / k)`` on the same weights are one update with decay ``d``.
    For the paper's 0.9997 and k = 8: 1 - 0.9997 ** (1 / 8) = 3.75e-5.
    """
    return 1.0 - (1.0 - momentum)**(1.0 / accumulation)


@HOOKS.register_module()
class BatchSizeCheckHook(Hook):
    """One warning at the start of training when the real total batch (GPUs
    x per-GPU batch x gradient accumulation) is not the batch the config's
    learning rate and EMA decay are for, and ``--auto-scale-lr`` is off.

    OPRL's recipe is for 64 images a step (paper Sec. 5.1, 8 GPUs x 8):
    ``python tools/train.py configs/oprl/oprl_r101_coco448.py`` on one GPU
    would otherwise train at batch 8 with the learning rate of batch 64, 8
    times the steps, and an EMA window 8 times shorter in epochs, without a
    word. The warning names both fixes: ``--auto-scale-lr``, or gradient
    accumulation with the EMA momentum that keeps the decay per optimizer
    step (:func:`ema_momentum_for_accumulation`).

    Args:
        base_batch_size (int, optional): the total batch the config is for.
            Defaults to None: the config's ``auto_scale_lr.base_batch_size``
            (no check when the config has none).
    """

    priority = 'LOW'

    def __init__(self, base_batch_size: Optional[int] = None):
        self.base_batch_size = base_batch_size

    def before_train(self, runner) -> None:
        auto_scale_lr = getattr(runner, 'auto_scale_lr', None) or {}
        base = self.base_batch_size or auto_scale_lr.get('base_batch_size')
        if base is None or auto_scale_lr.get('enable', False):
            return
        world = get_world_size()
        per_gpu = runner.train_dataloader.batch_size
        accumulation = getattr(runner.optim_wrapper, '_accumulative_counts',
                               1)
        total = world * per_gpu * accumulation
        if total != base:
            runner.logger.warning(
                self.message(world, per_gpu, accumulation, base,
                             self._ema_momentum(runner)))

    @staticmethod
    def _ema_momentum(runner) -> Optional[float]:
        for hook in runner.hooks:
            if isinstance(hook, EMAHook):
                return hook.ema_cfg.get('momentum')
        return None

    @staticmethod
    def message(world: int, per_gpu: int, accumulation: int, base: int,
                ema_momentum: Optional[float]) -> str:
        """The warning: what the batch is, and the two fixes."""
        total = world * per_gpu * accumulation
        text = (
            f'The total batch is {world} GPU(s) x {per_gpu} images x '
            f'{accumulation} accumulation step(s) = {total} images a step, '
            f'but the learning rate and EMA decay of this config are for '
            f'{base}. Either pass --auto-scale-lr (tools/train.py scales the '
            f'one-cycle peak by {total}/{base}), or accumulate gradients')
        steps, rest = divmod(base, world * per_gpu)
        if rest or steps < 1:
            return text + (f' so that GPUs x per-GPU batch x '
                           f'optim_wrapper.accumulative_counts = {base}, '
                           'with the EMAHook momentum 1 - (1 - momentum)'
                           '**(1/accumulative_counts).')
        text += f': --cfg-options optim_wrapper.accumulative_counts={steps}'
        if ema_momentum is not None:
            decay = 1.0 - ema_momentum
            new = ema_momentum_for_accumulation(ema_momentum, steps)
            text += (f', with the EMAHook momentum (custom_hooks) set to '
                     f'1 - {decay:g}**(1/{steps}) = {new:.4g}, which keeps '
                     f'its decay of {decay:g} per {base} images (the EMA '
                     'updates every iteration)')
        return text + '.'
