import copy

import numpy as np
import pytest
import torch
from mmengine.runner import Runner

import oprl_mm  # noqa: F401
from oprl_mm.engine.hooks import NonFiniteLossError, epoch_seed


def final_weights(path):
    return torch.load(path, weights_only=True)['state_dict']


@pytest.mark.parametrize('num_workers', [0, 2])
def test_resume_is_exact(tmp_path, tiny_data, tiny_cfg, num_workers):
    """A run resumed after epoch 1 ends with the weights of an uninterrupted
    run, augmentation, dropout, EMA and the one-cycle schedule included."""
    full = tiny_cfg(tiny_data, tmp_path / 'full', 2, num_workers)
    Runner.from_cfg(copy.deepcopy(full)).train()

    resumed = copy.deepcopy(full)
    resumed.work_dir = str(tmp_path / 'resumed')
    resumed.resume = True
    resumed.load_from = str(tmp_path / 'full' / 'epoch_1.pth')
    Runner.from_cfg(resumed).train()

    a = final_weights(tmp_path / 'full' / 'epoch_2.pth')
    b = final_weights(tmp_path / 'resumed' / 'epoch_2.pth')
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


def test_epoch_seed_depends_on_seed_and_epoch():
    assert epoch_seed(0, 0) != epoch_seed(0, 1)
    assert epoch_seed(0, 3) == epoch_seed(0, 3)
    assert epoch_seed(1, 0) != epoch_seed(0, 0)


def test_non_finite_loss_stops_the_run(tmp_path, tiny_data, tiny_cfg):
    cfg = tiny_cfg(tiny_data, tmp_path, 1)
    cfg.model.head.aux_loss = dict(
        type='ProbAsymmetricLoss', loss_weight=float('nan'))
    runner = Runner.from_cfg(cfg)
    with pytest.raises(NonFiniteLossError, match='iteration 1 .*loss_aux'):
        runner.train()


def test_class_count_mismatch_stops_before_training(tmp_path, tiny_data,
                                                    tiny_cfg):
    cfg = tiny_cfg(tiny_data, tmp_path, 1)  # the data has 3 classes
    cfg.model.head.num_classes = 4
    cfg.model.data_preprocessor.num_classes = 4
    runner = Runner.from_cfg(cfg)
    with pytest.raises(ValueError, match='3 classes.*num_classes=4'):
        runner.train()
    assert runner.iter == 0


@pytest.mark.parametrize('split', ['val', 'test'])
def test_class_count_mismatch_in_val_and_test_sets(tmp_path, tiny_data,
                                                   tiny_cfg,
                                                   multilabel_writer, split):
    cfg = tiny_cfg(tiny_data, tmp_path, 1)
    (tmp_path / 'other').mkdir()
    other = multilabel_writer(tmp_path / 'other', num_classes=4)
    loader = cfg[f'{split}_dataloader']
    loader.dataset = dict(loader.dataset, data_root=str(other))
    runner = Runner.from_cfg(cfg)
    run = runner.val if split == 'val' else runner.test
    with pytest.raises(ValueError, match=f'the {split} set .*4 classes.*'
                       'num_classes=3'):
        run()


def test_class_count_hook_extends_mmpretrain_class_num_check():
    """mmpretrain's hook, run first, reading the classes of a dataset
    wrapper (metainfo, no CLASSES attribute), skipping an unset loop."""
    import types

    from mmengine.dataset import BaseDataset, ConcatDataset
    from mmpretrain.engine.hooks import ClassNumCheckHook
    from mmpretrain.registry import HOOKS

    hook = HOOKS.build(dict(type='ClassCountCheckHook'))
    assert isinstance(hook, ClassNumCheckHook)
    assert hook.priority == 'VERY_HIGH'

    class Part(BaseDataset):
        METAINFO = dict(classes=('a', 'b', 'c'))

    parts = [Part(lazy_init=True) for _ in range(2)]
    wrapper = ConcatDataset(parts, lazy_init=True)
    assert not hasattr(wrapper, 'CLASSES')
    head = types.SimpleNamespace(num_classes=4)
    loader = types.SimpleNamespace(dataset=wrapper)
    runner = types.SimpleNamespace(
        model=types.SimpleNamespace(head=head), train_loop=object(),
        train_dataloader=loader, val_loop=None)
    with pytest.raises(ValueError, match='train set .*3 classes'):
        hook.before_train(runner)
    hook.before_val(runner)  # no val loop: nothing to check
    head.num_classes = 3
    hook.before_train(runner)


def test_cooccurrence_hook_sets_model_and_ema(tmp_path, tiny_data, tiny_cfg):
    from oprl_mm.models.layers import cooccurrence_matrix
    cfg = tiny_cfg(tiny_data, tmp_path, 1)
    runner = Runner.from_cfg(cfg)
    runner.train()
    dataset = runner.train_dataloader.dataset
    # the labels read image by image, not through the hook's own reading
    labels = np.zeros((len(dataset), 3), dtype=np.float32)
    for i in range(len(dataset)):
        labels[i, dataset.get_cat_ids(i)] = 1
    expected = cooccurrence_matrix(labels)
    torch.testing.assert_close(runner.model.head.gcn.cooccurrence, expected)
    ema = [h for h in runner.hooks if type(h).__name__ == 'EMAHook'][0]
    torch.testing.assert_close(ema.ema_model.module.head.gcn.cooccurrence,
                               expected)


def test_load_report_hook_logs_what_load_from_skipped():
    # training's load_from stays lenient; what it skipped reaches the log
    import logging
    import types

    import torch

    from oprl_mm.engine.hooks import LoadReportHook

    model = torch.nn.Sequential(torch.nn.Linear(4, 3))
    state = {'0.weight': torch.zeros(5, 4), 'extra': torch.zeros(1)}
    records = []
    logger = types.SimpleNamespace(
        log=lambda level, msg: records.append((level, msg)))
    from mmengine.config import Config
    runner = types.SimpleNamespace(model=model, logger=logger,
                                   cfg=Config(dict(load_from='other.pth')))
    LoadReportHook().after_load_checkpoint(runner, dict(state_dict=state))
    (level, msg), = records
    assert level == logging.WARNING and 'other.pth' in msg
    assert '0.weight (5, 4) vs (3, 4)' in msg
    assert 'missing from the checkpoint: 0.bias' in msg and 'extra' in msg
    records.clear()
    LoadReportHook().after_load_checkpoint(
        runner, dict(state_dict=model.state_dict()))
    assert records == []


def test_checkpoint_hook_private_methods_atomic_hook_overrides():
    """``AtomicCheckpointHook`` overrides two private methods of mmengine's
    ``CheckpointHook`` (no public seam for how files are written): this
    fails on an mmengine that renames them, changes their arguments or no
    longer calls them from its public events."""
    import inspect

    from mmengine.hooks import CheckpointHook
    expected = {
        '_save_checkpoint_with_step': ['self', 'runner', 'step', 'meta'],
        '_save_best_checkpoint': ['self', 'runner', 'metrics'],
    }
    for name, args in expected.items():
        method = getattr(CheckpointHook, name)
        assert list(inspect.signature(method).parameters) == args
    assert 'self._save_checkpoint_with_step(' in inspect.getsource(
        CheckpointHook._save_checkpoint)
    assert 'self._save_best_checkpoint(' in inspect.getsource(
        CheckpointHook.after_val_epoch)
