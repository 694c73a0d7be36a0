"""Mixed precision: float16 on a GPU (the lineage's default), bfloat16
autocast on CPU; SPA's mask and both losses stay sound under either."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

import oprl_mm  # noqa: F401
from oprl_mm.models.layers.spa import num_kept_positions
from oprl_mm.utils import peak_memory_mb, timed

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def synthetic_batch(batch, size, num_classes, device):
    gen = torch.Generator().manual_seed(0)
    inputs = [
        torch.randint(0, 256, (3, size, size), generator=gen,
                      dtype=torch.uint8).to(device) for _ in range(batch)
    ]
    samples = [
        DataSample().set_gt_label(
            torch.randperm(num_classes, generator=gen)[:3].tolist())
        for _ in range(batch)
    ]
    return dict(inputs=inputs, data_samples=samples)


def record_spa(model):
    """Record SPA's input dtype and kept-position counts on every call."""
    seen = []

    def hook(module, inputs, outputs):
        saliency, _ = inputs
        kept = (outputs[1] > 0).sum(-1)
        seen.append((saliency.dtype, outputs[1].dtype, kept,
                     saliency.shape[-2] * saliency.shape[-1]))

    model.head.spa.register_forward_hook(hook)
    return seen


def check_spa_and_losses(seen, losses, filter_ratio, half):
    for saliency_dtype, weight_dtype, kept, num_pos in seen:
        # S is half; CUDA autocast runs softmax in float32, CPU's does not
        assert saliency_dtype == half
        assert weight_dtype in (half, torch.float32)
        # at least N - floor(tau N) kept (more only where values tie)
        assert bool((kept >= num_kept_positions(num_pos, filter_ratio)).all())
        assert bool((kept <= num_pos).all())
    for key in ('loss_cls', 'loss_aux'):
        assert losses[key].dtype == torch.float32, key
        assert torch.isfinite(losses[key]), key


def test_bfloat16_autocast_on_cpu(tiny_cfg, tiny_data, tmp_path):
    cfg = tiny_cfg(tiny_data, tmp_path, 1)
    model = MODELS.build(cfg.model)
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    seen = record_spa(model)
    data = synthetic_batch(4, 32, 3, 'cpu')
    for _ in range(3):
        with torch.autocast('cpu', dtype=torch.bfloat16):
            losses = model.train_step(data, optim_wrapper)
        check_spa_and_losses(seen[-1:], losses, 0.5, torch.bfloat16)
    assert all(torch.isfinite(p).all() for p in model.parameters())


@pytest.mark.skipif(
    not torch.cuda.is_available(), reason='float16 AMP needs a CUDA GPU')
def test_r101_coco448_amp_on_gpu(capsys):
    """20 steps of oprl_r101_coco448 at 448 under AmpOptimWrapper, 8 images
    a GPU; prints the step time and the peak memory."""
    cfg = Config.fromfile(osp.join(ROOT, 'configs/oprl/oprl_r101_coco448.py'))
    cfg.model.backbone.init_cfg = None
    cfg.model.data_preprocessor = cfg.data_preprocessor
    model = MODELS.build(cfg.model).cuda()
    model.train()
    cfg.optim_wrapper.type = 'AmpOptimWrapper'
    cfg.optim_wrapper.loss_scale = 'dynamic'
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    seen = record_spa(model)
    data = synthetic_batch(8, 448, 80, 'cuda')

    def steps():
        times = []
        for _ in range(20):
            seconds, losses = timed(
                lambda: model.train_step(data, optim_wrapper))
            times.append(seconds)
            check_spa_and_losses(seen[-1:], losses, 0.5, torch.float16)
        return times, losses

    peak_mb, (times, losses) = peak_memory_mb(steps, cuda=True)
    peak = peak_mb / 1024
    step = sorted(times[5:])[len(times[5:]) // 2]
    with capsys.disabled():
        print(f'\noprl_r101_coco448 AMP, 8 images/GPU at 448: median step '
              f'{step * 1000:.0f} ms, peak memory {peak:.2f} GiB, '
              f"last loss_cls {float(losses['loss_cls']):.3f} "
              f"loss_aux {float(losses['loss_aux']):.3f}")
