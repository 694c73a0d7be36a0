"""BackboneFeatureCache and FeatureMapInput: the cached maps equal the
frozen backbone's, a second build reads the file instead of running the
backbone, other settings get another file, and a head trains on the maps
as it would behind the backbone."""
import numpy as np
import pytest
import torch
from mmengine.dataset import pseudo_collate
from mmpretrain.registry import DATASETS, MODELS

import oprl_mm  # noqa: F401
from oprl_mm.datasets import BackboneFeatureCache

SYNTH = dict(type='SynthMultiLabel', split='val', num_images=10,
             img_size=64, seed=1)
BACKBONE = dict(type='ResNet', depth=18, out_indices=(3, ),
                init_cfg=dict(type='Kaiming', layer='Conv2d'))
PREPROCESSOR = dict(type='ClsDataPreprocessor', mean=[120.0] * 3,
                    std=[60.0] * 3, to_rgb=True)
META_KEYS = ('sample_idx', 'ori_shape', 'img_shape', 'gt_bboxes',
             'gt_bboxes_labels')


def _cache(tmp_path, dataset=SYNTH, **kwargs):
    return DATASETS.build(dict(
        type='BackboneFeatureCache', dataset=dataset, backbone=BACKBONE,
        data_preprocessor=PREPROCESSOR, cache_dir=str(tmp_path),
        batch_size=4,
        pipeline=[dict(type='PackInputs', meta_keys=META_KEYS)], **kwargs))


def test_maps_equal_the_backbone(tmp_path):
    torch.manual_seed(0)
    cache = _cache(tmp_path)
    # the same initialisation, run by hand on the images
    torch.manual_seed(0)
    backbone = MODELS.build(BACKBONE)
    backbone.init_weights()
    backbone.eval()
    inner = DATASETS.build(dict(SYNTH, pipeline=[dict(type='PackInputs')]))
    data = MODELS.build(PREPROCESSOR)(
        pseudo_collate([inner[i] for i in range(len(inner))]), False)
    with torch.no_grad():
        (expected, ) = backbone(data['inputs'])
    got = torch.stack([cache[i]['inputs'] for i in range(len(cache))])
    assert got.dtype == torch.float32 and got.shape == expected.shape
    assert torch.allclose(got, expected, rtol=2e-3, atol=2e-3)  # float16
    assert not torch.equal(got[0], got[1])


def test_item_keeps_labels_boxes_and_image_shape(tmp_path):
    cache = _cache(tmp_path)
    inner = DATASETS.build(SYNTH)
    assert len(cache) == len(inner)
    assert cache.metainfo['classes'] == inner.metainfo['classes']
    for idx in (0, 7):
        sample = cache[idx]['data_samples']
        assert cache.get_cat_ids(idx) == inner.get_cat_ids(idx)
        assert sorted(sample.gt_label.tolist()) == sorted(
            inner.get_cat_ids(idx))
        np.testing.assert_array_equal(sample.gt_bboxes,
                                      inner.get_layout(idx)['gt_bboxes'])
        # the image's shape, not the feature map's
        assert sample.ori_shape == (64, 64)
        assert cache[idx]['inputs'].shape == (512, 2, 2)


def test_second_build_reads_the_file(tmp_path, monkeypatch):
    first = _cache(tmp_path)
    (cache_file, ) = tmp_path.glob('*.npz')
    assert first.cache_file == str(cache_file)
    stamp = cache_file.stat().st_mtime_ns

    def no_backbone(*args, **kwargs):
        raise AssertionError('the backbone ran although the cache exists')

    monkeypatch.setattr(BackboneFeatureCache, '_compute', no_backbone)
    second = _cache(tmp_path)
    assert cache_file.stat().st_mtime_ns == stamp
    assert torch.equal(first[3]['inputs'], second[3]['inputs'])


def test_other_settings_get_another_file(tmp_path):
    _cache(tmp_path)
    _cache(tmp_path, dataset=dict(SYNTH, seed=2))
    _cache(tmp_path, dataset=dict(SYNTH, split='val_shift'))
    assert len(list(tmp_path.glob('*.npz'))) == 3
    # no temporary file is left behind
    assert not list(tmp_path.glob('*.tmp*'))


def test_a_file_of_another_length_is_refused(tmp_path):
    cache = _cache(tmp_path)
    np.savez(cache.cache_file, features=np.zeros((3, 512, 2, 2), np.float16),
             image_shapes=np.zeros((3, 2), np.int64))
    with pytest.raises(ValueError, match='delete the file'):
        _cache(tmp_path)


def test_lazy_init_defers_the_backbone(tmp_path):
    cache = _cache(tmp_path, lazy_init=True)
    assert not list(tmp_path.glob('*.npz'))
    assert cache[0]['inputs'].shape == (512, 2, 2)
    assert len(list(tmp_path.glob('*.npz'))) == 1


def test_head_trains_on_the_maps(tmp_path):
    cache = _cache(tmp_path)
    model = MODELS.build(dict(
        type='ImageClassifier',
        backbone=dict(type='FeatureMapInput'),
        head=dict(type='MultiLabelLinearClsHead', num_classes=10,
                  in_channels=512),
        neck=dict(type='GlobalAveragePooling'),
        data_preprocessor=dict(type='ClsDataPreprocessor',
                               num_classes=10)))
    assert not list(model.backbone.parameters())
    data = model.data_preprocessor(
        pseudo_collate([cache[i] for i in range(4)]), True)
    losses = model(**data, mode='loss')
    losses['loss'].backward()
    assert model.head.fc.weight.grad.abs().sum() > 0
