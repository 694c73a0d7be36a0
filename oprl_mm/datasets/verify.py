"""Check a multi-label dataset before training on it.

:func:`verify_dataset` reads every annotation of a built dataset and decodes
every image in DataLoader workers, then returns a JSON-ready report.
Problems that would break or silently spoil training are *errors*
(the dataset cannot be built, no image, a missing or corrupt image, a label
index outside ``[0, C)``, a class count that disagrees with the model);
the rest are *warnings* (a class that never occurs, images without labels,
the same file listed twice, two files with the same content).
``tools/misc/verify_dataset.py`` is the command-line entry point.
"""
import hashlib
import io
from collections import Counter, defaultdict
from typing import Callable, Dict, List, Optional

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

# at most this many examples of each problem are written to the report
MAX_LISTED = 50


def decode_image(path: str) -> dict:
    """Read, hash and fully decode one image.

    PIL decodes with ``LOAD_TRUNCATED_IMAGES=False`` so that a truncated
    JPEG or PNG fails (OpenCV alone only warns and returns a partly grey
    image); OpenCV then decodes the same bytes, as mmcv's default
    ``LoadImageFromFile`` backend does in training.

    Returns:
        dict: ``path``, ``ok``, ``error`` (str or None), ``sha1``, ``shape``.
    """
    import cv2
    from PIL import Image, ImageFile

    out = dict(path=path, ok=False, error=None, sha1=None, shape=None)
    try:
        with open(path, 'rb') as f:
            content = f.read()
    except OSError as e:
        out['error'] = f'cannot read file: {e}'
        return out
    out['sha1'] = hashlib.sha1(content).hexdigest()
    if not content:
        out['error'] = 'empty file'
        return out
    previous = ImageFile.LOAD_TRUNCATED_IMAGES
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        with Image.open(io.BytesIO(content)) as im:
            im.load()
            size = im.size
    except Exception as e:  # PIL raises many types for corrupt files
        out['error'] = f'PIL cannot decode: {e}'
        return out
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = previous
    img = cv2.imdecode(np.frombuffer(content, np.uint8), cv2.IMREAD_COLOR)
    if img is None:
        out['error'] = 'OpenCV cannot decode (training reads images with cv2)'
        return out
    if (img.shape[1], img.shape[0]) != tuple(size):
        out['error'] = (f'OpenCV and PIL disagree on the size '
                        f'({img.shape[1]}x{img.shape[0]} vs {size[0]}x'
                        f'{size[1]})')
        return out
    out['ok'] = True
    out['shape'] = [int(img.shape[0]), int(img.shape[1])]
    return out


class _ImageChecks(Dataset):
    """Decodes images in DataLoader workers."""

    def __init__(self, paths: List[str]):
        self.paths = paths

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, idx):
        return decode_image(self.paths[idx])


def _as_list(batch):
    return batch


def _labels(info: dict) -> np.ndarray:
    gt = info.get('gt_label')
    if gt is None:
        return np.zeros(0, np.int64)
    if isinstance(gt, torch.Tensor):
        gt = gt.numpy()
    return np.asarray(gt).reshape(-1)


def verify_dataset(dataset,
                   num_classes: Optional[int] = None,
                   num_workers: int = 2,
                   batch_size: int = 16,
                   progress: Optional[Callable[[int, int], None]] = None
                   ) -> dict:
    """Check every annotation and image of a built dataset.

    Args:
        dataset: An mmpretrain/mmengine dataset with ``get_data_info`` and
            ``len``; ``CLASSES`` (or ``metainfo['classes']``) if it has them.
        num_classes (int, optional): The class count the model expects, e.g.
            the config's ``data_preprocessor.num_classes``; a dataset with a
            different count is an error. Defaults to None (not checked).
        num_workers (int): DataLoader workers decoding images. Defaults to 2.
        batch_size (int): Images a worker decodes per batch. Defaults to 16.
        progress (callable, optional): Called as ``progress(done, total)``
            after each batch of images.

    Returns:
        dict: The report; ``report['errors']`` is empty when nothing would
        break training.
    """
    errors: List[str] = []
    warnings: List[str] = []
    classes = getattr(dataset, 'CLASSES', None)
    if classes is None:
        classes = dataset.metainfo.get('classes')
    classes = list(classes) if classes is not None else None
    C = len(classes) if classes is not None else num_classes
    if num_classes is not None and classes is not None \
            and len(classes) != num_classes:
        errors.append(f'the dataset has {len(classes)} classes but the '
                      f'config expects num_classes={num_classes}')

    n = len(dataset)
    report: Dict = dict(num_images=n, num_classes=C, classes=classes)
    if n == 0:
        errors.append('the dataset has no image')

    paths, counts, in_memory = [], [], 0
    class_counts = np.zeros(C or 0, np.int64)
    out_of_range, empty = [], []
    for i in range(n):
        info = dataset.get_data_info(i)
        path = info.get('img_path')
        if path is None and isinstance(info.get('img'), np.ndarray):
            # rendered in memory (e.g. SynthMultiLabel): nothing to decode
            path = f'{type(dataset).__name__}[{i}]'
            in_memory += 1
        else:
            paths.append(path)
        gt = _labels(info)
        counts.append(len(np.unique(gt)))
        if len(gt) == 0:
            empty.append(path)
        if C is not None:
            bad = gt[(gt < 0) | (gt >= C)]
            if len(bad):
                out_of_range.append(dict(image=path, labels=bad.tolist()))
            good = np.unique(gt[(gt >= 0) & (gt < C)]).astype(np.int64)
            class_counts[good] += 1

    counts = np.asarray(counts) if counts else np.zeros(1)
    report['labels_per_image'] = dict(
        min=int(counts.min()), mean=float(counts.mean()),
        max=int(counts.max()))
    if classes is not None:
        report['class_counts'] = {
            name: int(c)
            for name, c in zip(classes, class_counts)
        }
    never = [classes[k] if classes else k
             for k in np.flatnonzero(class_counts == 0).tolist()]
    report['never_occurring_classes'] = never
    if never and n:
        warnings.append(f'{len(never)} classes never occur: '
                        f'{never[:MAX_LISTED]}')
    report['images_without_labels'] = dict(
        count=len(empty), examples=empty[:MAX_LISTED])
    if empty:
        warnings.append(f'{len(empty)} images have no label')
    report['labels_out_of_range'] = dict(
        count=len(out_of_range), examples=out_of_range[:MAX_LISTED])
    if out_of_range:
        first = out_of_range[0]
        errors.append(f'{len(out_of_range)} images have label indices '
                      f'outside [0, {C - 1}], e.g. {first["image"]}: '
                      f'{first["labels"]}')

    report['images_in_memory'] = in_memory
    dup_paths = [(p, k) for p, k in Counter(paths).items() if k > 1]
    report['duplicate_paths'] = dict(
        count=len(dup_paths),
        examples=[dict(path=p, times=k) for p, k in dup_paths[:MAX_LISTED]])
    if dup_paths:
        warnings.append(f'{len(dup_paths)} image paths are listed more than '
                        f'once, e.g. {dup_paths[0][0]}')

    # decode each distinct file once
    unique_paths = list(dict.fromkeys(paths))
    loader = DataLoader(
        _ImageChecks(unique_paths),
        batch_size=batch_size,
        num_workers=num_workers,
        collate_fn=_as_list,
        shuffle=False)
    bad_images, by_hash = [], defaultdict(list)
    shapes = []
    done = 0
    for batch in loader:
        for r in batch:
            if r['sha1'] is not None:
                by_hash[r['sha1']].append(r['path'])
            if r['ok']:
                shapes.append(r['shape'])
            else:
                bad_images.append(dict(path=r['path'], error=r['error']))
        done += len(batch)
        if progress is not None:
            progress(done, len(unique_paths))
    report['unreadable_images'] = dict(
        count=len(bad_images), examples=bad_images[:MAX_LISTED])
    if bad_images:
        errors.append(f'{len(bad_images)} images are missing or cannot be '
                      f'decoded, e.g. {bad_images[0]["path"]}: '
                      f'{bad_images[0]["error"]}')
    same = [sorted(v) for v in by_hash.values() if len(v) > 1]
    report['duplicate_content'] = dict(
        count=len(same), examples=same[:MAX_LISTED])
    if same:
        warnings.append(f'{len(same)} groups of different files have the '
                        f'same content, e.g. {same[0][:3]}')
    if shapes:
        hw = np.asarray(shapes)
        report['image_size'] = dict(
            min_hw=hw.min(0).tolist(), max_hw=hw.max(0).tolist())
    report['errors'] = errors
    report['warnings'] = warnings
    report['ok'] = not errors
    return report


def format_report(report: dict, max_classes: int = 100) -> str:
    """Human-readable summary of a :func:`verify_dataset` report."""
    lines = []
    if 'dataset' in report:
        lines.append(f"dataset: {report['dataset']}")
    if 'num_images' in report:
        lpi = report.get('labels_per_image', {})
        lines.append(f"images: {report['num_images']}")
        lines.append(f"classes: {report.get('num_classes')}")
        if lpi:
            lines.append(f"labels per image: min {lpi['min']}, mean "
                         f"{lpi['mean']:.2f}, max {lpi['max']}")
        cc = report.get('class_counts') or {}
        if cc:
            lines.append('images per class:')
            items = list(cc.items())
            for name, c in items[:max_classes]:
                lines.append(f'  {c:>8d}  {name}')
            if len(items) > max_classes:
                lines.append(f'  ... {len(items) - max_classes} more in the '
                             'JSON report')
        for key in ('images_without_labels', 'unreadable_images',
                    'labels_out_of_range', 'duplicate_paths',
                    'duplicate_content'):
            if key in report:
                lines.append(f"{key.replace('_', ' ')}: "
                             f"{report[key]['count']}")
        if 'never_occurring_classes' in report:
            lines.append(f"classes that never occur: "
                         f"{len(report['never_occurring_classes'])}")
    for w in report.get('warnings', []):
        lines.append(f'WARNING: {w}')
    for e in report.get('errors', []):
        lines.append(f'ERROR: {e}')
    lines.append('result: ' + ('OK' if report.get('ok') else
                               'FAILED (training would break)'))
    return '\n'.join(lines)
