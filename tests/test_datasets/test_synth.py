"""SynthMultiLabel: determinism, layout properties, co-occurrence shift and
the COCO export."""
import os.path as osp
import runpy
import sys

import cv2
import numpy as np
import pytest
from mmpretrain.registry import DATASETS

from oprl_mm.datasets.synth import SynthMultiLabel, write_coco

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
PAIRS = ((0, 1), (2, 3), (4, 5))


def _label_matrix(dataset):
    y = np.zeros((len(dataset), dataset.num_classes), bool)
    for i in range(len(dataset)):
        y[i, dataset.get_cat_ids(i)] = True
    return y


def _partner_rate(y, a, b):
    """P(b present | a present)."""
    return (y[:, a] & y[:, b]).sum() / max(y[:, a].sum(), 1)


def test_same_seed_same_images():
    a = SynthMultiLabel(split='train', num_images=20, seed=3)
    b = SynthMultiLabel(split='train', num_images=20, seed=3)
    for i in range(len(a)):
        ia, ib = a.get_data_info(i), b.get_data_info(i)
        np.testing.assert_array_equal(ia['img'], ib['img'])
        assert ia['gt_label'] == ib['gt_label']
        np.testing.assert_array_equal(ia['gt_bboxes'], ib['gt_bboxes'])
    # reading twice renders the same pixels
    np.testing.assert_array_equal(a.get_data_info(5)['img'],
                                  a.get_data_info(5)['img'])


def test_splits_and_seeds_differ():
    hashes = {}
    for split in ('train', 'val', 'val_shift'):
        ds = SynthMultiLabel(split=split, num_images=40)
        hashes[split] = {ds.get_data_info(i)['img'].tobytes()
                         for i in range(len(ds))}
        assert len(hashes[split]) == len(ds)
    assert not hashes['train'] & hashes['val']
    assert not hashes['train'] & hashes['val_shift']
    assert not hashes['val'] & hashes['val_shift']
    other = SynthMultiLabel(split='train', num_images=40, seed=1)
    assert not hashes['train'] & {
        other.get_data_info(i)['img'].tobytes() for i in range(len(other))
    }


def test_data_info_fields():
    ds = SynthMultiLabel(split='val', num_images=50, img_size=64)
    assert len(ds.metainfo['classes']) == 10
    assert len(set(ds.metainfo['classes'])) == 10
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        img = info['img']
        assert img.shape == (64, 64, 3) and img.dtype == np.uint8
        assert info['img_shape'] == info['ori_shape'] == (64, 64)
        labels = info['gt_label']
        assert labels, 'every image holds at least one object'
        assert labels == sorted(set(labels))
        assert all(0 <= c < 10 for c in labels)
        assert info['gt_bboxes'].dtype == np.float32
        assert info['gt_bboxes'].shape == (len(info['gt_bboxes_labels']), 4)
        assert sorted(set(info['gt_bboxes_labels'].tolist())) == labels
        assert ds.get_cat_ids(i) == labels


def test_default_sizes():
    assert len(SynthMultiLabel(split='train')) == 3000
    assert len(SynthMultiLabel(split='val')) == 500
    assert len(SynthMultiLabel(split='val_shift')) == 500


@pytest.mark.parametrize('img_size', [64, 96])
def test_boxes_inside_and_some_small(img_size):
    ds = SynthMultiLabel(split='train', num_images=400, img_size=img_size)
    areas = []
    for i in range(len(ds)):
        boxes = ds.get_layout(i)['gt_bboxes']
        assert (boxes[:, :2] >= 0).all()
        assert (boxes[:, 2:] <= img_size).all()
        assert (boxes[:, 2:] > boxes[:, :2]).all()
        areas.extend(((boxes[:, 2] - boxes[:, 0]) *
                      (boxes[:, 3] - boxes[:, 1]) / img_size**2).tolist())
    areas = np.array(areas)
    assert (areas <= 0.05).mean() > 0.2
    assert (areas > 0.1).mean() > 0.2
    assert ds.get_data_info(0)['img'].shape == (img_size, img_size, 3)


def test_objects_per_image():
    ds = SynthMultiLabel(split='train', num_images=400)
    counts = np.array([len(ds.get_layout(i)['objects'])
                       for i in range(len(ds))])
    assert counts.min() >= 1 and counts.max() <= 4
    assert (counts >= 3).mean() > 0.2
    num_labels = np.array([len(ds.get_cat_ids(i)) for i in range(len(ds))])
    assert (num_labels == 1).any() and (num_labels >= 3).any()


def test_distractors_present_and_drawn():
    ds = SynthMultiLabel(split='train', num_images=100)
    kinds = set()
    for i in range(len(ds)):
        layout = ds.get_layout(i)
        assert 1 <= len(layout['distractors']) <= 3
        kinds.update(d['shape'] for d in layout['distractors'])
    assert {'ellipse', 'line', 'frame'} <= kinds
    assert kinds - {'ellipse', 'line', 'frame'}, 'grey class shapes'
    from oprl_mm.datasets.synth import render_layout
    layout = ds.get_layout(0)
    bare = dict(layout, distractors=[])
    assert not np.array_equal(
        render_layout(layout, 64), render_layout(bare, 64))


def test_cooccurrence_in_train_and_broken_in_val_shift():
    train = _label_matrix(SynthMultiLabel(split='train', num_images=2000))
    val = _label_matrix(SynthMultiLabel(split='val', num_images=1000))
    shift = _label_matrix(SynthMultiLabel(split='val_shift', num_images=500))
    for a, b in PAIRS:
        for c, p in ((a, b), (b, a)):
            assert _partner_rate(train, c, p) > 0.75
            assert _partner_rate(val, c, p) > 0.7
            assert _partner_rate(shift, c, p) < 0.1
            # a paired class still shows up often enough to be evaluated
            assert shift[:, c].sum() >= 40
    # unpaired classes are not tied to each other in train
    assert _partner_rate(train, 6, 7) < 0.4
    assert (shift.sum(1) >= 2).mean() > 0.3


def test_pair_arguments():
    ds = SynthMultiLabel(
        split='train', num_images=500, cooccur_pairs=((6, 7), ),
        pair_prob=1.0)
    y = _label_matrix(ds)
    assert _partner_rate(y, 6, 7) > 0.9
    assert _partner_rate(y, 0, 1) < 0.4
    with pytest.raises(ValueError):
        SynthMultiLabel(cooccur_pairs=((0, 1), (1, 2)))
    with pytest.raises(ValueError):
        SynthMultiLabel(num_classes=4, cooccur_pairs=((4, 5), ))
    with pytest.raises(ValueError):
        SynthMultiLabel(split='test')


def test_num_classes():
    ds = SynthMultiLabel(split='train', num_images=200, num_classes=12)
    assert len(ds.metainfo['classes']) == 12
    assert _label_matrix(ds)[:, 10:].any(0).all()


def test_data_list_holds_no_pixels():
    ds = SynthMultiLabel(split='train', num_images=200)
    assert ds.data_bytes.nbytes / len(ds) < 3000


def test_pipeline_without_loading():
    ds = DATASETS.build(
        dict(
            type='SynthMultiLabel',
            split='train',
            num_images=8,
            pipeline=[
                dict(type='RandomFlip', prob=0.5, direction='horizontal'),
                dict(type='PackInputs')
            ]))
    out = ds[3]
    assert tuple(out['inputs'].shape) == (3, 64, 64)
    sample = out['data_samples']
    assert sorted(sample.gt_label.tolist()) == ds.get_cat_ids(3)


def _coco_labels(coco, num_classes):
    """Label sets straight from the COCO json, image ids ascending."""
    cat_ids = sorted(coco.getCatIds())
    assert cat_ids == list(range(1, num_classes + 1))
    index = {cid: i for i, cid in enumerate(cat_ids)}
    labels = []
    for img_id in sorted(coco.getImgIds()):
        anns = coco.loadAnns(coco.getAnnIds(imgIds=[img_id]))
        labels.append(sorted({index[a['category_id']] for a in anns}))
    return labels


def test_write_coco_matches_dataset(tmp_path):
    COCO = pytest.importorskip('pycocotools.coco').COCO
    ds = SynthMultiLabel(split='val', num_images=25)
    ann_file = write_coco(ds, str(tmp_path))
    assert ann_file == str(tmp_path / 'annotations' / 'instances_val.json')
    coco = COCO(ann_file)
    assert _coco_labels(coco, 10) == [ds.get_cat_ids(i) for i in range(25)]
    for idx, img_id in enumerate(sorted(coco.getImgIds())):
        info = ds.get_data_info(idx)
        img_info = coco.loadImgs([img_id])[0]
        png = cv2.imread(str(tmp_path / 'val' / img_info['file_name']))
        np.testing.assert_array_equal(png, info['img'])
        anns = coco.loadAnns(coco.getAnnIds(imgIds=[img_id]))
        boxes = np.array([a['bbox'] for a in anns], np.float32)
        np.testing.assert_allclose(boxes[:, :2], info['gt_bboxes'][:, :2])
        np.testing.assert_allclose(boxes[:, :2] + boxes[:, 2:],
                                   info['gt_bboxes'][:, 2:], atol=1e-4)
        assert all(a['iscrowd'] == 0 and a['area'] > 0 for a in anns)


def test_converter_cli_and_coco_dataset(tmp_path, monkeypatch):
    COCO = pytest.importorskip('pycocotools.coco').COCO
    out = tmp_path / 'synth'
    monkeypatch.setattr(sys, 'argv', [
        'synth_to_coco.py', '--out-dir',
        str(out), '--splits', 'val', 'val_shift', '--num-images', '12',
        '--seed', '2'
    ])
    runpy.run_path(
        osp.join(ROOT, 'tools/dataset_converters/synth_to_coco.py'),
        run_name='__main__')
    for split in ('val', 'val_shift'):
        ds = SynthMultiLabel(split=split, num_images=12, seed=2)
        coco = COCO(str(out / 'annotations' / f'instances_{split}.json'))
        expected = [ds.get_cat_ids(i) for i in range(12)]
        assert _coco_labels(coco, 10) == expected
        assert len(list((out / split).glob('*.png'))) == 12
    assert not (out / 'train').exists()

    coco_module = pytest.importorskip('oprl_mm.datasets.coco')
    coco_ds = coco_module.CocoMultiLabel(
        data_root=str(out),
        ann_file='annotations/instances_val.json',
        data_prefix='val',
        filter_cfg=dict(filter_empty_gt=False))
    ds = SynthMultiLabel(split='val', num_images=12, seed=2)
    assert coco_ds.metainfo['classes'] == ds.metainfo['classes']
    assert [list(coco_ds.get_data_info(i)['gt_label'])
            for i in range(len(coco_ds))] == \
        [ds.get_cat_ids(i) for i in range(len(ds))]


GRID_PAIRS = tuple((i, 99 - i) for i in range(30))


def test_grid_class_set_names_and_limits():
    from oprl_mm.datasets.synth import grid_classes
    table = grid_classes()
    assert len(table) == 128 and len({t[0] for t in table}) == 128
    ds = SynthMultiLabel(split='val', num_images=20, num_classes=100,
                         class_set='grid')
    names = ds.metainfo['classes']
    assert len(names) == 100
    assert names[:3] == ('small red disc', 'large red disc',
                         'small red square')
    with pytest.raises(ValueError, match='num_classes'):
        SynthMultiLabel(num_classes=129, class_set='grid')
    with pytest.raises(ValueError, match='num_classes'):
        SynthMultiLabel(num_classes=13)
    with pytest.raises(ValueError, match='class_set'):
        SynthMultiLabel(class_set='other')


def test_grid_sizes_are_separated():
    ds = SynthMultiLabel(split='train', num_images=300, num_classes=100,
                         class_set='grid', size_range=(0.14, 0.42))
    lo, hi = 0.14 * 64, 0.42 * 64
    small, large = [], []
    for i in range(len(ds)):
        for obj in ds.get_layout(i)['objects']:
            side = 2 * obj['geometry'][2]
            size_class = ds.class_table[obj['label']][3]
            (small if size_class == 0 else large).append(side)
            assert obj['shape'] == ds.class_table[obj['label']][1]
    gap = (hi - lo) * 0.43, (hi - lo) * 0.57
    assert max(small) <= lo + gap[0] + 1e-6
    assert min(large) >= lo + gap[1] - 1e-6


def test_grid_cooccurrence_and_shift():
    kwargs = dict(num_classes=100, class_set='grid', cooccur_pairs=GRID_PAIRS)
    train = _label_matrix(SynthMultiLabel('train', 3000, **kwargs))
    shift = _label_matrix(SynthMultiLabel('val_shift', 1000, **kwargs))
    rates = [_partner_rate(train, a, b) for a, b in GRID_PAIRS]
    assert np.mean(rates) > 0.75
    assert max(_partner_rate(shift, a, b) for a, b in GRID_PAIRS) == 0
    # every class occurs in training
    assert train.any(0).all()


def test_palette_is_the_default_class_set():
    a = SynthMultiLabel(split='train', num_images=50)
    b = SynthMultiLabel(split='train', num_images=50, class_set='palette')
    assert a.metainfo == b.metainfo
    for i in range(len(a)):
        assert a.get_layout(i)['objects'] == b.get_layout(i)['objects']
        assert np.array_equal(a.get_data_info(i)['img'],
                              b.get_data_info(i)['img'])
