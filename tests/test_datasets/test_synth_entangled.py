"""SynthEntangled: determinism, the (anchor, dependent) pairs and their
shift, the hardness of the dependents and the look-alike clutter."""
import os.path as osp

import numpy as np
import pytest
from mmengine.config import Config
from mmpretrain.registry import DATASETS

from oprl_mm.datasets import SynthEntangled
from oprl_mm.datasets.synth import CLASS_PALETTE

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
PAIRS = ((0, 8), (1, 9), (2, 5))


def _labels(ds):
    y = np.zeros((len(ds), ds.num_classes), bool)
    for i in range(len(ds)):
        y[i, ds.get_cat_ids(i)] = True
    return y


def test_same_seed_same_images_other_seed_other_images():
    a = SynthEntangled(split='val', num_images=10, seed=2)
    b = SynthEntangled(split='val', num_images=10, seed=2)
    c = SynthEntangled(split='val', num_images=10, seed=3)
    for i in range(10):
        np.testing.assert_array_equal(a.get_data_info(i)['img'],
                                      b.get_data_info(i)['img'])
    assert a.get_data_info(0)['img'].tobytes() != \
        c.get_data_info(0)['img'].tobytes()


def test_dependents_follow_anchors_in_train_and_never_in_shift():
    train = _labels(SynthEntangled(split='train', num_images=1500))
    shift = _labels(SynthEntangled(split='val_shift', num_images=800))
    for anchor, dependent in PAIRS:
        both = train[:, anchor] & train[:, dependent]
        # the shortcut: a dependent almost never appears alone in training
        assert both.sum() / train[:, dependent].sum() > 0.9
        # ... but an anchor often does, and is the more frequent class
        assert both.sum() / train[:, anchor].sum() < 0.8
        assert train[:, dependent].mean() < train[:, anchor].mean()
        # val_shift breaks every pair, and still shows every class
        assert not (shift[:, anchor] & shift[:, dependent]).any()
        assert shift[:, dependent].sum() > 20 and shift[:, anchor].sum() > 20


def test_dependents_are_smaller_and_paler():
    ds = SynthEntangled(split='train', num_images=400)
    size = ds.img_size
    sides = {True: [], False: []}
    for i in range(len(ds)):
        layout = ds.get_layout(i)
        for obj, box in zip(layout['objects'], layout['gt_bboxes']):
            hard = obj['label'] in ds.dependents
            side = box[2] - box[0]
            sides[hard].append(side)
            lo, hi = ds.hard_size_range if hard else ds.size_range
            assert lo * size - 1e-3 <= side <= hi * size + 1e-3
            palette = np.array(CLASS_PALETTE[obj['label']][2], float)
            distance = np.abs(np.array(obj['color']) - 128).max()
            if hard:  # blended towards grey: at most 0.6 of the contrast
                assert distance <= 0.6 * (np.abs(palette - 128).max()
                                          + 20) + 1
    assert np.mean(sides[True]) < 0.7 * np.mean(sides[False])


def test_lookalikes_are_never_a_class():
    ds = SynthEntangled(split='train', num_images=300)
    classes = {(shape, color) for _, shape, color, _ in ds.class_table}
    colors = np.array([c for _, _, c, _ in ds.class_table], float)
    lookalikes = 0
    for i in range(len(ds)):
        for item in ds.get_layout(i)['distractors']:
            color = np.array(item['color'], float)
            if item['shape'] in ('ellipse', 'line', 'frame') or \
                    np.ptp(color) < 30:  # blobs and grey shapes
                continue
            # the palette colour it was jittered from
            base = tuple(int(c) for c in colors[np.abs(
                colors - color).max(1).argmin()])
            assert (item['shape'], base) not in classes
            lookalikes += 1
    assert lookalikes > 200


def test_bad_arguments_name_the_key():
    with pytest.raises(ValueError, match='hard_contrast'):
        SynthEntangled(num_images=2, hard_contrast=0)
    with pytest.raises(ValueError, match='hard_size_range'):
        SynthEntangled(num_images=2, hard_size_range=(0.3, 0.1))
    with pytest.raises(ValueError, match='cooccur_pairs'):
        SynthEntangled(num_images=2, cooccur_pairs=((0, 0), ))
    with pytest.raises(ValueError, match='class_set'):
        SynthEntangled(num_images=2, class_set='grid')


def test_config_builds_the_dataset():
    import oprl_mm  # noqa: F401
    cfg = Config.fromfile(osp.join(ROOT, 'configs/oprl/oprl_r18_synth_entangled.py'))
    for split in ('train', 'val', 'val_shift'):
        loader = cfg.get(f'{split}_dataloader')
        ds = DATASETS.build(dict(loader.dataset, num_images=4,
                                 _scope_='mmpretrain'))
        assert isinstance(ds, SynthEntangled) and ds.split == split
        assert ds.get_data_info(0)['img'].shape == (64, 64, 3)


def test_converter_writes_the_entangled_set(tmp_path, monkeypatch):
    import json
    import runpy
    import sys

    import cv2
    out = tmp_path / 'ent'
    monkeypatch.setattr(sys, 'argv', [
        'synth_to_coco.py', '--dataset', 'SynthEntangled', '--out-dir',
        str(out), '--splits', 'val', '--num-images', '6'
    ])
    runpy.run_path(
        osp.join(ROOT, 'tools/dataset_converters/synth_to_coco.py'),
        run_name='__main__')
    ds = SynthEntangled(split='val', num_images=6)
    ann = json.load(open(out / 'annotations' / 'instances_val.json'))
    assert len(ann['annotations']) == sum(
        len(ds.get_layout(i)['gt_bboxes']) for i in range(6))
    np.testing.assert_array_equal(
        cv2.imread(str(out / 'val' / '000003.png')),
        ds.get_data_info(3)['img'])
