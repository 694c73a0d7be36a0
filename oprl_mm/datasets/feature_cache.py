"""A dataset of a frozen backbone's feature maps, computed once and cached."""
import copy
import fcntl
import hashlib
import json
import os
import os.path as osp
from typing import List, Optional, Sequence

import numpy as np
import torch
from mmengine.dataset import Compose, pseudo_collate
from mmpretrain.registry import DATASETS, MODELS, TRANSFORMS

# the cache file's layout; a file of another version is computed again
CACHE_VERSION = 1


@DATASETS.register_module()
class BackboneFeatureCache:
    """Wrap a dataset so that each item is a frozen backbone's feature map.

    Training heads on a frozen backbone recomputes the same backbone forward
    pass every epoch. This wrapper computes it once: on first use it reads
    every image of ``dataset`` through ``image_pipeline`` (no augmentation,
    so nothing random is frozen into the cache), normalises it with
    ``data_preprocessor`` and runs ``backbone`` in eval mode, keeping the
    last output (C x h x w) of each image in a float16 ``.npz`` file under
    ``cache_dir``. Later builds with the same settings load that file into
    memory (numpy arrays, no pickle) instead of running the backbone.

    An item is the wrapped dataset's data info (labels, boxes, masks...:
    the image is not read) with ``img`` set to the float32 feature map and
    ``ori_shape`` / ``img_shape`` to the image's, passed through
    ``pipeline``; a model reads it with the ``FeatureMapInput`` backbone and
    a data preprocessor without normalisation. ``metainfo`` and
    ``get_cat_ids`` are the wrapped dataset's, so the class-count check and
    the co-occurrence statistics see the real labels.

    The file name is the SHA-256 of the settings (the wrapped dataset's
    config, the backbone's, the preprocessor's, the image pipeline) and of
    every data info: another split, seed, weight file name or backbone gets
    another file. The image files' and weight files' contents are not
    hashed: clear ``cache_dir`` after changing them in place. One process
    computes a missing file (a lock file beside it makes parallel runs and
    ranks wait, then read it); it is written under a temporary name and
    renamed, so that an interrupted run never leaves a half-written cache.

    Args:
        dataset (dict): Config of the wrapped dataset. Its ``pipeline`` is
            not used.
        backbone (dict): Config of the frozen backbone, with the
            ``init_cfg`` that loads its weights.
        data_preprocessor (dict): Config of the data preprocessor applied
            before the backbone (e.g. ``ClsDataPreprocessor`` with the
            backbone's mean, std and channel order).
        image_pipeline (Sequence[dict]): Reads one image of the wrapped
            dataset into ``inputs``. Defaults to ``[PackInputs]``, enough
            for datasets whose data info holds ``img`` (the rendered ones);
            file datasets need ``LoadImageFromFile`` and a ``Resize`` first.
        pipeline (Sequence[dict]): Applied to each item (features in
            ``img``). Defaults to ``[PackInputs]``.
        cache_dir (str): Where the cache files live. Defaults to
            ``'work_dirs/feature_cache'``.
        batch_size (int): Images per backbone pass when computing.
            Defaults to 32.
        lazy_init (bool): Defer reading (or computing) the cache to the
            first use. Defaults to False.
    """

    def __init__(self,
                 dataset: dict,
                 backbone: dict,
                 data_preprocessor: dict,
                 image_pipeline: Sequence[dict] = (dict(type='PackInputs'), ),
                 pipeline: Sequence[dict] = (dict(type='PackInputs'), ),
                 cache_dir: str = 'work_dirs/feature_cache',
                 batch_size: int = 32,
                 lazy_init: bool = False):
        self._settings = dict(
            version=CACHE_VERSION,
            dataset=_plain(dataset),
            backbone=_plain(backbone),
            data_preprocessor=_plain(data_preprocessor),
            image_pipeline=_plain(list(image_pipeline)))
        self.dataset = DATASETS.build(dataset)
        self._backbone_cfg = copy.deepcopy(backbone)
        self._preprocessor_cfg = copy.deepcopy(data_preprocessor)
        self.image_pipeline = Compose(
            [TRANSFORMS.build(t) for t in image_pipeline])
        self.pipeline = Compose([TRANSFORMS.build(t) for t in pipeline])
        self.cache_dir = cache_dir
        self.batch_size = batch_size
        self.cache_file: Optional[str] = None
        self.features: Optional[np.ndarray] = None
        self.image_shapes: Optional[np.ndarray] = None
        self._fully_initialized = False
        if not lazy_init:
            self.full_init()

    @property
    def metainfo(self) -> dict:
        return copy.deepcopy(self.dataset.metainfo)

    def full_init(self) -> None:
        """Read the cache file, computing it first if there is none."""
        if self._fully_initialized:
            return
        self.dataset.full_init()
        self.cache_file = osp.join(self.cache_dir, self._key() + '.npz')
        if not osp.isfile(self.cache_file):
            os.makedirs(self.cache_dir, exist_ok=True)
            # one process computes, the others (ranks, parallel runs) wait
            # for it and read its file
            with open(self.cache_file + '.lock', 'w') as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                if not osp.isfile(self.cache_file):
                    self._compute()
        self._read()
        self._fully_initialized = True

    def _key(self) -> str:
        digest = hashlib.sha256(
            json.dumps(self._settings, sort_keys=True).encode())
        for idx in range(len(self.dataset)):
            digest.update(repr(self._info(idx)).encode())
        return digest.hexdigest()[:24]

    def _info(self, idx: int) -> dict:
        """The wrapped dataset's data info, without reading the image."""
        if hasattr(self.dataset, 'get_layout'):  # rendered when read
            return self.dataset.get_layout(idx)
        return self.dataset.get_data_info(idx)

    @torch.no_grad()
    def _compute(self) -> None:
        """Run the frozen backbone over every image; write the cache."""
        backbone = MODELS.build(self._backbone_cfg)
        backbone.init_weights()
        backbone.eval()
        preprocessor = MODELS.build(self._preprocessor_cfg)
        features, shapes = [], []
        for start in range(0, len(self.dataset), self.batch_size):
            batch = [
                self.image_pipeline(self.dataset.get_data_info(idx))
                for idx in range(start,
                                 min(start + self.batch_size,
                                     len(self.dataset)))
            ]
            inputs = preprocessor(pseudo_collate(batch), False)['inputs']
            features.append(backbone(inputs)[-1].half().numpy())
            shapes += [s.ori_shape for s in
                       (item['data_samples'] for item in batch)]
        tmp = f'{self.cache_file}.{os.getpid()}.tmp.npz'
        np.savez(
            tmp,
            features=np.concatenate(features),
            image_shapes=np.asarray(shapes, dtype=np.int64))
        os.replace(tmp, self.cache_file)

    def _read(self) -> None:
        with np.load(self.cache_file) as cache:
            features, shapes = cache['features'], cache['image_shapes']
        if len(features) != len(self.dataset):
            raise ValueError(
                f'{self.cache_file} holds {len(features)} feature maps for '
                f'a dataset of {len(self.dataset)} images: delete the file '
                'and run again')
        self.features, self.image_shapes = features, shapes

    def __len__(self) -> int:
        return len(self.dataset)

    def get_cat_ids(self, idx: int) -> List[int]:
        return self.dataset.get_cat_ids(idx)

    def get_data_info(self, idx: int) -> dict:
        """The wrapped data info with the feature map in ``img``."""
        if not self._fully_initialized:
            self.full_init()
        info = self._info(idx)
        info['img'] = torch.from_numpy(self.features[idx].astype(np.float32))
        info['img_shape'] = info['ori_shape'] = tuple(
            int(s) for s in self.image_shapes[idx])
        return info

    def __getitem__(self, idx: int) -> dict:
        return self.pipeline(self.get_data_info(idx))

    def __repr__(self) -> str:
        return (f'{type(self).__name__}({len(self)} feature maps of '
                f'{type(self.dataset).__name__}, {self.cache_file})')


def _plain(cfg):
    """A config as JSON-serialisable plain data (for the cache key)."""
    return json.loads(json.dumps(cfg, sort_keys=True, default=repr))
