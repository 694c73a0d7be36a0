import json
import os.path as osp

import pytest

from oprl_mm.datasets import VG500


def write_vg(root, labels=None):
    (root / 'VG_100K').mkdir(exist_ok=True)
    labels = labels or {'1.jpg': [0, 499, 3, 3], '2.jpg': [7], '3.jpg': [],
                        '4.jpg': [12]}
    (root / 'train_list_500.txt').write_text('1.jpg\n2.jpg\n3.jpg\n')
    (root / 'test_list_500.txt').write_text('4.jpg\n')
    (root / 'vg_category_500_labels_index.json').write_text(
        json.dumps(labels))


def test_without_class_names(tmp_path):
    write_vg(tmp_path)
    ds = VG500(data_root=str(tmp_path), split='train')
    assert len(ds.CLASSES) == 500 and ds.CLASSES[7] == 'class_7'
    assert len(ds) == 2  # 3.jpg has no label
    info = ds.get_data_info(0)
    assert info['gt_label'] == [0, 3, 499]
    assert info['img_path'] == osp.join(str(tmp_path), 'VG_100K', '1.jpg')
    assert len(VG500(data_root=str(tmp_path), split='train',
                     filter_cfg=dict(filter_empty_gt=False))) == 3
    with pytest.raises(TypeError, match='filter_empty_gt'):
        VG500(data_root=str(tmp_path), split='train', filter_empty=False)
    assert VG500(data_root=str(tmp_path), split='test').get_data_info(
        0)['gt_label'] == [12]


def test_class_names_from_file_and_arg(tmp_path):
    write_vg(tmp_path)
    names = [f'obj{i}' for i in range(500)]
    (tmp_path / 'vg_category_500.json').write_text(json.dumps(names))
    assert VG500(data_root=str(tmp_path)).CLASSES[3] == 'obj3'
    mapping = {n: 499 - i for i, n in enumerate(names)}
    (tmp_path / 'vg_category_500.json').write_text(json.dumps(mapping))
    assert VG500(data_root=str(tmp_path)).CLASSES[0] == 'obj499'
    other = [f'thing{i}' for i in range(500)]
    assert VG500(data_root=str(tmp_path), classes=other).CLASSES[1] == \
        'thing1'
    with pytest.raises(ValueError, match='500 class names'):
        VG500(data_root=str(tmp_path), classes=['a', 'b'])


@pytest.mark.parametrize('bad', [500, -1])
def test_label_out_of_range(tmp_path, bad):
    write_vg(tmp_path, {'1.jpg': [1, bad], '2.jpg': [1], '3.jpg': [2]})
    with pytest.raises(ValueError) as e:
        VG500(data_root=str(tmp_path), split='train')
    msg = str(e.value)
    assert '1.jpg' in msg and str(bad) in msg
    assert 'vg_category_500_labels_index.json' in msg


def test_missing_files(tmp_path):
    write_vg(tmp_path)
    (tmp_path / 'test_list_500.txt').unlink()
    with pytest.raises(FileNotFoundError) as e:
        VG500(data_root=str(tmp_path), split='test')
    assert osp.join(str(tmp_path), 'test_list_500.txt') in str(e.value)
    assert 'docs/datasets.md' in str(e.value)


def test_image_without_entry(tmp_path):
    write_vg(tmp_path, {'1.jpg': [1], '2.jpg': [1]})
    with pytest.raises(ValueError, match='3.jpg'):
        VG500(data_root=str(tmp_path), split='train')


@pytest.mark.parametrize('bad', ['317', [3.7], [True], [1, '2'], 5])
def test_labels_of_wrong_type_refused(tmp_path, bad):
    # '317' loaded as the labels 3, 1, 7; [3.7] as 3; [true] as 1
    write_vg(tmp_path, {'1.jpg': bad, '2.jpg': [1], '3.jpg': [2]})
    with pytest.raises(ValueError) as e:
        VG500(data_root=str(tmp_path), split='train')
    msg = str(e.value)
    assert "'1.jpg'" in msg and 'list of integer' in msg
    assert osp.join(str(tmp_path), 'vg_category_500_labels_index.json') in msg


def test_duplicate_image_entries_refused(tmp_path):
    write_vg(tmp_path)
    label_file = tmp_path / 'vg_category_500_labels_index.json'
    # JSON keeps the last of two entries for one image without a word
    label_file.write_text('{"1.jpg": [1], "2.jpg": [2], "3.jpg": [3], '
                          '"1.jpg": [4]}')
    with pytest.raises(ValueError, match="'1.jpg' twice") as e:
        VG500(data_root=str(tmp_path), split='train')
    assert str(label_file) in str(e.value)
    write_vg(tmp_path)
    (tmp_path / 'train_list_500.txt').write_text('1.jpg\n2.jpg\n1.jpg\n')
    with pytest.raises(ValueError, match="'1.jpg' is listed twice") as e:
        VG500(data_root=str(tmp_path), split='train')
    assert str(tmp_path / 'train_list_500.txt') in str(e.value)


@pytest.mark.parametrize('text', ['', '{"1.jpg": [1], ', '[1, 2]'])
def test_malformed_label_file(tmp_path, text):
    write_vg(tmp_path)
    label_file = tmp_path / 'vg_category_500_labels_index.json'
    label_file.write_text(text)
    with pytest.raises(ValueError) as e:
        VG500(data_root=str(tmp_path), split='train')
    msg = str(e.value)
    assert str(label_file) in msg
    assert 'empty' in msg or 'line 1 column' in msg or 'got a list' in msg


def test_label_file_encoding(tmp_path):
    write_vg(tmp_path)
    label_file = tmp_path / 'vg_category_500_labels_index.json'
    label_file.write_bytes(b'\xef\xbb\xbf' + label_file.read_bytes())
    assert len(VG500(data_root=str(tmp_path), split='train')) == 2
    (tmp_path / 'train_list_500.txt').write_bytes(b'1.jpg\n\xe9.jpg\n')
    with pytest.raises(ValueError, match='not UTF-8: byte 6') as e:
        VG500(data_root=str(tmp_path), split='train')
    assert str(tmp_path / 'train_list_500.txt') in str(e.value)
