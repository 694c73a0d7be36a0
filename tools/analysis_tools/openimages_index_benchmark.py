"""Time OpenImages indexing on a synthetic label file of the real size.

Writes, to a temporary folder, an Open Images V6 layout with random content
shaped like the real one: ``oidv6-class-descriptions.csv`` (19,957 classes),
``oidv6-classes-trainable.txt`` (9,605 of them) and
``oidv6-train-annotations-human-imagelabels.csv`` (by default 9,000,000
images sorted by ImageID, 16 hex digits each, a Poisson number of verified
labels per image with mean 6.4, about 57 M rows; class frequencies Zipf-like;
30 % of the rows name classes that are described but not trainable; 60 % of
the verified labels positive; sources ``verification`` and
``crowdsource-verification``). Then it builds ``OpenImages`` on it
(``check_images=False``: no image files are written) and reports the
median wall and CPU time of ``--repeats`` constructions (on a shared
machine the CPU time is the steadier figure), the peak memory of the
construction (rise of the process's ``VmHWM`` over its resident size
before), the size of the dataset's arrays, and the time of the (image,
class) pairs and of the co-occurrence matrix A that ``CooccurrenceHook``
computes from them (``--cooccurrence``)::

    python tools/analysis_tools/openimages_index_benchmark.py
    python tools/analysis_tools/openimages_index_benchmark.py \
        --num-images 1000000 --repeats 3 --cooccurrence
"""
import argparse
import os
import os.path as osp
import platform
import shutil
import statistics
import tempfile
import time

import numpy as np

from oprl_mm.utils import peak_memory_mb, timed

NUM_DESCRIBED = 19_957
NUM_TRAINABLE = 9_605
SOURCES = (b'verification', b'crowdsource-verification')


def parse_args():
    parser = argparse.ArgumentParser(
        description='Time OpenImages indexing on a synthetic label file')
    parser.add_argument('--num-images', type=int, default=9_000_000)
    parser.add_argument('--rows-per-image', type=float, default=6.4)
    parser.add_argument('--repeats', type=int, default=1)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--cooccurrence', action='store_true',
                        help='also time A from the positive pairs')
    parser.add_argument('--dir', help='write here instead of a temp folder')
    parser.add_argument('--keep', action='store_true')
    return parser.parse_args()


def mids(num: int) -> np.ndarray:
    """``num`` distinct LabelNames shaped like /m/0abc12."""
    return np.array([f'/m/0{i:06x}'.encode() for i in range(num)])


def write_classes(root: str, seed: int) -> np.ndarray:
    """Descriptions and trainable list; returns the described MIDs."""
    rng = np.random.default_rng(seed)
    described = mids(NUM_DESCRIBED)
    with open(osp.join(root, 'oidv6-class-descriptions.csv'), 'wb') as f:
        f.write(b'LabelName,DisplayName\n')
        f.write(b''.join(m + b',"Class ' + m[3:] + b', thing"\n'
                         for m in described))
    trainable = np.sort(rng.choice(NUM_DESCRIBED, NUM_TRAINABLE,
                                   replace=False))
    with open(osp.join(root, 'oidv6-classes-trainable.txt'), 'wb') as f:
        f.write(b''.join(m + b'\n' for m in described[trainable]))
    return described, trainable


def _join(*columns) -> bytes:
    row = columns[0]
    for col in columns[1:]:
        row = np.char.add(np.char.add(row, b','), col)
    return b''.join(np.char.add(row, b'\n').tolist())


def write_labels(path: str, num_images: int, rows_per_image: float,
                 described: np.ndarray, trainable: np.ndarray,
                 seed: int, chunk_images: int = 500_000) -> int:
    """The human-verified labels file, written in chunks of images."""
    rng = np.random.default_rng(seed)
    untrainable = np.setdiff1d(np.arange(len(described)), trainable)
    weights = 1.0 / np.arange(1, len(trainable) + 1)**0.9
    weights /= weights.sum()
    ids = np.sort(rng.choice(16**12, num_images, replace=False))
    num_rows = 0
    with open(path, 'wb') as f:
        f.write(b'ImageID,Source,LabelName,Confidence\n')
        for lo in range(0, num_images, chunk_images):
            chunk = ids[lo:lo + chunk_images]
            per_image = rng.poisson(rows_per_image, len(chunk))
            image = np.repeat(chunk, per_image)
            n = len(image)
            label = trainable[rng.choice(len(trainable), n, p=weights)]
            other = rng.random(n) < 0.3
            label[other] = rng.choice(untrainable, int(other.sum()))
            f.write(
                _join(
                    np.char.mod(b'%016x', image).astype('S16'),
                    np.array(SOURCES)[(rng.random(n) < 0.2).astype(int)],
                    described[label],
                    np.where(rng.random(n) < 0.6, b'1', b'0')))
            num_rows += n
    return num_rows


def write_set(root: str, path: str, args) -> int:
    """Write the class files and the label file; the number of rows."""
    described, trainable = write_classes(root, args.seed)
    return write_labels(path, args.num_images, args.rows_per_image,
                        described, trainable, args.seed)


def build(root: str):
    """The dataset, its wall and CPU seconds, and its peak memory (MB)."""
    from oprl_mm.datasets import OpenImages

    def index():
        return OpenImages(root, split='train', check_images=False)

    def wall_and_cpu():
        return timed(lambda: timed(index), clock=time.process_time)

    peak, (cpu, (seconds, ds)) = peak_memory_mb(wall_and_cpu)
    return ds, seconds, cpu, float('nan') if peak is None else peak


def main():
    args = parse_args()
    import oprl_mm  # noqa: F401
    root = args.dir or tempfile.mkdtemp(prefix='openimages_bench_')
    os.makedirs(osp.join(root, 'train'), exist_ok=True)
    path = osp.join(root, 'oidv6-train-annotations-human-imagelabels.csv')
    try:
        seconds, num_rows = timed(lambda: write_set(root, path, args))
        print(f'wrote {num_rows:,} rows, {args.num_images:,} images, '
              f'{osp.getsize(path) / 2**30:.2f} GiB in {seconds:.0f} s',
              flush=True)
        times, cpus, peaks = [], [], []
        for _ in range(args.repeats):
            ds, seconds, cpu, peak = build(root)
            times.append(seconds)
            cpus.append(cpu)
            peaks.append(peak)
            print(f'indexed in {seconds:.1f} s ({cpu:.1f} s of CPU), peak '
                  f'+{peak / 1024:.2f} GiB', flush=True)
        arrays = sum(a.nbytes for a in (ds.image_ids, ds.first_rows,
                                        ds.offsets, ds.classes, ds.values))
        print(f'OpenImages: {len(ds):,} images with a positive, '
              f'{len(ds.classes):,} trainable labels kept, '
              f'{ds.num_dropped_rows:,} rows of untrainable classes dropped; '
              f'arrays {arrays / 2**20:.0f} MiB')
        print(f'median index time {statistics.median(times):.1f} s, '
              f'{statistics.median(cpus):.1f} s of CPU '
              f'({num_rows / statistics.median(cpus) / 1e6:.2f} M rows per '
              f'CPU second), peak memory +{max(peaks) / 1024:.2f} GiB; '
              f'{platform.processor() or platform.machine()}, '
              f'{os.cpu_count()} CPUs')
        if args.cooccurrence:
            from oprl_mm.models.layers import cooccurrence_matrix_from_pairs
            def cooccurrence():
                rows, cols = ds.positive_label_pairs()
                return len(rows), cooccurrence_matrix_from_pairs(
                    rows, cols, NUM_TRAINABLE)

            seconds, (num_pairs, matrix) = timed(cooccurrence)
            print(f'A ({matrix.shape[0]} x {matrix.shape[1]}) from '
                  f'{num_pairs:,} positive pairs in {seconds:.1f} s')
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == '__main__':
    main()
