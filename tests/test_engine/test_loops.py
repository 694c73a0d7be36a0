import glob
import json

import pytest
from mmengine.runner import Runner

import oprl_mm  # noqa: F401


def logged_val_records(work_dir):
    scalars = glob.glob(str(work_dir / '*' / 'vis_data' / 'scalars.json'))
    assert len(scalars) == 1
    records = [json.loads(line) for line in open(scalars[0])]
    return [r for r in records if 'mAP' in r]


@pytest.mark.parametrize('evaluate_raw', [True, False])
def test_raw_weights_scored_beside_ema(tmp_path, tiny_data, tiny_cfg,
                                       evaluate_raw):
    cfg = tiny_cfg(tiny_data, tmp_path, 1)
    cfg.val_cfg = dict(type='RawAndEMAValLoop', evaluate_raw=evaluate_raw)
    cfg.default_hooks.checkpoint = dict(
        type='CheckpointHook', interval=1, save_best='mAP', rule='greater')
    runner = Runner.from_cfg(cfg)
    runner.train()
    records = logged_val_records(tmp_path)
    assert len(records) == 1
    keys = set(records[0])
    assert {'mAP', 'CF1', 'OF1'} <= keys
    if not evaluate_raw:
        assert not any(k.startswith('raw/') for k in keys)
        return
    assert {'raw/mAP', 'raw/CF1', 'raw/OF1'} <= keys
    # EMA at momentum 3e-4 is still the first step's weights: the two
    # models differ, and the raw one is what the raw keys score
    assert records[0]['raw/mAP'] != records[0]['mAP']
    raw = runner.val_loop.raw_metrics()
    assert raw['raw/mAP'] == pytest.approx(records[0]['raw/mAP'], abs=1e-4)
    # the best checkpoint still follows the EMA figure
    assert glob.glob(str(tmp_path / 'best_mAP_epoch_1.pth'))


def test_raw_scoring_drops_a_val_loss_element_as_mmengine_does():
    """``without_loss`` follows mmengine's own rule for the loss element a
    ``val_step`` may append (``mmengine.runner.loops._update_losses``, a
    private function read here only to catch a change of that rule)."""
    import torch
    from mmengine.runner.loops import _update_losses
    from mmengine.structures import BaseDataElement
    from mmpretrain.structures import DataSample

    from oprl_mm.engine.loops.raw_and_ema_val_loop import without_loss

    samples = [DataSample().set_pred_score(torch.rand(3)) for _ in range(2)]
    loss = BaseDataElement(loss=dict(loss_cls=torch.tensor(0.5)))
    for outputs in (samples, samples + [loss]):
        expected, _ = _update_losses(list(outputs), {})
        assert without_loss(list(outputs)) == expected
    assert len(without_loss(samples + [loss])) == 2
