import os.path as osp

import pytest

from oprl_mm.datasets import CsvMultiLabel


def write_csv(root, text, name='train.csv'):
    (root / 'images').mkdir(exist_ok=True)
    (root / name).write_text(text)


def build(root, **kwargs):
    args = dict(data_root=str(root), ann_file='train.csv',
                data_prefix='images')
    args.update(kwargs)
    return CsvMultiLabel(**args)


def test_classes_collected_sorted(tmp_path):
    write_csv(tmp_path, 'image,labels\na.png,dog|cat\nb.png, cat \n'
              'c.png,zebra|cat|cat\n')
    ds = build(tmp_path)
    assert ds.CLASSES == ('cat', 'dog', 'zebra')
    assert [ds.get_data_info(i)['gt_label'] for i in range(3)] == \
        [[0, 1], [0], [0, 2]]
    assert ds.get_data_info(0)['img_path'] == osp.join(
        str(tmp_path), 'images', 'a.png')


def test_given_classes_and_sep(tmp_path):
    write_csv(tmp_path, 'id,image,labels\n1,a.png,dog;cat\n2,b.png,bird\n')
    (tmp_path / 'classes.txt').write_text('dog\ncat\nbird\nfish\n')
    ds = build(tmp_path, sep=';', classes=str(tmp_path / 'classes.txt'))
    assert ds.CLASSES == ('dog', 'cat', 'bird', 'fish')
    assert ds.get_data_info(0)['gt_label'] == [0, 1]
    assert ds.get_data_info(1)['gt_label'] == [2]


def test_unknown_label_names_row(tmp_path):
    write_csv(tmp_path, 'image,labels\na.png,dog\nb.png,cat|unicorn\n')
    with pytest.raises(ValueError, match=r"row 3 .*unicorn"):
        build(tmp_path, classes=['dog', 'cat'])


def test_empty_labels(tmp_path):
    write_csv(tmp_path, 'image,labels\na.png,dog\nb.png,\n')
    with pytest.raises(ValueError, match=r"row 3 .*empty"):
        build(tmp_path)
    with pytest.raises(ValueError, match=r'filter_cfg=dict\(filter_empty_gt'):
        build(tmp_path)
    ds = build(tmp_path, filter_cfg=dict(filter_empty_gt=False))
    assert ds.get_data_info(1)['gt_label'] == []
    dropped = build(tmp_path, filter_cfg=dict(filter_empty_gt=True))
    assert len(dropped) == 1 and dropped.get_data_info(0)['gt_label'] == [0]
    with pytest.raises(TypeError,
                       match=r'filter_cfg=dict\(filter_empty_gt=False'):
        build(tmp_path, allow_empty=True)


def test_bad_header_and_missing_files(tmp_path):
    write_csv(tmp_path, 'path,tags\na.png,dog\n')
    with pytest.raises(ValueError, match='header'):
        build(tmp_path)
    with pytest.raises(FileNotFoundError) as e:
        build(tmp_path, ann_file='nope.csv')
    assert osp.join(str(tmp_path), 'nope.csv') in str(e.value)
    with pytest.raises(FileNotFoundError, match='pictures'):
        build(tmp_path, data_prefix='pictures')


def test_bad_sep():
    with pytest.raises(ValueError, match='sep'):
        CsvMultiLabel(ann_file='x.csv', sep=',')


def test_comma_separated_labels_refused(tmp_path):
    # `b.png,cat,dog` loaded as `cat` alone before
    write_csv(tmp_path, 'image,labels\na.png,dog\nb.png,cat,dog\n')
    with pytest.raises(ValueError) as e:
        build(tmp_path)
    msg = str(e.value)
    assert 'row 3' in msg and osp.join(str(tmp_path), 'train.csv') in msg
    assert "'|'" in msg
    # a trailing empty cell (spreadsheet export) still loads
    write_csv(tmp_path, 'image,labels\na.png,dog|cat,\n')
    assert build(tmp_path).get_data_info(0)['gt_label'] == [0, 1]


def test_duplicate_class_names_refused(tmp_path):
    # classes=['cat', 'dog', 'cat'] gave three classes, `cat` at index 2
    write_csv(tmp_path, 'image,labels\na.png,dog|cat\n')
    with pytest.raises(ValueError, match=r"\['cat'\] occur twice") as e:
        build(tmp_path, classes=['cat', 'dog', 'cat'])
    assert osp.join(str(tmp_path), 'train.csv') in str(e.value)
    (tmp_path / 'classes.txt').write_text('cat\ndog\ncat\n')
    with pytest.raises(ValueError, match='occur twice'):
        build(tmp_path, classes=str(tmp_path / 'classes.txt'))


def test_encoding(tmp_path):
    (tmp_path / 'images').mkdir()
    # a BOM is accepted
    (tmp_path / 'train.csv').write_bytes(
        b'\xef\xbb\xbfimage,labels\na.png,dog\n')
    assert build(tmp_path).CLASSES == ('dog', )
    # Latin-1 is refused with the file and the byte offset
    (tmp_path / 'train.csv').write_bytes(
        'image,labels\na.png,caf\xe9\n'.encode('latin-1'))
    with pytest.raises(ValueError) as e:
        build(tmp_path)
    msg = str(e.value)
    assert osp.join(str(tmp_path), 'train.csv') in msg
    assert 'not UTF-8: byte 22' in msg and 'line 2' in msg
