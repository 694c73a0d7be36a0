"""Reading image files that may be unreadable.

One reader, :func:`read_image`, serves training (through the
``LoadImageFromFileOrSkip`` transform below) and inference
(``MultiLabelInferencer``): it raises :class:`UnreadableImageError`, which
names the file and says why (missing, empty, not decodable), where mmcv's
``LoadImageFromFile`` stops with a bare ``AssertionError`` or an OpenCV
error that names no file.

OpenCV 5 refuses a truncated JPEG or PNG; OpenCV 4 only warns and returns a
partly grey image, which no reader short of a second, stricter decoder
notices: ``tools/misc/verify_dataset.py`` decodes with PIL as well.
"""
import io
import logging
import os
import os.path as osp
import warnings
from typing import Optional, Tuple

import mmcv
import numpy as np
from mmcv.transforms import LoadImageFromFile
from mmengine import fileio
from mmengine.logging import print_log
from mmpretrain.registry import TRANSFORMS

VERIFY_TOOL = 'tools/misc/verify_dataset.py'
# the key of the (path, reason) pairs a training sample carries for the
# unreadable files skipped before it (see LoadImageFromFileOrSkip)
SKIPPED_KEY = 'skipped_images'
MISSING_REASON = 'file does not exist'
# Inference refuses images of more pixels than this before decoding them
# (100 megapixels, 10000 x 10000: 300 MB decoded, several GB once a
# pipeline without a resize turns it into float tensors).
MAX_PIXELS = 100_000_000


class UnreadableImageError(ValueError):
    """An image file that cannot be read or decoded.

    Attributes:
        path (str): the file.
        reason (str): why, e.g. ``'empty file'``.
    """

    def __init__(self, path: str, reason: str):
        super().__init__(f'cannot read image {path!r}: {reason}')
        self.path = path
        self.reason = reason


def header_size(content: bytes) -> Optional[Tuple[int, int]]:
    """``(width, height)`` from an encoded image's header, without decoding
    the pixels; None when PIL cannot read the header."""
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore', Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(content)) as img:
                return img.size
    except Image.DecompressionBombError:
        return (Image.MAX_IMAGE_PIXELS, 2)  # beyond PIL's own bomb limit
    except Exception:  # a format or a corruption PIL does not read
        return None


def check_pixels(path: str, width: int, height: int,
                 max_pixels: Optional[int]) -> None:
    """Raise :class:`UnreadableImageError` for an image of more than
    ``max_pixels`` pixels."""
    if max_pixels is not None and width * height > max_pixels:
        raise UnreadableImageError(
            path, f'{width} x {height} = {width * height} pixels, more than '
            f'the limit of {max_pixels} (resize it, or raise the limit, '
            'e.g. tools/infer.py --max-pixels, if memory allows)')


def read_image(path: str,
               color_type: str = 'color',
               imdecode_backend: str = 'cv2',
               backend_args: Optional[dict] = None,
               max_pixels: Optional[int] = None) -> np.ndarray:
    """Read and decode one image file as mmcv's ``LoadImageFromFile`` does.

    Args:
        path (str): the file (any mmengine file backend).
        color_type (str): ``mmcv.imfrombytes`` flag. Defaults to 'color'
            (H x W x 3, BGR).
        imdecode_backend (str): ``mmcv.imfrombytes`` backend. Defaults to
            'cv2'.
        backend_args (dict, optional): mmengine file backend arguments.
        max_pixels (int, optional): refuse, before decoding, an image whose
            header gives more pixels (see :data:`MAX_PIXELS`). Defaults to
            None (no limit).

    Raises:
        UnreadableImageError: the file is missing, empty, not decodable,
            over ``max_pixels``, or too large to decode in the memory left.
    """
    try:
        content = fileio.get(path, backend_args=backend_args)
    except FileNotFoundError:
        raise UnreadableImageError(path, MISSING_REASON) from None
    except OSError as e:
        raise UnreadableImageError(path, f'cannot read file: {e}') from e
    if not content:
        raise UnreadableImageError(path, 'empty file')
    if max_pixels is not None:
        size = header_size(content)
        if size is not None:
            check_pixels(path, *size, max_pixels)
    try:
        img = mmcv.imfrombytes(
            content, flag=color_type, backend=imdecode_backend)
    except MemoryError:
        raise UnreadableImageError(
            path, 'out of memory while decoding (an image too large for the '
            'memory left)') from None
    except Exception as e:  # decoders raise many types on corrupt bytes
        raise UnreadableImageError(
            path, f'cannot decode ({type(e).__name__}: {e})') from e
    if img is None:
        raise UnreadableImageError(
            path, 'cannot decode (not an image, or truncated)')
    return img


def append_record(record_file: str, path: str, reason: str) -> bool:
    """Add ``path`` to a skipped-images record unless it is there already.

    Each line is ``path<TAB>reason``. Dataloader workers are separate
    processes; each appends one short line with ``O_APPEND``, which POSIX
    writes in one piece.

    Returns:
        bool: True when the path was new to the record.
    """
    if path in read_records(record_file):
        return False
    line = f'{path}\t{" ".join(reason.split())}\n'.encode()
    fd = os.open(record_file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)
    return True


def read_records(record_file: Optional[str]) -> dict:
    """``{path: reason}`` of a skipped-images record (empty if absent)."""
    if not record_file or not osp.isfile(record_file):
        return {}
    records = {}
    with open(record_file, encoding='utf-8') as f:
        for line in f:
            path, _, reason = line.rstrip('\n').partition('\t')
            if path:
                records.setdefault(path, reason)
    return records


@TRANSFORMS.register_module()
class LoadImageFromFileOrSkip(LoadImageFromFile):
    """mmcv's ``LoadImageFromFile`` that can skip an unreadable file.

    With ``skip_unreadable=False`` an unreadable file raises
    :class:`UnreadableImageError`, which names it and says why. With
    ``skip_unreadable=True`` the file is logged once and the transform
    returns None, on which mmengine's ``BaseDataset`` draws another sample
    in training. That sample, read next by the same process, carries the
    files skipped before it under ``results['skipped_images']`` (a tuple of
    ``(path, reason)``); ``PackInputs`` with ``'skipped_images'`` in its
    ``meta_keys`` puts them into the data sample's metainfo, and from the
    batches ``UnreadableImageHook`` counts them, reports them at the end of
    training and stops the run when too many are skipped. Nothing has to
    reach the transform at run time: the record travels with the data, from
    every dataloader worker and every rank.

    Only training pipelines should skip: in test mode mmengine's dataset
    refuses a None sample, so validation and test pipelines keep
    ``skip_unreadable=False`` and a bad image there is an error naming it.

    Args:
        skip_unreadable (bool): return None instead of raising. Defaults to
            False.
        record_file (str, optional): a file to which the dataloader
            workers also append each skipped image, once (a path of the
            user's choice; ``UnreadableImageHook`` does not need it). Without
            it each process logs each file once.
        **kwargs: the arguments of mmcv's ``LoadImageFromFile``
            (``color_type``, ``imdecode_backend``, ``backend_args`` ...).
    """

    def __init__(self,
                 skip_unreadable: bool = False,
                 record_file: Optional[str] = None,
                 **kwargs):
        super().__init__(**kwargs)
        self.skip_unreadable = skip_unreadable
        self.record_file = record_file
        self._logged = set()
        self._skipped = []  # since the last sample this process returned

    def transform(self, results: dict) -> Optional[dict]:
        path = results['img_path']
        try:
            img = read_image(path, self.color_type, self.imdecode_backend,
                             self.backend_args)
        except UnreadableImageError as e:
            if not self.skip_unreadable:
                raise
            self._record(e)
            self._skipped.append((e.path, e.reason))
            return None
        if self.to_float32:
            img = img.astype(np.float32)
        if self._skipped:
            results[SKIPPED_KEY] = tuple(self._skipped)
            self._skipped = []
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        return results

    def _record(self, error: UnreadableImageError) -> None:
        if self.record_file:
            new = append_record(self.record_file, error.path, error.reason)
        else:
            new = error.path not in self._logged
            self._logged.add(error.path)
        if new:
            print_log(
                f'skipped an unreadable training image, another sample '
                f'takes its place: {error.path} ({error.reason})',
                logger='current',
                level=logging.WARNING)

    def __repr__(self) -> str:
        return (super().__repr__()[:-1] +
                f', skip_unreadable={self.skip_unreadable})')
