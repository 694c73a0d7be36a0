"""One-cycle schedule of the learning rate AND the momentum, as torch's."""
import math

from mmengine.optim.scheduler import OneCycleLR
from mmpretrain.registry import PARAM_SCHEDULERS


def one_cycle_momentum(step: int, total_steps: int, pct_start: float,
                       base_momentum: float, max_momentum: float,
                       anneal_strategy: str = 'cos') -> float:
    """The momentum of the one-cycle policy at ``step`` (0-based).

    It falls from ``max_momentum`` to ``base_momentum`` while the learning
    rate rises (the first ``pct_start * total_steps - 1`` steps), then climbs
    back while the learning rate anneals, with torch's phase boundaries and
    cosine annealing ``b + (a - b) (1 + cos(pi x)) / 2`` (or linear).
    """
    turn = float(pct_start * total_steps) - 1
    last = total_steps - 1
    if step <= turn:
        start, end = max_momentum, base_momentum
        pct = step / turn if turn > 0 else 1.0
    else:
        start, end = base_momentum, max_momentum
        pct = min((step - turn) / (last - turn), 1.0) if last > turn else 1.0
    if anneal_strategy == 'linear':
        return start + (end - start) * pct
    return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)


@PARAM_SCHEDULERS.register_module()
class OneCycleLRMomentum(OneCycleLR):
    """mmengine's ``OneCycleLR`` that also cycles the momentum, as torch's.

    Query2Label and SADCL train with torch's ``OneCycleLR``, which by default
    cycles the momentum (Adam's beta1) against the learning rate: 0.95 ->
    0.85 while the learning rate rises to its peak, 0.85 -> 0.95 while it
    anneals (Smith and Topin's super-convergence policy). mmengine's
    ``OneCycleLR`` schedules the learning rate only. This scheduler keeps
    mmengine's learning rate schedule unchanged and sets the momentum of
    every parameter group after each step (:func:`one_cycle_momentum`):
    ``betas[0]`` for the Adam family, ``momentum`` for SGD. Its state holds
    plain values only (besides the learning rate schedule's), so checkpoints
    load under ``torch.load(weights_only=True)``.

    Why the momentum is not composed from mmengine's momentum schedulers
    (mmengine 0.10.7): the one-cycle shape is mmengine's
    ``OneCycleParamScheduler``, and its ``__init__`` asserts
    ``param_name == 'lr'``, so ``MomentumSchedulerMixin`` (which schedules
    ``betas[0]`` through a ``'momentum'`` group key) cannot be mixed into it
    (``test_mmengine_one_cycle_is_lr_only`` fails the day it can). Two
    chained ``CosineAnnealingMomentum`` are not the same curve either: the
    turn of torch's cycle is at step ``pct_start * total_steps - 1``, a
    fraction in general (10.1 for 37 steps at 0.3), while a scheduler's
    ``begin``/``end`` are whole steps, and the user would have to repeat the
    cycle's length and ``pct_start`` in a second scheduler. What is reused
    is mmengine's learning-rate half, unchanged.

    Args:
        base_momentum (float): the low point, at the learning rate's peak.
            Defaults to 0.85 (torch's default).
        max_momentum (float): the momentum at the start and the end.
            Defaults to 0.95 (torch's default).
        **kwargs: the arguments of mmengine's ``OneCycleLR`` (``eta_max``,
            ``pct_start``, ``anneal_strategy``, ``begin``, ``end`` ...).
    """

    def __init__(self,
                 optimizer,
                 base_momentum: float = 0.85,
                 max_momentum: float = 0.95,
                 anneal_strategy: str = 'cos',
                 pct_start: float = 0.3,
                 **kwargs):
        if kwargs.get('three_phase'):
            raise ValueError(
                'OneCycleLRMomentum follows torch\'s two-phase one-cycle; '
                'three_phase=True is not supported (use mmengine\'s '
                'OneCycleLR, which leaves the momentum alone)')
        if not 0 <= base_momentum <= max_momentum < 1:
            raise ValueError(
                'OneCycleLRMomentum needs 0 <= base_momentum <= max_momentum '
                f'< 1, got base_momentum={base_momentum}, '
                f'max_momentum={max_momentum}')
        self.base_momentum = base_momentum
        self.max_momentum = max_momentum
        self.momentum_strategy = anneal_strategy
        self.momentum_pct_start = pct_start
        super().__init__(
            optimizer,
            anneal_strategy=anneal_strategy,
            pct_start=pct_start,
            **kwargs)

    def step(self):
        super().step()
        if self.last_step < 0:
            return
        value = one_cycle_momentum(
            min(self.last_step, self.total_steps - 1), self.total_steps,
            self.momentum_pct_start, self.base_momentum, self.max_momentum,
            self.momentum_strategy)
        for group in self.optimizer.param_groups:
            if 'betas' in group:
                group['betas'] = (value, group['betas'][1])
            elif 'momentum' in group:
                group['momentum'] = value
