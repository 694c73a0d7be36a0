"""OpenImages: verified positives, verified negatives, unknown the rest."""
import os
import os.path as osp

import numpy as np
import pytest
import torch
from mmpretrain.registry import DATASETS, METRICS
from mmpretrain.structures import DataSample

import oprl_mm  # noqa: F401
from oprl_mm.datasets import OpenImages
from oprl_mm.engine.hooks.cooccurrence_hook import dataset_label_pairs

DESCRIPTIONS = ('LabelName,DisplayName\n/m/a,Apple\n/m/b,"Bat, animal"\n'
                '/m/c,Cat\n/m/x,Not trainable\n')
TRAINABLE = '/m/a\n/m/b\n/m/c\n'
HEADER = 'ImageID,Source,LabelName,Confidence\n'
ROWS = [
    '0001,verification,/m/b,1',
    '0001,verification,/m/a,0',
    '0001,verification,/m/x,1',  # described, not trainable: dropped
    '0002,crowdsource-verification,/m/c,1',
    '0002,verification,/m/c,0',  # positive and negative: positive
    '0003,verification,/m/a,0',  # negatives only
    '0004,verification,/m/c,1',
    '0004,verification,/m/a,1',
]


def write_root(root, rows=ROWS, images=('0001', '0002', '0003', '0004'),
               crlf=False):
    os.makedirs(osp.join(root, 'train'), exist_ok=True)
    with open(osp.join(root, 'oidv6-class-descriptions.csv'), 'w') as f:
        f.write(DESCRIPTIONS)
    with open(osp.join(root, 'oidv6-classes-trainable.txt'), 'w') as f:
        f.write(TRAINABLE)
    text = HEADER + '\n'.join(rows) + '\n'
    if crlf:
        text = text.replace('\n', '\r\n')
    name = 'oidv6-train-annotations-human-imagelabels.csv'
    with open(osp.join(root, name), 'w', newline='') as f:
        f.write(text)
    for image in images:
        open(osp.join(root, 'train', image + '.jpg'), 'wb').close()
    return osp.join(root, name)


@pytest.mark.parametrize('crlf', [False, True])
def test_labels_and_classes(tmp_path, crlf):
    write_root(str(tmp_path), crlf=crlf)
    ds = DATASETS.build(dict(type='OpenImages', data_root=str(tmp_path)))
    assert ds.metainfo['classes'] == ('Apple', 'Bat, animal', 'Cat')
    assert ds.label_names == ['/m/a', '/m/b', '/m/c']
    # 0003 has no verified positive: dropped by filter_empty_gt
    assert len(ds) == 3 and ds.num_dropped_rows == 1
    infos = [ds.get_data_info(i) for i in range(3)]
    assert [osp.basename(i['img_path']) for i in infos] == [
        '0001.jpg', '0002.jpg', '0004.jpg']
    assert [i['gt_label'] for i in infos] == [[1], [2], [0, 2]]
    assert [i['gt_label_negative'] for i in infos] == [[0], [], []]
    assert ds.get_cat_ids(2) == [0, 2]
    rows, cols = ds.positive_label_pairs()
    assert rows.tolist() == [0, 1, 2, 2] and cols.tolist() == [1, 2, 0, 2]


def test_keep_empty_indices_and_subset(tmp_path):
    write_root(str(tmp_path))
    ds = OpenImages(
        str(tmp_path), filter_cfg=dict(filter_empty_gt=False), indices=[2, 0])
    assert [ds.get_data_info(i)['gt_label_negative'] for i in range(2)] == [
        [0], [0]]
    sub = ds.get_subset([1])
    assert len(sub) == 1 and len(ds) == 2
    assert sub.get_data_info(0)['img_path'].endswith('0001.jpg')


def test_unsorted_file_groups_by_image(tmp_path):
    rows = [ROWS[6], ROWS[0], ROWS[3], ROWS[7], ROWS[1]]
    write_root(str(tmp_path), rows=rows)
    ds = OpenImages(str(tmp_path))
    labels = {osp.basename(ds.get_data_info(i)['img_path']):
              ds.get_data_info(i)['gt_label'] for i in range(len(ds))}
    assert labels == {'0001.jpg': [1], '0002.jpg': [2], '0004.jpg': [0, 2]}


def test_large_file_in_chunks(tmp_path, monkeypatch):
    # rows of one image split across parse chunks are one image
    from oprl_mm.datasets import open_images
    monkeypatch.setattr(open_images, 'CHUNK_BYTES', 64)
    rng = np.random.default_rng(0)
    images = [f'{i:016x}' for i in range(40)]
    rows, expected = [], {}
    for image in images:
        classes = sorted(rng.choice(3, rng.integers(1, 4), replace=False))
        expected[image] = [int(c) for c in classes]
        rows += [f'{image},verification,/m/{"abc"[c]},1' for c in classes]
    write_root(str(tmp_path), rows=rows, images=images)
    ds = OpenImages(str(tmp_path))
    got = {osp.basename(ds.get_data_info(i)['img_path'])[:-4]:
           ds.get_data_info(i)['gt_label'] for i in range(len(ds))}
    assert got == expected


def test_unknown_class_names_file_and_row(tmp_path):
    path = write_root(str(tmp_path), rows=ROWS[:3] + ['0002,v,/m/zz,1'])
    with pytest.raises(ValueError) as err:
        OpenImages(str(tmp_path))
    msg = str(err.value)
    assert 'row 5 of' in msg and osp.abspath(path) in msg
    assert '/m/zz' in msg and '0002' in msg


@pytest.mark.parametrize('conf', ['0.7', '2', '', 'yes'])
def test_bad_confidence_names_file_and_row(tmp_path, conf):
    path = write_root(str(tmp_path), rows=ROWS[:2] + [f'0002,v,/m/c,{conf}'])
    with pytest.raises(ValueError, match='confidence') as err:
        OpenImages(str(tmp_path))
    assert f'row 4 of {osp.abspath(path)}' in str(err.value)


def test_bad_row_and_header(tmp_path):
    path = write_root(str(tmp_path), rows=ROWS[:1] + ['0002,v,/m/c'])
    with pytest.raises(ValueError, match=r'row 3 of .*4 comma-separated'):
        OpenImages(str(tmp_path))
    with open(path, 'w') as f:
        f.write('ImageID,Label,Confidence\n0001,/m/a,1\n')
    with pytest.raises(ValueError, match=r'row 1 of .*header'):
        OpenImages(str(tmp_path))


def test_missing_image_error_skip_unchecked(tmp_path):
    path = write_root(str(tmp_path), images=('0001', '0004'))
    with pytest.raises(FileNotFoundError) as err:
        OpenImages(str(tmp_path))
    msg = str(err.value)
    assert '0002.jpg' in msg and f'row 5 of {osp.abspath(path)}' in msg
    assert 'pass skip_unreadable=True' in msg
    with pytest.warns(UserWarning, match='0002.jpg'):
        ds = OpenImages(str(tmp_path), skip_unreadable=True)
    assert len(ds) == 2
    assert len(OpenImages(str(tmp_path), check_images=False)) == 3
    with pytest.raises(TypeError, match="`missing_images` was renamed; pass "
                       "skip_unreadable=True for 'skip'"):
        OpenImages(str(tmp_path), missing_images='skip')


def test_missing_files(tmp_path):
    with pytest.raises(FileNotFoundError, match='class descriptions'):
        OpenImages(str(tmp_path))
    write_root(str(tmp_path))
    with pytest.raises(FileNotFoundError, match='image folder'):
        OpenImages(str(tmp_path), split='validation')
    os.makedirs(osp.join(tmp_path, 'validation'))
    with pytest.raises(FileNotFoundError, match='labels file'):
        OpenImages(str(tmp_path), split='validation')


def test_untrainable_class_in_trainable_list(tmp_path):
    write_root(str(tmp_path))
    with open(osp.join(tmp_path, 'oidv6-classes-trainable.txt'), 'a') as f:
        f.write('/m/nope\n')
    with pytest.raises(ValueError, match=r'row 4 of .*/m/nope'):
        OpenImages(str(tmp_path))


def test_all_described_classes(tmp_path):
    write_root(str(tmp_path))
    ds = OpenImages(str(tmp_path), use_trainable=False)
    assert len(ds.metainfo['classes']) == 4 and ds.num_dropped_rows == 0
    assert ds.get_data_info(0)['gt_label'] == [1, 3]


def test_cooccurrence_pairs_for_the_hook(tmp_path):
    write_root(str(tmp_path))
    ds = OpenImages(str(tmp_path))
    rows, cols = dataset_label_pairs(ds, 3)
    assert rows.tolist() == [0, 1, 2, 2] and cols.tolist() == [1, 2, 0, 2]


def test_metric_ignores_unknown_labels(tmp_path):
    """Only verified labels are scored: a wrong score on an unknown class
    changes nothing."""
    write_root(str(tmp_path))
    ds = OpenImages(str(tmp_path), filter_cfg=dict(filter_empty_gt=False))
    infos = [ds.get_data_info(i) for i in range(len(ds))]

    def run(scores):
        metric = METRICS.build(dict(type='MLCMetric'))
        batch = []
        for info, score in zip(infos, scores):
            s = DataSample().set_pred_score(torch.tensor(score))
            # pred_label as the head sets it at its thr of 0.5
            s.set_pred_label(torch.where(torch.tensor(score) >= 0.5)[0])
            s.set_gt_label(torch.tensor(info['gt_label'], dtype=torch.long))
            s.set_metainfo(dict(gt_label_negative=info['gt_label_negative']))
            batch.append(s.to_dict())
        metric.process(None, batch)
        return metric.evaluate(len(batch))

    # images 0001 (pos b, neg a), 0002 (pos c), 0003 (neg a), 0004 (pos a, c)
    good = [[0.1, 0.9, 0.5], [0.5, 0.5, 0.9], [0.2, 0.5, 0.5],
            [0.8, 0.5, 0.7]]
    base = run(good)
    noisy = [list(s) for s in good]
    noisy[0][2] = 0.99  # class c of 0001: unknown
    noisy[2][1] = noisy[2][2] = 0.99  # 0003: only a is known
    noisy[1][0] = 0.99  # class a of 0002: unknown
    assert run(noisy) == base
    assert base['OP'] == pytest.approx(100.0)  # every known label right
    noisy[2][0] = 0.99  # 0003's verified negative: counts
    assert run(noisy)['OP'] < 100.0


def test_latin1_descriptions_name_file_and_offset(tmp_path):
    write_root(str(tmp_path))
    path = osp.join(tmp_path, 'oidv6-class-descriptions.csv')
    with open(path, 'wb') as f:
        f.write(DESCRIPTIONS.replace('Cat', 'Caf\xe9').encode('latin-1'))
    offset = DESCRIPTIONS.index('Cat') + 3
    with pytest.raises(ValueError) as e:
        OpenImages(str(tmp_path))
    assert path in str(e.value) and f'byte {offset}' in str(e.value)
    with open(path, 'wb') as f:  # a BOM is accepted
        f.write(b'\xef\xbb\xbf' + DESCRIPTIONS.encode())
    assert OpenImages(str(tmp_path)).metainfo['classes'][0] == 'Apple'


def test_lazy_init_through_mmengines_full_init(tmp_path):
    """mmengine's ``full_init`` runs the public steps (``load_data_list``,
    ``filter_data``); OpenImages keeps arrays, not a ``data_list``, and
    reads nothing before it is used."""
    assert 'full_init' not in OpenImages.__dict__
    write_root(str(tmp_path))
    ds = OpenImages(str(tmp_path), lazy_init=True, indices=[1, 0],
                    serialize_data=True)
    assert not hasattr(ds, 'image_ids')  # nothing read yet
    assert len(ds) == 2
    assert ds.get_data_info(1)['img_path'].endswith('0001.jpg')
    assert ds.data_list == []
    eager = OpenImages(str(tmp_path))
    assert [eager.get_data_info(i) for i in (1, 0)] == [
        dict(ds.get_data_info(i), sample_idx=1 - i) for i in range(2)]
