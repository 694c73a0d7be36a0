import cv2
import numpy as np
import pytest

from oprl_mm.datasets import (LoadImageFromFileOrSkip, UnreadableImageError,
                              read_image)
from oprl_mm.datasets.loading import read_records


@pytest.fixture
def files(tmp_path):
    img = np.zeros((16, 24, 3), np.uint8)
    img[4:8, 4:8] = (0, 0, 255)
    jpeg = cv2.imencode('.jpg', img)[1].tobytes()
    paths = dict(good=tmp_path / 'good.jpg', empty=tmp_path / 'empty.jpg',
                 truncated=tmp_path / 'truncated.jpg',
                 text=tmp_path / 'notes.png', missing=tmp_path / 'none.jpg')
    paths['good'].write_bytes(jpeg)
    paths['empty'].write_bytes(b'')
    paths['truncated'].write_bytes(jpeg[:len(jpeg) // 2])
    paths['text'].write_text('not an image')
    return {k: str(v) for k, v in paths.items()}


def test_read_image_names_the_file_and_the_reason(files):
    assert read_image(files['good']).shape == (16, 24, 3)
    reasons = dict(empty='empty file', truncated='cannot decode',
                   text='cannot decode', missing='does not exist')
    for key, reason in reasons.items():
        with pytest.raises(UnreadableImageError, match=reason) as e:
            read_image(files[key])
        assert e.value.path == files[key] and files[key] in str(e.value)


def test_loader_raises_or_skips_and_records_once(files, tmp_path):
    strict = LoadImageFromFileOrSkip()
    out = strict(dict(img_path=files['good']))
    assert out['img'].shape == (16, 24, 3) and out['ori_shape'] == (16, 24)
    with pytest.raises(UnreadableImageError, match='truncated.jpg'):
        strict(dict(img_path=files['truncated']))

    record = str(tmp_path / 'skipped.txt')
    skip = LoadImageFromFileOrSkip(skip_unreadable=True, record_file=record)
    for key in ('empty', 'truncated', 'empty'):
        assert skip(dict(img_path=files[key])) is None
    records = read_records(record)
    assert set(records) == {files['empty'], files['truncated']}
    assert records[files['empty']] == 'empty file'
    assert open(record).read().count(files['empty']) == 1


def test_the_next_sample_carries_the_skipped_files(files):
    """What UnreadableImageHook counts travels with the data: the sample
    read after a skip lists the skipped files, once."""
    skip = LoadImageFromFileOrSkip(skip_unreadable=True)
    assert skip(dict(img_path=files['empty'])) is None
    assert skip(dict(img_path=files['truncated'])) is None
    out = skip(dict(img_path=files['good']))
    assert [p for p, _ in out['skipped_images']] == [
        files['empty'], files['truncated']]
    assert dict(out['skipped_images'])[files['empty']] == 'empty file'
    assert 'skipped_images' not in skip(dict(img_path=files['good']))


def test_a_test_mode_dataset_never_skips(files, tmp_path):
    from oprl_mm.datasets import CsvMultiLabel
    (tmp_path / 'list.csv').write_text(
        'image,labels\ngood.jpg,a\ntruncated.jpg,a\n')
    dataset = CsvMultiLabel(
        ann_file='list.csv', data_root=str(tmp_path), test_mode=True,
        pipeline=[dict(type='LoadImageFromFileOrSkip'),
                  dict(type='PackInputs')])
    assert dataset[0]['inputs'].shape[-2:] == (16, 24)
    with pytest.raises(UnreadableImageError, match='truncated.jpg'):
        dataset[1]
