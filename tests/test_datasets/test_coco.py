import json
import os.path as osp
import pickle

import numpy as np
import pytest

from oprl_mm.datasets import CocoMultiLabel

# non-contiguous ids, listed out of order on purpose
CATEGORIES = [
    dict(id=90, name='toothbrush'),
    dict(id=1, name='person'),
    dict(id=18, name='dog'),
]


def _ann(k, img, cat, bbox, crowd=0):
    return dict(id=k, image_id=img, category_id=cat, bbox=bbox,
                iscrowd=crowd, area=bbox[2] * bbox[3], segmentation=[])


def write_coco(root, anns=None, categories=CATEGORIES):
    images = [
        dict(id=7, file_name='a.jpg', width=32, height=24),
        dict(id=3, file_name='b.jpg', width=32, height=24),
        dict(id=12, file_name='empty.jpg', width=32, height=24),
        dict(id=5, file_name='crowd.jpg', width=32, height=24),
    ]
    if anns is None:
        anns = [
            _ann(1, 7, 18, [1, 2, 3, 4]),
            _ann(2, 7, 1, [0, 0, 10, 10]),
            _ann(3, 3, 90, [5, 5, 2, 2]),
            _ann(4, 3, 90, [6, 6, 2, 2]),  # same category twice
            _ann(5, 5, 18, [0, 0, 30, 20], crowd=1),  # crowd only
        ]
    (root / 'annotations').mkdir(exist_ok=True)
    (root / 'images').mkdir(exist_ok=True)
    path = root / 'annotations' / 'instances.json'
    path.write_text(
        json.dumps(dict(images=images, annotations=anns,
                        categories=categories)))
    return path


def build(root, **kwargs):
    args = dict(
        data_root=str(root),
        ann_file='annotations/instances.json',
        data_prefix='images')
    args.update(kwargs)
    return CocoMultiLabel(**args)


def by_name(ds):
    return {
        osp.basename(ds.get_data_info(i)['img_path']): ds.get_data_info(i)
        for i in range(len(ds))
    }


def test_classes_follow_category_id_order(tmp_path):
    write_coco(tmp_path)
    ds = build(tmp_path)
    assert ds.CLASSES == ('person', 'dog', 'toothbrush')


@pytest.mark.parametrize('serialize', [True, False])
def test_labels_unique_sorted_and_crowd_counted(tmp_path, serialize):
    write_coco(tmp_path)
    infos = by_name(build(tmp_path, serialize_data=serialize))
    assert infos['a.jpg']['gt_label'] == [0, 1]
    assert infos['b.jpg']['gt_label'] == [2]  # category twice -> once
    assert infos['crowd.jpg']['gt_label'] == [1]  # crowd counts
    assert infos['a.jpg']['img_path'] == osp.join(str(tmp_path), 'images',
                                                  'a.jpg')


def test_boxes_are_xyxy_with_class_indices(tmp_path):
    write_coco(tmp_path)
    infos = by_name(build(tmp_path))
    a = infos['a.jpg']
    assert a['gt_bboxes'].dtype == np.float32
    assert a['gt_bboxes'].shape == (2, 4)
    np.testing.assert_allclose(a['gt_bboxes'], [[1, 2, 4, 6], [0, 0, 10, 10]])
    assert a['gt_bboxes_labels'].tolist() == [1, 0]
    b = infos['b.jpg']
    assert b['gt_bboxes'].shape == (2, 4)  # both boxes kept
    assert b['gt_bboxes_labels'].tolist() == [2, 2]
    assert set(b['gt_bboxes_labels']) == set(b['gt_label'])


def test_filter_empty_gt(tmp_path):
    write_coco(tmp_path)
    kept = by_name(build(tmp_path, filter_cfg=dict(filter_empty_gt=True)))
    assert 'empty.jpg' not in kept and len(kept) == 3
    assert by_name(build(tmp_path)).keys() == kept.keys()
    all_ = by_name(build(tmp_path, filter_cfg=dict(filter_empty_gt=False)))
    assert len(all_) == 4
    assert all_['empty.jpg']['gt_label'] == []
    with pytest.raises(TypeError, match=r'filter_cfg=dict\(filter_empty_gt'):
        build(tmp_path, filter_empty=False)
    with pytest.raises(ValueError, match="filter_cfg takes only .*'min_size'"):
        build(tmp_path, filter_cfg=dict(min_size=32))
    assert all_['empty.jpg']['gt_bboxes'].shape == (0, 4)


def test_get_item_packs_multilabel(tmp_path, make_image):
    write_coco(tmp_path)
    make_image(str(tmp_path / 'images' / 'a.jpg'))
    ds = build(
        tmp_path,
        pipeline=[dict(type='LoadImageFromFile'),
                  dict(type='PackInputs')])
    names = [osp.basename(ds.get_data_info(i)['img_path'])
             for i in range(len(ds))]
    sample = ds[names.index('a.jpg')]
    assert sample['data_samples'].gt_label.tolist() == [0, 1]
    assert ds.get_cat_ids(names.index('a.jpg')) == [0, 1]
    # the dataset survives pickling (dataloader workers)
    assert len(pickle.loads(pickle.dumps(ds))) == len(ds)


def test_classes_select_and_reorder(tmp_path):
    write_coco(tmp_path)
    ds = build(tmp_path, classes=['toothbrush', 'person'])
    assert ds.CLASSES == ('toothbrush', 'person')
    infos = by_name(ds)
    assert infos['a.jpg']['gt_label'] == [1]
    assert infos['b.jpg']['gt_label'] == [0]
    assert 'crowd.jpg' not in infos  # only a dog: no label left
    ds = build(tmp_path, metainfo=dict(classes=['dog']))
    assert ds.CLASSES == ('dog', ) and len(ds) == 2


def test_unknown_class_name_is_an_error(tmp_path):
    write_coco(tmp_path)
    with pytest.raises(ValueError, match='cat'):
        build(tmp_path, classes=['person', 'cat'])


def test_missing_ann_file_names_path(tmp_path):
    (tmp_path / 'images').mkdir()
    with pytest.raises(FileNotFoundError) as e:
        build(tmp_path)
    msg = str(e.value)
    assert osp.join(str(tmp_path), 'annotations', 'instances.json') in msg
    assert 'docs/datasets.md' in msg


def test_missing_image_folder_names_path(tmp_path):
    write_coco(tmp_path)
    with pytest.raises(FileNotFoundError) as e:
        build(tmp_path, data_prefix='train2014')
    assert osp.join(str(tmp_path), 'train2014') in str(e.value)
    assert 'docs/datasets.md' in str(e.value)


def test_unknown_category_id_names_image(tmp_path):
    write_coco(tmp_path, anns=[_ann(1, 7, 44, [0, 0, 1, 1])])
    with pytest.raises(ValueError, match=r"44.*a\.jpg"):
        build(tmp_path)


def test_annotation_of_unknown_image(tmp_path):
    write_coco(tmp_path, anns=[_ann(1, 999, 1, [0, 0, 1, 1])])
    with pytest.raises(ValueError, match='999'):
        build(tmp_path)


def test_scales_vectorised(tmp_path):
    """Many images, random annotations: labels equal a per-image reference."""
    rng = np.random.default_rng(0)
    n_img, n_ann = 300, 2000
    images = [dict(id=int(i) * 3 + 1, file_name=f'{i}.jpg')
              for i in rng.permutation(n_img)]
    cats = [dict(id=c, name=f'c{c}') for c in (2, 5, 9, 40, 41)]
    img_of = rng.choice([im['id'] for im in images], n_ann)
    cat_of = rng.choice([c['id'] for c in cats], n_ann)
    anns = [_ann(k, int(i), int(c), [1.0, 1.0, 2.0, 2.0])
            for k, (i, c) in enumerate(zip(img_of, cat_of))]
    (tmp_path / 'annotations').mkdir()
    (tmp_path / 'images').mkdir()
    (tmp_path / 'annotations' / 'instances.json').write_text(
        json.dumps(dict(images=images, annotations=anns, categories=cats)))
    ds = build(tmp_path, filter_cfg=dict(filter_empty_gt=False))
    assert len(ds) == n_img
    cid = {2: 0, 5: 1, 9: 2, 40: 3, 41: 4}
    for i, im in enumerate(images):  # file order is kept
        info = ds.get_data_info(i)
        assert info['img_path'].endswith(im['file_name'])
        ref = sorted({cid[int(c)] for j, c in zip(img_of, cat_of)
                      if j == im['id']})
        assert info['gt_label'] == ref
        assert len(info['gt_bboxes']) == int((img_of == im['id']).sum())


def test_no_labelled_image_gives_empty_dataset(tmp_path):
    write_coco(tmp_path, anns=[])
    ds = build(tmp_path)
    assert len(ds) == 0 and ds.CLASSES == ('person', 'dog', 'toothbrush')
    assert len(build(tmp_path, filter_cfg=dict(filter_empty_gt=False))) == 4


def _coco_error(tmp_path, **kwargs) -> str:
    """The message of the ValueError that building the dataset raises; it
    must name the annotation file."""
    with pytest.raises(ValueError) as e:
        build(tmp_path, **kwargs)
    msg = str(e.value)
    assert str(tmp_path / 'annotations' / 'instances.json') in msg
    return msg


def _edit_coco(path, edit):
    data = json.loads(path.read_text())
    edit(data)
    path.write_text(json.dumps(data))


def test_duplicate_category_ids_refused(tmp_path):
    # two categories with one id merged into one class before
    write_coco(tmp_path, categories=CATEGORIES + [dict(id=18, name='cat')])
    assert 'category id 18 appears twice' in _coco_error(tmp_path)


def test_duplicate_file_names_refused(tmp_path):
    path = write_coco(tmp_path)
    _edit_coco(path, lambda d: d['images'][1].update(file_name='a.jpg'))
    assert "file_name 'a.jpg' appears twice" in _coco_error(tmp_path)


@pytest.mark.parametrize('text,expected', [
    ('', 'is empty'),
    ('{"images": [{"id": 1, ', 'not valid JSON'),
    ('[]', 'not a COCO-format annotation file'),
])
def test_empty_truncated_or_not_coco(tmp_path, text, expected):
    path = write_coco(tmp_path)
    path.write_text(text)
    assert expected in _coco_error(tmp_path)


def test_bom_accepted_and_other_encodings_refused(tmp_path):
    path = write_coco(tmp_path)
    raw = path.read_bytes()
    path.write_bytes(b'\xef\xbb\xbf' + raw)
    assert len(build(tmp_path)) == 3
    # a Latin-1 file name
    path.write_bytes(raw.replace(b'"a.jpg"', b'"\xe9.jpg"'))
    offset = raw.index(b'"a.jpg"') + 1
    assert f'not UTF-8: byte {offset}' in _coco_error(tmp_path)


@pytest.mark.parametrize('edit,expected', [
    (lambda d: d['images'][0].pop('file_name'),
     'entry 0 of "images" in'),
    (lambda d: d.update(images={'7': 'a.jpg'}),
     '"images" of'),
    (lambda d: d['categories'][0].update(id=1e10),
     'bad "id" (needs a JSON int, got 10000000000.0)'),
    (lambda d: d['annotations'][0].update(category_id=18.0),
     'bad "category_id"'),
    (lambda d: d['images'][0].update(id=True), 'bad "id"'),
    (lambda d: d['annotations'].append('x'), 'is not an object'),
])
def test_malformed_records_name_file_and_entry(tmp_path, edit, expected):
    path = write_coco(tmp_path)
    _edit_coco(path, edit)
    assert expected in _coco_error(tmp_path)


def test_large_sparse_category_ids(tmp_path):
    # a dense id -> class table sized by the largest id needed 74.5 GiB
    cats = [dict(id=10**10, name='far'), dict(id=1, name='person')]
    anns = [_ann(1, 7, 10**10, [0, 0, 1, 1]), _ann(2, 3, 1, [0, 0, 1, 1])]
    write_coco(tmp_path, anns=anns, categories=cats)
    labels = {k: v['gt_label'] for k, v in by_name(build(tmp_path)).items()}
    assert labels == {'a.jpg': [1], 'b.jpg': [0]}


def write_coco_with_masks(root):
    """Polygons (one instance in two parts), a crowd RLE and an instance
    of a class that is left out, on two images of different sizes."""
    crowd = np.zeros((24, 32), np.uint8, order='F')
    crowd[10:20, 4:30] = 1
    # the uncompressed RLE of the instances files: run lengths, column-major
    flat = crowd.flatten(order='F')
    runs, value, length = [], 0, 0
    for v in flat:
        if v == value:
            length += 1
        else:
            runs.append(length)
            value, length = v, 1
    runs.append(length)
    images = [dict(id=1, file_name='a.jpg', width=32, height=24),
              dict(id=2, file_name='b.jpg', width=20, height=30)]
    anns = [
        dict(id=1, image_id=1, category_id=18, bbox=[2, 2, 10, 8], iscrowd=0,
             area=40, segmentation=[[2, 2, 12, 2, 12, 10, 2, 10],
                                    [20, 15, 25, 15, 22, 20]]),
        dict(id=2, image_id=2, category_id=1, bbox=[1, 1, 5, 20], iscrowd=0,
             area=50, segmentation=[[1, 1, 6, 1, 6, 21, 1, 21]]),
        dict(id=3, image_id=1, category_id=1, bbox=[4, 10, 26, 10],
             iscrowd=1, area=260,
             segmentation=dict(size=[24, 32], counts=runs)),
        dict(id=4, image_id=2, category_id=90, bbox=[0, 0, 3, 3], iscrowd=0,
             area=9, segmentation=[[0, 0, 3, 0, 3, 3]]),
    ]
    (root / 'annotations').mkdir(exist_ok=True)
    (root / 'images').mkdir(exist_ok=True)
    path = root / 'annotations' / 'instances.json'
    path.write_text(json.dumps(dict(images=images, annotations=anns,
                                    categories=CATEGORIES)))
    return path


def test_masks_equal_pycocotools_ann_to_mask(tmp_path):
    from pycocotools import mask as mask_utils
    from pycocotools.coco import COCO
    path = write_coco_with_masks(tmp_path)
    coco = COCO(str(path))
    ds = build(tmp_path, with_masks=True,
               metainfo=dict(classes=['dog', 'person']))
    assert 'gt_masks' not in build(tmp_path).get_data_info(0)
    infos = by_name(ds)
    # a.jpg: the dog (two polygons) then the crowd person, in file order
    for name, ann_ids in (('a.jpg', [1, 3]), ('b.jpg', [2])):
        info = infos[name]
        assert len(info['gt_masks']) == len(info['gt_bboxes']) == len(ann_ids)
        for rle, ann_id in zip(info['gt_masks'], ann_ids):
            expected = coco.annToMask(coco.anns[ann_id])
            np.testing.assert_array_equal(mask_utils.decode(rle), expected)
            assert expected.sum() > 0
    assert infos['a.jpg']['gt_bboxes_labels'].tolist() == [0, 1]


def test_masks_need_image_sizes(tmp_path):
    path = write_coco_with_masks(tmp_path)
    content = json.loads(path.read_text())
    del content['images'][0]['height']
    path.write_text(json.dumps(content))
    with pytest.raises(ValueError, match='with_masks=False'):
        build(tmp_path, with_masks=True)


def test_localization_config_carries_masks_to_the_metric(tmp_path):
    """The COCO localisation config's test pipeline packs the boxes and
    masks of CocoMultiLabel(with_masks=True) into the data samples, and
    AttentionLocalization measures them."""
    import cv2
    import torch
    from mmengine.config import Config
    from mmengine.dataset import Compose
    from mmengine.registry import init_default_scope
    from mmpretrain.registry import METRICS

    import oprl_mm  # noqa: F401
    write_coco_with_masks(tmp_path)
    for name, shape in (('a.jpg', (24, 32, 3)), ('b.jpg', (30, 20, 3))):
        cv2.imwrite(str(tmp_path / 'images' / name),
                    np.full(shape, 128, np.uint8))
    cfg = Config.fromfile(
        osp.join(osp.dirname(osp.dirname(osp.dirname(
            osp.abspath(__file__)))),
            'configs/oprl/oprl_r101_coco448_localization.py'))
    assert cfg.test_dataloader.dataset.with_masks
    assert not cfg.val_dataloader.dataset.get('with_masks', False)
    assert cfg.model.head.keep_class_maps
    init_default_scope('mmpretrain')
    ds = build(tmp_path, with_masks=True)
    pipeline = Compose(cfg.test_dataloader.dataset.pipeline)
    metric = METRICS.build(cfg.test_evaluator[1])
    for i in range(len(ds)):
        sample = pipeline(ds.get_data_info(i))['data_samples']
        assert sample.img_shape == (448, 448)
        # uniform maps: the share inside each region is its area share
        sample.set_field(torch.full((3, 14, 14), 1 / 196),
                         'class_attention', dtype=torch.Tensor)
        sample.set_field(torch.zeros(3, 14, 14), 'class_saliency',
                         dtype=torch.Tensor)
        metric.process(None, [sample.to_dict()])
    res = metric.evaluate(len(ds))
    # a.jpg: person (crowd), dog; b.jpg: person, toothbrush
    assert res['localization/mask_pairs'] == 4
    assert res['localization/box_pairs'] == 4
    assert res['localization/mask_share'] == pytest.approx(
        res['localization/mask_chance'], abs=1e-3)
    assert res['localization/box_share'] == pytest.approx(
        res['localization/box_chance'], abs=1e-3)


def test_labels_and_boxes_equal_the_pycocotools_reading(tmp_path):
    """The vectorised reading gives what reading the same file through
    ``pycocotools.coco.COCO`` gives, the ASL code base's way (labels from
    ``getAnnIds`` without an ``iscrowd`` filter, images in ``imgToAnns``)."""
    from pycocotools.coco import COCO
    path = write_coco(tmp_path)
    coco = COCO(str(path))
    class_of = {cat: c for c, cat in enumerate(sorted(coco.getCatIds()))}
    expected = {}
    for img_id in list(coco.imgToAnns):
        anns = coco.loadAnns(coco.getAnnIds(imgIds=img_id))
        boxes = np.array([a['bbox'] for a in anns], np.float32)
        boxes[:, 2:] += boxes[:, :2]  # x, y, w, h -> x1, y1, x2, y2
        expected[coco.imgs[img_id]['file_name']] = (
            sorted({class_of[a['category_id']] for a in anns}), boxes,
            [class_of[a['category_id']] for a in anns])
    infos = by_name(build(tmp_path))
    assert set(infos) == set(expected)
    for name, (labels, boxes, box_labels) in expected.items():
        assert infos[name]['gt_label'] == labels
        np.testing.assert_array_equal(infos[name]['gt_bboxes'], boxes)
        assert infos[name]['gt_bboxes_labels'].tolist() == box_labels


def test_set_classes_is_what_mmengine_metainfo_reads():
    """``set_classes`` writes mmengine's protected ``BaseDataset._metainfo``
    (``metainfo`` is a copy without a setter); this fails on an mmengine
    where ``metainfo`` no longer reads it."""
    from mmengine.dataset import BaseDataset

    from oprl_mm.datasets.utils import set_classes

    class Listed(BaseDataset):

        def load_data_list(self):
            set_classes(self, ['b', 'a'])
            return [dict(img_path='x.png')]

    ds = Listed(ann_file='', serialize_data=False)
    assert ds.metainfo['classes'] == ('b', 'a')
    ds.metainfo['classes'] = ('c', )  # a copy: no effect
    assert ds.metainfo['classes'] == ('b', 'a')
