"""Time CocoMultiLabel indexing against pycocotools on a COCO-sized file.

Writes a synthetic COCO ``instances`` file (by default 120,000 images and
900,000 annotations, with polygons, areas and crowd flags shaped like the real
COCO 2014 files: about 500 bytes an annotation) to a temporary folder, then
reports the median of several runs of

* ``pycocotools.coco.COCO(ann_file)``, and
* building ``CocoMultiLabel`` (read, label lists, boxes, filtering and
  mmengine's serialisation: everything the constructor does),

their ratio, and the size of the serialised dataset
(``dataset.data_bytes.nbytes``).

Example::

    python tools/analysis_tools/coco_index_benchmark.py
    python tools/analysis_tools/coco_index_benchmark.py --num-images 2000 \
        --num-anns 15000 --repeats 3
"""
import argparse
import contextlib
import gc
import io
import json
import os
import os.path as osp
import platform
import statistics
import tempfile

import numpy as np

from oprl_mm.utils import timed

# COCO's 80 category ids: 1..90 with ten ids unused.
COCO_CAT_IDS = [
    1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22,
    23, 24, 25, 27, 28, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44,
    46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63, 64,
    65, 67, 70, 72, 73, 74, 75, 76, 77, 78, 79, 80, 81, 82, 84, 85, 86, 87, 88,
    89, 90
]


def parse_args():
    parser = argparse.ArgumentParser(
        description='Time CocoMultiLabel indexing against pycocotools')
    parser.add_argument('--num-images', type=int, default=120_000)
    parser.add_argument('--num-anns', type=int, default=900_000)
    parser.add_argument(
        '--empty-ratio',
        type=float,
        default=0.01,
        help='share of images with no annotation (COCO 2014: about 1%%)')
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--keep', action='store_true', help='keep the generated file')
    return parser.parse_args()


def write_instances(path: str, num_images: int, num_anns: int,
                    empty_ratio: float, seed: int) -> None:
    """Write a COCO-format instances file with random content."""
    rng = np.random.default_rng(seed)
    image_ids = np.sort(rng.choice(600_000, num_images, replace=False)) + 1
    num_empty = int(round(num_images * empty_ratio))
    categories = [
        dict(supercategory='thing', id=c, name=f'category_{c:02d}')
        for c in COCO_CAT_IDS
    ]
    with open(path, 'w') as f:
        json.dump(
            dict(
                info=dict(description='synthetic COCO-format file'),
                licenses=[],
                images=_images(rng, image_ids),
                annotations=_annotations(rng, image_ids[num_empty:],
                                         num_anns),
                categories=categories), f)


def _images(rng, image_ids) -> list:
    """Image entries with every field of the COCO 2014 files."""
    return [
        dict(
            license=int(rng.integers(1, 9)),
            file_name=f'COCO_train2014_{i:012d}.jpg',
            coco_url=f'http://images.cocodataset.org/train2014/'
            f'COCO_train2014_{i:012d}.jpg',
            height=480,
            width=640,
            date_captured='2013-11-14 16:28:13',
            flickr_url='http://farm3.staticflickr.com/2/1_2_z.jpg',
            id=int(i)) for i in image_ids
    ]


def _annotations(rng, labelled, num_anns: int) -> list:
    """Annotations with a polygon, an area and a crowd flag; every
    ``labelled`` image gets at least one."""
    owner = rng.choice(labelled, num_anns)
    owner[:len(labelled)] = labelled
    cats = rng.choice(COCO_CAT_IDS, num_anns)
    crowd = rng.random(num_anns) < 0.01
    xy = rng.uniform(0, 400, (num_anns, 2)).round(2)
    wh = rng.uniform(2, 240, (num_anns, 2)).round(2)
    npts = rng.integers(6, 16, num_anns)
    anns = []
    for k in range(num_anns):
        x, y = xy[k]
        w, h = wh[k]
        pts = rng.uniform(0, 1, (npts[k], 2)) * (w, h) + (x, y)
        anns.append(
            dict(
                segmentation=[pts.round(2).ravel().tolist()],
                area=round(float(w * h) * 0.6, 4),
                iscrowd=int(crowd[k]),
                image_id=int(owner[k]),
                bbox=[float(x), float(y), float(w),
                      float(h)],
                category_id=int(cats[k]),
                id=k + 1))
    return anns


def time_call(fn):
    """Run ``fn`` once, after a garbage collection; return (seconds,
    result)."""
    gc.collect()
    return timed(fn)


def time_both(ann_file: str, img_dir: str, repeats: int):
    """Seconds of each run of ``COCO(ann_file)`` and of building
    ``CocoMultiLabel``, alternated so that neither profits from a warmer
    page cache; and the last dataset built."""
    from pycocotools.coco import COCO

    from oprl_mm.datasets.coco import CocoMultiLabel

    def load_coco():
        with contextlib.redirect_stdout(io.StringIO()):
            return COCO(ann_file)

    def load_dataset():
        return CocoMultiLabel(
            ann_file=ann_file, data_root='', data_prefix=img_dir)

    coco_times, ds_times = [], []
    dataset = None
    for _ in range(repeats):
        coco_times.append(time_call(load_coco)[0])
        dataset = None  # free the previous copy before timing again
        seconds, dataset = time_call(load_dataset)
        ds_times.append(seconds)
    return coco_times, ds_times, dataset


def print_results(coco_times, ds_times, dataset):
    t_coco = statistics.median(coco_times)
    t_ds = statistics.median(ds_times)
    print(f'machine: {platform.machine()}, {os.cpu_count()} CPU cores, '
          f'Python {platform.python_version()}')
    print(f'pycocotools COCO(ann_file): median {t_coco:.2f} s '
          f'(runs: {", ".join(f"{t:.2f}" for t in coco_times)})')
    print(f'CocoMultiLabel(...):        median {t_ds:.2f} s '
          f'(runs: {", ".join(f"{t:.2f}" for t in ds_times)})')
    print(f'ratio CocoMultiLabel / COCO: {t_ds / t_coco:.2f} (target <= 1.2)')
    print(f'images kept: {len(dataset)}; serialised dataset: '
          f'{dataset.data_bytes.nbytes / 2**20:.1f} MiB '
          f'({dataset.data_bytes.nbytes / max(len(dataset), 1):.0f} bytes '
          f'an image)')


def main():
    args = parse_args()
    tmp = tempfile.mkdtemp(prefix='coco_bench_')
    ann_file = osp.join(tmp, 'instances_bench.json')
    img_dir = osp.join(tmp, 'images')
    os.makedirs(img_dir)
    seconds = timed(lambda: write_instances(
        ann_file, args.num_images, args.num_anns, args.empty_ratio,
        args.seed))[0]
    print(f'wrote {ann_file} ({osp.getsize(ann_file) / 2**20:.0f} MiB, '
          f'{args.num_images} images, {args.num_anns} annotations) in '
          f'{seconds:.0f} s')
    print_results(*time_both(ann_file, img_dir, args.repeats))
    if not args.keep:
        os.remove(ann_file)
        os.rmdir(img_dir)
        os.rmdir(tmp)


if __name__ == '__main__':
    main()
