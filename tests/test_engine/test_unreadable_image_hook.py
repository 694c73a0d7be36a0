"""Training over a CSV dataset with one truncated JPEG: skipped and named
with the setting on, a stop with it off or above the share limit."""
import copy
import glob
import os.path as osp

import cv2
import numpy as np
import pytest
from mmengine.runner import Runner

import oprl_mm  # noqa: F401
from oprl_mm.datasets import UnreadableImageError
from oprl_mm.engine.hooks.unreadable_image_hook import RECORD_NAME

BAD = 'img_3.jpg'


@pytest.fixture(scope='module')
def csv_data(tmp_path_factory):
    """8 JPEGs (img_3.jpg truncated) listed in train.csv; val.csv holds the
    7 readable ones."""
    root = tmp_path_factory.mktemp('csv_bad_jpeg')
    (root / 'images').mkdir()
    rng = np.random.default_rng(0)
    rows = []
    for i in range(8):
        img = rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)
        jpeg = cv2.imencode('.jpg', img)[1].tobytes()
        if f'img_{i}.jpg' == BAD:
            jpeg = jpeg[:len(jpeg) // 2]
        (root / 'images' / f'img_{i}.jpg').write_bytes(jpeg)
        rows.append(f'img_{i}.jpg,{["a", "b", "c"][i % 3]}|c')
    (root / 'train.csv').write_text('image,labels\n' + '\n'.join(rows))
    (root / 'val.csv').write_text('image,labels\n' + '\n'.join(
        r for r in rows if not r.startswith(BAD)))
    return root


def csv_cfg(tiny_cfg, root, work_dir, skip, max_share=0.5, num_workers=0):
    cfg = tiny_cfg(root, work_dir, max_epochs=1, num_workers=num_workers)
    dataset = dict(
        type='CsvMultiLabel',
        data_root=str(root),
        data_prefix='images',
        ann_file='train.csv',
        classes=['a', 'b', 'c'],
        pipeline=[
            dict(type='LoadImageFromFileOrSkip', skip_unreadable=skip),
            dict(type='PackInputs', meta_keys=('img_path', 'skipped_images'))
        ])
    cfg.train_dataloader.dataset = dataset
    val = dict(dataset, ann_file='val.csv', test_mode=True)
    val['pipeline'] = copy.deepcopy(dataset['pipeline'])
    val['pipeline'][0]['skip_unreadable'] = False
    cfg.val_dataloader.dataset = val
    cfg.test_dataloader = cfg.val_dataloader
    cfg.custom_hooks.append(
        dict(type='UnreadableImageHook', max_share=max_share, interval=1))
    return cfg


def test_training_skips_and_names_the_bad_image(tmp_path, csv_data,
                                                tiny_cfg):
    cfg = csv_cfg(tiny_cfg, csv_data, tmp_path / 'on', skip=True,
                  num_workers=2)
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert osp.isfile(tmp_path / 'on' / 'epoch_1.pth')
    # the workers' record: the file, once, with its reason
    with open(osp.join(runner.log_dir, RECORD_NAME)) as f:
        lines = f.read().splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        str(csv_data / 'images' / BAD) + '\t')
    assert 'cannot decode' in lines[0]
    # the end of the run says how many and which
    log = open(glob.glob(osp.join(runner.log_dir, '*.log'))[0]).read()
    assert '1 unreadable training image(s) of 8 skipped' in log
    assert BAD in log.split('skipped, each replaced')[-1]
    # the record came with the batches: the hook set nothing in the pipeline
    loader = runner.train_dataloader.dataset.pipeline.transforms[0]
    assert loader.record_file is None


def test_training_stops_with_the_setting_off(tmp_path, csv_data, tiny_cfg):
    cfg = csv_cfg(tiny_cfg, csv_data, tmp_path / 'off', skip=False)
    with pytest.raises(UnreadableImageError, match=BAD):
        Runner.from_cfg(cfg).train()


def test_too_many_unreadable_images_stop_the_run(tmp_path, csv_data,
                                                 tiny_cfg):
    cfg = csv_cfg(tiny_cfg, csv_data, tmp_path / 'limit', skip=True,
                  max_share=0.01)
    with pytest.raises(RuntimeError,
                       match=r'1 of 8 training images .*verify_dataset'):
        Runner.from_cfg(cfg).train()


def test_every_skipping_config_packs_the_record():
    """A shipped config whose training pipeline skips also packs
    `skipped_images`, without which UnreadableImageHook counts nothing."""
    from mmengine.config import Config
    root = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
    skipping = 0
    for path in glob.glob(osp.join(root, 'configs', 'oprl', '**', '*.py'),
                          recursive=True):
        try:
            dataset = Config.fromfile(path).train_dataloader.dataset
        except ValueError as e:  # an old name that names its replacement
            assert 'was renamed' in str(e), path
            continue
        while 'pipeline' not in dataset and 'dataset' in dataset:
            dataset = dataset.dataset  # RepeatDataset, ClassBalanced ...
        pipeline = dataset.get('pipeline', [])
        if not any(t.type == 'LoadImageFromFileOrSkip'
                   and t.get('skip_unreadable') for t in pipeline):
            continue
        skipping += 1
        pack = [t for t in pipeline if t.type == 'PackInputs'][0]
        assert 'skipped_images' in pack.get('meta_keys', ()), path
    assert skipping > 0


def test_the_ranks_pool_their_records(tmp_path, monkeypatch):
    """What each rank's batches carried is pooled before the share is
    checked: a file drawn by another rank counts, once, and is written to
    the record (here two ranks stand in through all_gather_object)."""
    import types

    from mmengine.structures import BaseDataElement

    from oprl_mm.engine.hooks import unreadable_image_hook as module
    hook = module.UnreadableImageHook(max_share=0.25, interval=1)
    runner = types.SimpleNamespace(
        log_dir=str(tmp_path), train_dataloader=types.SimpleNamespace(
            dataset=list(range(8))), iter=0)
    hook.before_train(runner)
    sample = BaseDataElement(metainfo=dict(skipped_images=(('a.jpg',
                                                            'empty file'), )))
    other_rank = {'a.jpg': 'empty file', 'b.jpg': 'cannot decode'}
    monkeypatch.setattr(module, 'all_gather_object',
                        lambda obj: [obj, other_rank])
    hook.after_train_iter(runner, 0, dict(data_samples=[sample]))
    assert hook.records == {'a.jpg': 'empty file'}  # this rank's own
    lines = open(tmp_path / RECORD_NAME).read().splitlines()
    assert lines == ['a.jpg\tempty file', 'b.jpg\tcannot decode']
    other_rank['c.jpg'] = 'file does not exist'  # 3 of 8 > 25 %
    with pytest.raises(RuntimeError, match='3 of 8 training images'):
        hook.after_train_epoch(runner)
