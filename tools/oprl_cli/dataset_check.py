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
from dataclasses import dataclass, field
from typing import (Callable, Dict, Iterable, Iterator, List, Optional,
                    Tuple)

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
    out = dict(path=path, ok=False, error=None, sha1=None, shape=None)
    try:
        with open(path, 'rb') as f:
            content = f.read()
    except OSError as e:
        out['error'] = f'cannot read file: {e}'
        return out
    out['sha1'] = hashlib.sha1(content).hexdigest()
    out['error'], out['shape'] = _decode(content)
    out['ok'] = out['error'] is None
    return out


def _decode(content: bytes) -> Tuple[Optional[str], Optional[List[int]]]:
    """The error, or None and ``[height, width]``, of decoding the bytes
    with PIL and then OpenCV."""
    import cv2
    if not content:
        return 'empty file', None
    size, error = _pil_size(content)
    if error is not None:
        return f'PIL cannot decode: {error}', None
    img = cv2.imdecode(np.frombuffer(content, np.uint8), cv2.IMREAD_COLOR)
    if img is None:
        return 'OpenCV cannot decode (training reads images with cv2)', None
    height, width = int(img.shape[0]), int(img.shape[1])
    if (width, height) != tuple(size):
        return (f'OpenCV and PIL disagree on the size ({width}x{height} vs '
                f'{size[0]}x{size[1]})'), None
    return None, [height, width]


def _pil_size(content: bytes) -> Tuple[Optional[tuple], Optional[str]]:
    """PIL's (width, height) of the fully decoded bytes, or its error."""
    from PIL import Image, ImageFile
    previous = ImageFile.LOAD_TRUNCATED_IMAGES
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        with Image.open(io.BytesIO(content)) as im:
            im.load()
            return im.size, None
    except Exception as e:  # PIL raises many types for corrupt files
        return None, str(e)
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = previous


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
    found = _Findings()
    classes = _class_names(dataset)
    C = len(classes) if classes is not None else num_classes
    if num_classes is not None and classes is not None \
            and len(classes) != num_classes:
        found.error(f'the dataset has {len(classes)} classes but the '
                    f'config expects num_classes={num_classes}')
    found.report.update(num_images=len(dataset), num_classes=C,
                        classes=classes)
    if not len(dataset):
        found.error('the dataset has no image')
    scan = _scan_annotations(dataset, C)
    _report_labels(found, scan, classes, C)
    _report_paths(found, scan)
    unique_paths = list(dict.fromkeys(scan.paths))  # decode each file once
    _report_images(
        found,
        _decode_images(unique_paths, num_workers, batch_size, progress))
    return found.finish()


class _Findings:
    """The report being written, with its errors and warnings."""

    def __init__(self):
        self.report: Dict = {}
        self.errors: List[str] = []
        self.warnings: List[str] = []

    def error(self, message: str) -> None:
        self.errors.append(message)

    def warn(self, message: str) -> None:
        self.warnings.append(message)

    def examples(self, key: str, items: list) -> None:
        """Record how many ``items`` there are and the first few."""
        self.report[key] = dict(count=len(items), examples=items[:MAX_LISTED])

    def finish(self) -> dict:
        self.report.update(
            errors=self.errors, warnings=self.warnings, ok=not self.errors)
        return self.report


@dataclass
class _Scan:
    """What one pass over the annotations found."""
    class_counts: np.ndarray  # images per class
    paths: List[str] = field(default_factory=list)  # image files listed
    labels_per_image: List[int] = field(default_factory=list)
    in_memory: int = 0  # images rendered in memory, without a file
    out_of_range: List[dict] = field(default_factory=list)
    without_labels: List[str] = field(default_factory=list)


def _class_names(dataset) -> Optional[List[str]]:
    classes = getattr(dataset, 'CLASSES', None)
    if classes is None:
        classes = dataset.metainfo.get('classes')
    return list(classes) if classes is not None else None


def _scan_annotations(dataset, num_classes: Optional[int]) -> _Scan:
    """Image paths and label statistics of every data info."""
    scan = _Scan(class_counts=np.zeros(num_classes or 0, np.int64))
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        path = info.get('img_path')
        if path is None and isinstance(info.get('img'), np.ndarray):
            # rendered in memory (e.g. SynthMultiLabel): nothing to decode
            path = f'{type(dataset).__name__}[{i}]'
            scan.in_memory += 1
        else:
            scan.paths.append(path)
        gt = _labels(info)
        scan.labels_per_image.append(len(np.unique(gt)))
        if len(gt) == 0:
            scan.without_labels.append(path)
        if num_classes is not None:
            inside = (gt >= 0) & (gt < num_classes)
            if not inside.all():
                scan.out_of_range.append(
                    dict(image=path, labels=gt[~inside].tolist()))
            scan.class_counts[np.unique(gt[inside]).astype(np.int64)] += 1
    return scan


def _report_labels(found: _Findings, scan: _Scan,
                   classes: Optional[List[str]],
                   num_classes: Optional[int]) -> None:
    """Labels per image, images per class, and the label problems."""
    counts = np.asarray(scan.labels_per_image or [0])
    found.report['labels_per_image'] = dict(
        min=int(counts.min()), mean=float(counts.mean()),
        max=int(counts.max()))
    if classes is not None:
        found.report['class_counts'] = {
            name: int(c)
            for name, c in zip(classes, scan.class_counts)
        }
    never = [classes[k] if classes else k
             for k in np.flatnonzero(scan.class_counts == 0).tolist()]
    found.report['never_occurring_classes'] = never
    if never and scan.labels_per_image:
        found.warn(f'{len(never)} classes never occur: '
                   f'{never[:MAX_LISTED]}')
    found.examples('images_without_labels', scan.without_labels)
    if scan.without_labels:
        found.warn(f'{len(scan.without_labels)} images have no label')
    found.examples('labels_out_of_range', scan.out_of_range)
    if scan.out_of_range:
        first = scan.out_of_range[0]
        found.error(f'{len(scan.out_of_range)} images have label indices '
                    f'outside [0, {num_classes - 1}], e.g. {first["image"]}: '
                    f'{first["labels"]}')


def _report_paths(found: _Findings, scan: _Scan) -> None:
    """Images held in memory and files listed more than once."""
    found.report['images_in_memory'] = scan.in_memory
    dup_paths = [(p, k) for p, k in Counter(scan.paths).items() if k > 1]
    found.report['duplicate_paths'] = dict(
        count=len(dup_paths),
        examples=[dict(path=p, times=k) for p, k in dup_paths[:MAX_LISTED]])
    if dup_paths:
        found.warn(f'{len(dup_paths)} image paths are listed more than '
                   f'once, e.g. {dup_paths[0][0]}')


def _decode_images(paths: List[str], num_workers: int, batch_size: int,
                   progress: Optional[Callable[[int, int], None]]
                   ) -> Iterator[dict]:
    """Yield :func:`decode_image` of every path, decoded in DataLoader
    workers."""
    loader = DataLoader(
        _ImageChecks(paths),
        batch_size=batch_size,
        num_workers=num_workers,
        collate_fn=_as_list,
        shuffle=False)
    done = 0
    for batch in loader:
        yield from batch
        done += len(batch)
        if progress is not None:
            progress(done, len(paths))


def _report_images(found: _Findings, decoded: Iterable[dict]) -> None:
    """Unreadable images, files with the same content, image sizes."""
    bad, by_hash, shapes = [], defaultdict(list), []
    for r in decoded:
        if r['sha1'] is not None:
            by_hash[r['sha1']].append(r['path'])
        if r['ok']:
            shapes.append(r['shape'])
        else:
            bad.append(dict(path=r['path'], error=r['error']))
    found.examples('unreadable_images', bad)
    if bad:
        found.error(f'{len(bad)} images are missing or cannot be decoded, '
                    f'e.g. {bad[0]["path"]}: {bad[0]["error"]}')
    same = [sorted(v) for v in by_hash.values() if len(v) > 1]
    found.examples('duplicate_content', same)
    if same:
        found.warn(f'{len(same)} groups of different files have the '
                   f'same content, e.g. {same[0][:3]}')
    if shapes:
        hw = np.asarray(shapes)
        found.report['image_size'] = dict(
            min_hw=hw.min(0).tolist(), max_hw=hw.max(0).tolist())


def format_report(report: dict, max_classes: int = 100) -> str:
    """Human-readable summary of a :func:`verify_dataset` report."""
    lines = []
    if 'dataset' in report:
        lines.append(f"dataset: {report['dataset']}")
    if 'num_images' in report:
        lines += _summary_lines(report, max_classes)
    for w in report.get('warnings', []):
        lines.append(f'WARNING: {w}')
    for e in report.get('errors', []):
        lines.append(f'ERROR: {e}')
    lines.append('result: ' + ('OK' if report.get('ok') else
                               'FAILED (training would break)'))
    return '\n'.join(lines)


def _summary_lines(report: dict, max_classes: int) -> List[str]:
    """Counts of images, classes, labels and of each kind of problem."""
    lines = [
        f"images: {report['num_images']}",
        f"classes: {report.get('num_classes')}"
    ]
    lpi = report.get('labels_per_image', {})
    if lpi:
        lines.append(f"labels per image: min {lpi['min']}, mean "
                     f"{lpi['mean']:.2f}, max {lpi['max']}")
    items = list((report.get('class_counts') or {}).items())
    if items:
        lines.append('images per class:')
        lines += [f'  {c:>8d}  {name}' for name, c in items[:max_classes]]
        if len(items) > max_classes:
            lines.append(f'  ... {len(items) - max_classes} more in the '
                         'JSON report')
    for key in ('images_without_labels', 'unreadable_images',
                'labels_out_of_range', 'duplicate_paths',
                'duplicate_content'):
        if key in report:
            lines.append(f"{key.replace('_', ' ')}: {report[key]['count']}")
    if 'never_occurring_classes' in report:
        lines.append(f"classes that never occur: "
                     f"{len(report['never_occurring_classes'])}")
    return lines
