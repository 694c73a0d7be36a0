import pytest
import torch
from mmengine.optim import OptimWrapper
from mmpretrain.registry import PARAM_SCHEDULERS

import oprl_mm  # noqa: F401


def run_both(optimizer_type, total, pct_start):
    """Our scheduler against torch's OneCycleLR, step by step."""
    ours = optimizer_type(torch.nn.Linear(2, 2).parameters(), lr=1.0)
    ref = optimizer_type(torch.nn.Linear(2, 2).parameters(), lr=1.0)
    scheduler = PARAM_SCHEDULERS.build(
        dict(type='OneCycleLRMomentum', optimizer=OptimWrapper(ours),
             eta_max=5e-5, pct_start=pct_start, begin=0, end=total,
             by_epoch=False))
    ref_scheduler = torch.optim.lr_scheduler.OneCycleLR(
        ref, max_lr=5e-5, total_steps=total, pct_start=pct_start,
        base_momentum=0.85, max_momentum=0.95)
    key = 'betas' if 'betas' in ours.param_groups[0] else 'momentum'
    rows = []
    for _ in range(total):
        value = ours.param_groups[0][key]
        ref_value = ref.param_groups[0][key]
        rows.append((ours.param_groups[0]['lr'], ref.param_groups[0]['lr'],
                     value[0] if key == 'betas' else value,
                     ref_value[0] if key == 'betas' else ref_value))
        ours.step()
        ref.step()
        scheduler.step()
        ref_scheduler.step()
    return torch.tensor(rows, dtype=torch.float64)


@pytest.mark.parametrize('total,pct_start', [(50, 0.2), (37, 0.3)])
@pytest.mark.parametrize('optimizer_type',
                         [torch.optim.AdamW, torch.optim.SGD])
def test_matches_torch_one_cycle(optimizer_type, total, pct_start):
    rows = run_both(optimizer_type, total, pct_start)
    torch.testing.assert_close(rows[:, 0], rows[:, 1], rtol=1e-9, atol=0)
    torch.testing.assert_close(rows[:, 2], rows[:, 3], rtol=1e-9, atol=0)
    # beta1 0.95 -> 0.85 at the learning rate's peak -> 0.95
    assert rows[0, 2] == pytest.approx(0.95)
    assert rows[:, 2].min() == pytest.approx(0.85, abs=1e-3)
    assert rows[-1, 2] == pytest.approx(0.95)
    assert int(rows[:, 2].argmin()) == int(rows[:, 0].argmax())


def test_bad_momentum_names_the_keys():
    opt = OptimWrapper(torch.optim.AdamW(torch.nn.Linear(2, 2).parameters()))
    with pytest.raises(ValueError, match='base_momentum'):
        PARAM_SCHEDULERS.build(
            dict(type='OneCycleLRMomentum', optimizer=opt, eta_max=1e-3,
                 end=10, base_momentum=0.99, max_momentum=0.9))


def test_three_phase_is_refused():
    opt = OptimWrapper(torch.optim.AdamW(torch.nn.Linear(2, 2).parameters()))
    with pytest.raises(ValueError, match='three_phase'):
        PARAM_SCHEDULERS.build(
            dict(type='OneCycleLRMomentum', optimizer=opt, eta_max=1e-3,
                 end=10, three_phase=True))


def test_epoch_config_and_resume_follow_torch():
    """Built from an epoch-based config (as in the configs) and restored
    from its state_dict half-way, it still follows torch step by step."""
    model = torch.nn.Linear(2, 2)
    opt = torch.optim.AdamW(model.parameters(), lr=1.0)
    cfg = dict(type='OneCycleLRMomentum', eta_max=5e-5, pct_start=0.2,
               by_epoch=True, begin=0, end=4)
    build = PARAM_SCHEDULERS.get('OneCycleLRMomentum').build_iter_from_epoch
    args = {k: v for k, v in cfg.items() if k != 'type'}
    scheduler = build(OptimWrapper(opt), epoch_length=5, **args)
    ref_opt = torch.optim.AdamW(torch.nn.Linear(2, 2).parameters(), lr=1.0)
    ref = torch.optim.lr_scheduler.OneCycleLR(
        ref_opt, max_lr=5e-5, total_steps=20, pct_start=0.2)
    for _ in range(8):
        opt.step(), ref_opt.step(), scheduler.step(), ref.step()
    state, opt_state = scheduler.state_dict(), opt.state_dict()
    opt2 = torch.optim.AdamW(torch.nn.Linear(2, 2).parameters(), lr=1.0)
    resumed = build(OptimWrapper(opt2), epoch_length=5, **args)
    opt2.load_state_dict(opt_state)
    resumed.load_state_dict(state)
    for _ in range(11):
        opt2.step(), ref_opt.step(), resumed.step(), ref.step()
        group, ref_group = opt2.param_groups[0], ref_opt.param_groups[0]
        assert group['lr'] == pytest.approx(ref_group['lr'], rel=1e-12)
        assert group['betas'][0] == pytest.approx(ref_group['betas'][0],
                                                  rel=1e-12)


def test_mmengine_one_cycle_is_lr_only():
    """The reason OneCycleLRMomentum computes beta1 itself: mmengine's
    one-cycle refuses any parameter but the learning rate. When this fails,
    compose the momentum from MomentumSchedulerMixin + OneCycleParamScheduler
    and compare with test_matches_torch_one_cycle."""
    from mmengine.optim.scheduler import OneCycleParamScheduler
    from mmengine.optim.scheduler.momentum_scheduler import \
        MomentumSchedulerMixin

    class OneCycleMomentum(MomentumSchedulerMixin, OneCycleParamScheduler):
        pass

    opt = torch.optim.AdamW(torch.nn.Linear(2, 2).parameters(), lr=1.0)
    with pytest.raises(AssertionError, match='only works for learning rate'):
        OneCycleMomentum(opt, eta_max=0.95, end=10, by_epoch=False)
