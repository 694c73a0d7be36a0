import os.path as osp

import numpy as np
import pytest

from oprl_mm.datasets import NUS_WIDE_CLASSES, NUSWide
from oprl_mm.datasets.nus_wide import CONCEPTS_FILE, layout_file

# (official path, concepts)
TRAIN = [('actor\\0001_2124494179.jpg', ['sky', 'clouds']),
         ('airport\\0002_1.jpg', ['airport']),
         ('zoo\\0003_2.jpg', [])]
TEST = [('beach\\0004_3.jpg', ['beach', 'water', 'sky']),
        ('cat\\0005_4.jpg', ['cat'])]


def _onehot(concepts):
    v = np.zeros(81, int)
    for c in concepts:
        v[NUS_WIDE_CLASSES.index(c)] = 1
    return v


def _write(root, relative, text):
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


SPLITS = (('train', TRAIN), ('test', TEST))


def write_image_lists(root, layout='official'):
    for split, rows in SPLITS:
        _write(root, layout_file(layout, 'image_list', split),
               ''.join(p + '\n' for p, _ in rows))
    (root / 'Flickr').mkdir(exist_ok=True)


def write_official(root, skip=()):
    write_image_lists(root)
    for split, rows in SPLITS:
        for c in NUS_WIDE_CLASSES:
            if c not in skip:
                _write(root, layout_file('official', 'labels', split, c),
                       ''.join(f'{int(c in concepts)}\n'
                               for _, concepts in rows))
    _write(root, CONCEPTS_FILE, '\n'.join(NUS_WIDE_CLASSES) + '\n')


def write_q2l(root):
    write_image_lists(root, 'q2l')
    for split, rows in SPLITS:
        _write(root, layout_file('q2l', 'labels', split), ''.join(
            ' '.join(map(str, _onehot(c))) + '\n' for _, c in rows))


def write_asl(root):
    lines = ['filepath,label,split_name']
    for split, rows in (('train', TRAIN), ('val', TEST)):
        for p, concepts in rows:
            name = 'images/' + p.split('\\')[1]
            lines.append(f'{name},"{concepts!r}",{split}')
    (root / 'images').mkdir(exist_ok=True)
    _write(root, layout_file('asl', 'csv', 'train'), '\n'.join(lines) + '\n')


def labels_by_file(ds):
    out = {}
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        out[osp.basename(info['img_path'])] = sorted(
            NUS_WIDE_CLASSES[k] for k in info['gt_label'])
    return out


def expected(rows, filter_empty_gt=True):
    return {
        p.split('\\')[1]: sorted(c)
        for p, c in rows if c or not filter_empty_gt
    }


def test_81_concepts():
    assert len(NUS_WIDE_CLASSES) == 81 == len(set(NUS_WIDE_CLASSES))


@pytest.mark.parametrize('writer,layout', [(write_official, 'official'),
                                           (write_q2l, 'q2l'),
                                           (write_asl, 'asl')])
def test_layouts_read_the_same_labels(tmp_path, writer, layout):
    writer(tmp_path)
    assert NUSWide.detect_layout(str(tmp_path)) == layout
    for split, rows in SPLITS:
        ds = NUSWide(data_root=str(tmp_path), split=split)
        assert ds.layout == layout
        assert ds.CLASSES == NUS_WIDE_CLASSES
        assert labels_by_file(ds) == expected(rows)
    ds = NUSWide(data_root=str(tmp_path), split='train',
                 filter_cfg=dict(filter_empty_gt=False))
    assert labels_by_file(ds) == expected(TRAIN, filter_empty_gt=False)
    with pytest.raises(TypeError, match='filter_empty_gt'):
        NUSWide(data_root=str(tmp_path), split='train', filter_empty=False)


def test_official_paths_normalized(tmp_path):
    write_official(tmp_path)
    ds = NUSWide(data_root=str(tmp_path), split='train', layout='official')
    path = ds.get_data_info(0)['img_path']
    assert '\\' not in path
    assert path == osp.join(str(tmp_path), 'Flickr', 'actor',
                            '0001_2124494179.jpg')


def test_explicit_layout_wins(tmp_path):
    write_official(tmp_path)
    write_asl(tmp_path)
    assert NUSWide(data_root=str(tmp_path), split='test').layout == 'official'
    ds = NUSWide(data_root=str(tmp_path), split='test', layout='asl')
    assert ds.layout == 'asl'
    assert labels_by_file(ds) == expected(TEST)


def test_partial_layout_lists_layouts_and_missing_files(tmp_path):
    write_official(tmp_path, skip=('zebra', ))
    with pytest.raises(FileNotFoundError) as e:
        NUSWide(data_root=str(tmp_path), split='train')
    msg = str(e.value)
    for layout in ('official', 'q2l', 'asl'):
        assert f'{layout}:' in msg
    assert 'Labels_zebra_Train.txt' in msg
    assert 'nus_wid_data.csv' in msg
    assert 'Groundtruth/Labels_Train.txt' in msg
    assert str(tmp_path) in msg


def test_forced_layout_missing_files(tmp_path):
    write_q2l(tmp_path)
    with pytest.raises(FileNotFoundError, match='nus_wid_data.csv'):
        NUSWide(data_root=str(tmp_path), split='train', layout='asl')


def test_missing_image_folder(tmp_path):
    write_q2l(tmp_path)
    (tmp_path / 'Flickr').rmdir()
    with pytest.raises(FileNotFoundError, match='Flickr'):
        NUSWide(data_root=str(tmp_path), split='train')


def test_unknown_concept_names_row(tmp_path):
    write_asl(tmp_path)
    with open(tmp_path / layout_file('asl', 'csv', 'train'), 'a') as f:
        f.write('images/x.jpg,"[\'unicorn\']",train\n')
    with pytest.raises(ValueError, match=r"row \d+ .*unicorn"):
        NUSWide(data_root=str(tmp_path), split='train')


def test_bad_q2l_line(tmp_path):
    write_q2l(tmp_path)
    with open(tmp_path / layout_file('q2l', 'labels', 'test'), 'a') as f:
        f.write('0 1 2\n')
    with pytest.raises(ValueError, match='line 3'):
        NUSWide(data_root=str(tmp_path), split='test')


def test_bad_split(tmp_path):
    with pytest.raises(ValueError, match='split'):
        NUSWide(data_root=str(tmp_path), split='val')


def test_short_csv_row_names_row(tmp_path):
    # a row without its label cell ended in a bare IndexError
    write_asl(tmp_path)
    csv_file = tmp_path / layout_file('asl', 'csv', 'train')
    rows = csv_file.read_text().splitlines()
    with open(csv_file, 'a') as f:
        f.write('images/x.jpg,train\n')
    with pytest.raises(ValueError) as e:
        NUSWide(data_root=str(tmp_path), split='train')
    msg = str(e.value)
    assert f'row {len(rows) + 1} of {csv_file}' in msg and '2 cells' in msg


def test_latin1_image_list_names_file_and_offset(tmp_path):
    write_q2l(tmp_path)
    image_list = tmp_path / layout_file('q2l', 'image_list', 'train')
    raw = image_list.read_bytes()
    image_list.write_bytes(raw + b'caf\xe9\\1.jpg\n')
    with pytest.raises(ValueError) as e:
        NUSWide(data_root=str(tmp_path), split='train')
    msg = str(e.value)
    assert str(image_list) in msg and f'byte {len(raw) + 3}' in msg
    image_list.write_bytes(b'\xef\xbb\xbf' + raw)  # a BOM is accepted
    assert len(NUSWide(data_root=str(tmp_path), split='train')) > 0
