"""Tests of tools/oprl_cli/dataset_check.py (moved from tests/test_datasets/test_verify_dataset.py, with the module)."""
import json
import os
import os.path as osp
import runpy
import subprocess
import sys

import pytest

from oprl_cli.dataset_check import verify_dataset
from oprl_mm.datasets import CsvMultiLabel

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = osp.join(REPO, 'tools', 'misc', 'verify_dataset.py')


def write_clean(root, make_image):
    lines = ['image,labels']
    for i, labels in enumerate(['cat|dog', 'dog', 'cat', 'bird|cat']):
        make_image(str(root / 'images' / f'{i}.jpg'), seed=i)
        lines.append(f'{i}.jpg,{labels}')
    (root / 'train.csv').write_text('\n'.join(lines) + '\n')


def truncate(path):
    data = open(path, 'rb').read()
    with open(path, 'wb') as f:
        f.write(data[:len(data) // 2])


def write_config(root, dataset, num_classes):
    cfg = root / 'cfg.py'
    cfg.write_text(
        "custom_imports = dict(imports=['oprl_mm'], "
        'allow_failed_imports=False)\n'
        f'data_preprocessor = dict(num_classes={num_classes})\n'
        f'train_dataloader = dict(dataset={dataset!r})\n')
    return str(cfg)


def run_tool(cfg, out):
    proc = subprocess.run(
        [sys.executable, TOOL, cfg, '--split', 'train', '--out', out,
         '--num-workers', '1'],
        cwd=REPO, capture_output=True, text=True, timeout=120)
    return proc, json.load(open(out))


def csv_dataset_cfg(root):
    return dict(type='CsvMultiLabel', data_root=str(root),
                ann_file='train.csv', data_prefix='images')


def test_clean_dataset_exits_zero(tmp_path, make_image):
    write_clean(tmp_path, make_image)
    cfg = write_config(tmp_path, csv_dataset_cfg(tmp_path), 3)
    proc, report = run_tool(cfg, str(tmp_path / 'report.json'))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert report['ok'] and report['num_images'] == 4
    assert report['class_counts'] == dict(bird=1, cat=3, dog=2)
    assert report['labels_per_image'] == dict(min=1, mean=1.5, max=2)
    assert 'images: 4' in proc.stdout


def test_truncated_jpeg_and_out_of_range_label(tmp_path, make_image):
    # OpenMMLab-format file: mmpretrain does not check label ranges itself
    for i in range(3):
        make_image(str(tmp_path / 'images' / f'{i}.jpg'), seed=i,
                   size=(64, 64))
    truncate(str(tmp_path / 'images' / '1.jpg'))
    ann = dict(
        metainfo=dict(classes=['a', 'b', 'c']),
        data_list=[
            dict(img_path='0.jpg', gt_label=[0, 1]),
            dict(img_path='1.jpg', gt_label=[1]),
            dict(img_path='2.jpg', gt_label=[2, 3]),
        ])
    (tmp_path / 'ann.json').write_text(json.dumps(ann))
    cfg = write_config(
        tmp_path,
        dict(type='MultiLabelDataset', data_root=str(tmp_path),
             ann_file='ann.json', data_prefix='images'), 3)
    proc, report = run_tool(cfg, str(tmp_path / 'report.json'))
    assert proc.returncode != 0
    assert not report['ok']
    bad = report['unreadable_images']['examples']
    assert [osp.basename(b['path']) for b in bad] == ['1.jpg']
    oor = report['labels_out_of_range']['examples']
    assert len(oor) == 1 and oor[0]['labels'] == [3]
    assert oor[0]['image'].endswith('2.jpg')
    assert 'ERROR' in proc.stdout


def test_dataset_that_refuses_to_load(tmp_path):
    (tmp_path / 'VG_100K').mkdir()
    (tmp_path / 'train_list_500.txt').write_text('1.jpg\n')
    (tmp_path / 'vg_category_500_labels_index.json').write_text(
        json.dumps({'1.jpg': [500]}))
    cfg = write_config(
        tmp_path, dict(type='VG500', data_root=str(tmp_path), split='train'),
        500)
    out = str(tmp_path / 'report.json')
    # in-process, to keep the test module fast
    argv = sys.argv
    sys.argv = [TOOL, cfg, '--out', out, '--num-workers', '0']
    try:
        with pytest.raises(SystemExit) as e:
            runpy.run_path(TOOL, run_name='__main__')
    finally:
        sys.argv = argv
    assert e.value.code == 1
    report = json.load(open(out))
    assert not report['ok']
    assert any('1.jpg' in e and '500' in e for e in report['errors'])


def test_warnings_do_not_fail(tmp_path, make_image):
    write_clean(tmp_path, make_image)
    # same file listed twice, a copy under another name, a class never seen
    with open(tmp_path / 'train.csv', 'a') as f:
        f.write('0.jpg,cat\ncopy.jpg,dog\n')
    data = open(tmp_path / 'images' / '2.jpg', 'rb').read()
    open(tmp_path / 'images' / 'copy.jpg', 'wb').write(data)
    ds = CsvMultiLabel(
        data_root=str(tmp_path), ann_file='train.csv', data_prefix='images',
        classes=['bird', 'cat', 'dog', 'fish'])
    report = verify_dataset(ds, num_classes=4, num_workers=0)
    assert report['ok'], report['errors']
    assert report['never_occurring_classes'] == ['fish']
    assert report['duplicate_paths']['count'] == 1
    groups = report['duplicate_content']['examples']
    assert [sorted(map(osp.basename, g)) for g in groups] == \
        [['2.jpg', 'copy.jpg']]
    assert len(report['warnings']) == 3


def test_missing_image_and_class_count(tmp_path, make_image):
    write_clean(tmp_path, make_image)
    os.remove(tmp_path / 'images' / '3.jpg')
    ds = CsvMultiLabel(
        data_root=str(tmp_path), ann_file='train.csv', data_prefix='images')
    report = verify_dataset(ds, num_classes=80, num_workers=0)
    assert not report['ok']
    assert report['unreadable_images']['count'] == 1
    assert any('num_classes=80' in e for e in report['errors'])


def test_images_rendered_in_memory():
    from oprl_mm.datasets import SynthMultiLabel
    report = verify_dataset(
        SynthMultiLabel(split='val', num_images=20), num_workers=0)
    assert report['ok'] and report['images_in_memory'] == 20
    assert report['unreadable_images']['count'] == 0
