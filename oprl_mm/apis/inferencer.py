"""Multi-label inference: every class above its threshold, best first.

mmpretrain's ``ImageClassificationInferencer`` keeps one arg-max label per
image, which is the wrong answer for a multi-label model; this inferencer
keeps all the scores and applies one threshold, or one per class.
"""
import copy
import json
import os.path as osp
import warnings
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import Compose, pseudo_collate
from mmengine.registry import init_default_scope
from mmengine.runner import load_checkpoint
from torch import nn

ImageType = Union[str, np.ndarray]
ThrType = Union[float, int, str, Sequence[float]]


def load_config(config: Union[str, Config],
                cfg_options: Optional[dict] = None) -> Config:
    """A config from a path or a ``Config``, with ``cfg_options`` merged."""
    if isinstance(config, Config):
        cfg = copy.deepcopy(config)
    elif isinstance(config, str):
        if not osp.isfile(config):
            raise FileNotFoundError(f'config file {config!r} does not exist')
        cfg = Config.fromfile(config)
    else:
        raise TypeError('model must be a config path or an mmengine Config, '
                        f'got {type(config).__name__}')
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return cfg


def build_model(cfg: Config,
                checkpoint: Optional[str] = None,
                device: Union[str, torch.device, None] = None) -> nn.Module:
    """Build ``cfg.model`` in eval mode, optionally with a checkpoint.

    ``init_weights`` is not called, so no pretrained backbone is downloaded:
    the weights are the checkpoint's (or random without one). The
    checkpoint is read by mmengine's ``load_checkpoint``, i.e.
    ``torch.load(weights_only=True)`` with oprl_mm's allowlist. The
    checkpoint's ``dataset_meta`` (class names) is kept as
    ``model.dataset_meta``.
    """
    import oprl_mm  # noqa: F401  (registers the modules, installs allowlist)
    from mmpretrain.registry import MODELS

    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    model_cfg = copy.deepcopy(cfg.model)
    # as mmengine's Runner does: a top-level data_preprocessor is the model's
    if isinstance(model_cfg, dict) and cfg.get('data_preprocessor'):
        model_cfg.setdefault('data_preprocessor',
                             copy.deepcopy(cfg.data_preprocessor))
    model = MODELS.build(model_cfg)
    model.dataset_meta = {}
    if checkpoint is not None:
        if not osp.isfile(checkpoint):
            raise FileNotFoundError(
                f'checkpoint {checkpoint!r} does not exist')
        ckpt = load_checkpoint(model, checkpoint, map_location='cpu')
        meta = ckpt.get('meta', {}) if isinstance(ckpt, dict) else {}
        model.dataset_meta = dict(meta.get('dataset_meta') or {})
    if device is None:
        device = 'cuda' if torch.cuda.is_available() else 'cpu'
    model.to(device)
    model.eval()
    return model


def model_num_classes(model: nn.Module) -> Optional[int]:
    """C from the head (or the data preprocessor), None if unknown."""
    head = getattr(model, 'head', None)
    num = getattr(head, 'num_classes', None)
    if num is None:
        num = getattr(getattr(model, 'data_preprocessor', None),
                      'num_classes', None)
    return None if num is None else int(num)


def split_dataloader_cfg(cfg: Config, split: str = 'test') -> dict:
    """The dataloader config of a split: ``cfg.<split>_dataloader``."""
    loader = cfg.get(f'{split}_dataloader')
    if loader is None:
        names = sorted(k[:-len('_dataloader')] for k in cfg.keys()
                       if k.endswith('_dataloader') and cfg[k] is not None)
        raise ValueError(f'the config has no {split}_dataloader; splits it '
                         f'defines: {names}')
    loader = copy.deepcopy(loader)
    if loader.get('num_workers', 0) == 0:
        loader['persistent_workers'] = False
    return loader


def _dataset_cfg(cfg: Config, split: str = 'test') -> dict:
    loader = cfg.get(f'{split}_dataloader') or cfg.get('val_dataloader')
    if loader is None:
        raise ValueError(
            'the config has no test_dataloader (nor val_dataloader): the '
            'inferencer takes its pipeline and classes from it')
    dataset = loader['dataset']
    # Wrappers (ConcatDataset, RepeatDataset ...) hold the real dataset.
    while 'pipeline' not in dataset and ('dataset' in dataset
                                         or 'datasets' in dataset):
        dataset = dataset.get('dataset') or dataset['datasets'][0]
    return dataset


def config_classes(cfg: Config) -> Optional[List[str]]:
    """Class names the config's test dataset declares, None if it cannot
    say without reading annotation files."""
    from mmpretrain.registry import DATASETS

    dataset = _dataset_cfg(cfg)
    classes = (dataset.get('metainfo') or {}).get('classes')
    if classes is not None:
        return list(classes)
    try:
        init_default_scope(cfg.get('default_scope', 'mmpretrain'))
        ds_cfg = copy.deepcopy(dataset)
        ds_cfg['lazy_init'] = True
        ds_cfg['pipeline'] = []
        classes = DATASETS.build(ds_cfg).metainfo.get('classes')
    except Exception:  # an absent annotation file, a custom dataset ...
        return None
    return None if classes is None else list(classes)


def load_thresholds(thr: ThrType, num_classes: int,
                    classes: Optional[Sequence[str]] = None) -> torch.Tensor:
    """The per-class thresholds, a float tensor of C values.

    Args:
        thr: one number for every class, a sequence of C numbers, or the path
            of a JSON file ``{"classes": [...], "thresholds": [...]}`` as
            written by ``tools/analysis_tools/calibrate_thresholds.py``.
        num_classes (int): C of the model.
        classes (Sequence[str], optional): the model's class names; a file
            whose names differ gives a warning.
    """
    source = 'thr'
    file_classes = None
    if isinstance(thr, str):
        if not osp.isfile(thr):
            raise FileNotFoundError(f'thresholds file {thr!r} does not exist')
        with open(thr) as f:
            try:
                content = json.load(f)
            except json.JSONDecodeError as e:
                raise ValueError(
                    f'thresholds file {thr!r} is not valid JSON: {e}') from e
        if not isinstance(content, dict) or 'thresholds' not in content:
            raise ValueError(
                f'thresholds file {thr!r} must hold {{"classes": [...], '
                '"thresholds": [...]}')
        source = f'thresholds file {thr!r}'
        file_classes = content.get('classes')
        thr = content['thresholds']
    if isinstance(thr, (int, float)):
        values = torch.full((num_classes, ), float(thr))
    else:
        values = torch.as_tensor(list(thr), dtype=torch.float32).flatten()
        if values.numel() != num_classes:
            raise ValueError(
                f'{source} holds {values.numel()} thresholds but the model '
                f'has {num_classes} classes: calibrate the thresholds with '
                'this model (tools/analysis_tools/calibrate_thresholds.py)')
    if not torch.isfinite(values).all():
        raise ValueError(f'{source} holds a threshold that is not finite')
    if file_classes is not None and len(file_classes) != num_classes:
        raise ValueError(
            f'{source} names {len(file_classes)} classes but the model has '
            f'{num_classes}')
    if file_classes is not None and classes is not None and \
            list(map(str, file_classes)) != list(map(str, classes)):
        warnings.warn(f'{source} names other classes than the model '
                      f'({list(file_classes)[:3]}... vs '
                      f'{list(classes)[:3]}...): check it belongs to this '
                      'model')
    return values


class MultiLabelInferencer:
    """Multi-label inference on images, with one or per-class thresholds.

    Examples:
        >>> from oprl_mm.apis import MultiLabelInferencer
        >>> inferencer = MultiLabelInferencer(
        ...     'configs/oprl/oprl_r18_synth.py', 'work_dirs/oprl_r18_synth/epoch_6.pth', thr=0.5)
        >>> inferencer('demo.png')[0]['pred_classes']
        ['red disc', 'blue square']

    Args:
        model (str | Config): the config file path or a ``Config``.
        pretrained (str, optional): checkpoint path. Without one the weights
            are random (useful only for tests).
        device (str | torch.device, optional): defaults to CUDA when
            available, else CPU.
        thr (float | str | Sequence[float]): one threshold for every class,
            C thresholds, or the path of a thresholds JSON file written by
            ``tools/analysis_tools/calibrate_thresholds.py``. A label is
            predicted when its score is >= its threshold. Defaults to 0.5.
        classes (Sequence[str], optional): class names; by default those of
            the checkpoint's ``dataset_meta``, else of the config's test
            dataset, else ``class_0 ... class_{C-1}``.
        cfg_options (dict, optional): overrides merged into the config.
    """

    def __init__(self,
                 model: Union[str, Config],
                 pretrained: Optional[str] = None,
                 device: Union[str, torch.device, None] = None,
                 thr: ThrType = 0.5,
                 classes: Optional[Sequence[str]] = None,
                 cfg_options: Optional[dict] = None):
        self.cfg = load_config(model, cfg_options)
        self.model = build_model(self.cfg, pretrained, device)
        self.device = next(self.model.parameters()).device
        self.num_classes = model_num_classes(self.model)
        if self.num_classes is None:
            raise ValueError('cannot tell the number of classes of the model:'
                             ' its head has no num_classes')
        if classes is None:
            classes = self.model.dataset_meta.get('classes') or \
                config_classes(self.cfg)
        if classes is None:
            classes = [f'class_{i}' for i in range(self.num_classes)]
        if len(classes) != self.num_classes:
            raise ValueError(
                f'{len(classes)} class names for a model with '
                f'{self.num_classes} classes')
        self.classes = [str(c) for c in classes]
        self.set_thresholds(thr)
        self._init_pipelines()

    # ------------------------------------------------------------ set-up
    def set_thresholds(self, thr: ThrType) -> None:
        """Replace the thresholds (a number, C numbers or a JSON file)."""
        self.thresholds = load_thresholds(thr, self.num_classes, self.classes)

    def _init_pipelines(self) -> None:
        steps = list(_dataset_cfg(self.cfg).get('pipeline', []))
        steps = [s for s in steps if s.get('type') != 'LoadImageFromFile']
        # Images given as arrays skip the loader; paths get one, whether or
        # not the dataset itself reads files (SynthMultiLabel renders them).
        self.array_pipeline = Compose(copy.deepcopy(steps))
        self.path_pipeline = Compose([dict(type='LoadImageFromFile')] +
                                     copy.deepcopy(steps))

    # --------------------------------------------------------- inference
    @staticmethod
    def _as_list(inputs) -> list:
        if isinstance(inputs, (str, np.ndarray)):
            return [inputs]
        if isinstance(inputs, (list, tuple)):
            return list(inputs)
        raise TypeError('inputs must be an image path, an H x W x 3 array or '
                        f'a list of them, got {type(inputs).__name__}')

    def prepare(self, image: ImageType) -> dict:
        """Run the test pipeline on one image path or H x W x 3 BGR array."""
        if isinstance(image, np.ndarray):
            if image.ndim != 3 or image.shape[2] != 3:
                raise ValueError('an array image must be H x W x 3 (BGR), got '
                                 f'shape {image.shape}')
            shape = image.shape[:2]
            return self.array_pipeline(
                dict(img=image, img_shape=shape, ori_shape=shape))
        if not isinstance(image, str):
            raise TypeError('an image must be a path or an H x W x 3 array, '
                            f'got {type(image).__name__}')
        if not osp.isfile(image):
            raise FileNotFoundError(f'image {image!r} does not exist')
        try:
            return self.path_pipeline(dict(img_path=image))
        except Exception as e:
            raise ValueError(f'could not read image {image!r}: {e}') from e

    @torch.no_grad()
    def predict_scores(self, inputs, batch_size: int = 1,
                       progress=None) -> torch.Tensor:
        """N x C scores (sigmoids of the head) for a list of images.

        Args:
            progress (callable, optional): called with the number of images
                of each finished batch.
        """
        images = self._as_list(inputs)
        if batch_size < 1:
            raise ValueError(f'batch_size must be >= 1, got {batch_size}')
        scores = []
        for start in range(0, len(images), batch_size):
            chunk = images[start:start + batch_size]
            data = pseudo_collate([self.prepare(img) for img in chunk])
            samples = self.model.test_step(data)
            scores.append(
                torch.stack([s.pred_score.float().cpu() for s in samples]))
            if progress is not None:
                progress(len(chunk))
        if not scores:
            return torch.zeros(0, self.num_classes)
        return torch.cat(scores)

    def postprocess(self, scores: torch.Tensor) -> List[Dict]:
        """Threshold N x C scores into per-image result dicts."""
        above = scores >= self.thresholds
        order = scores.argsort(dim=1, descending=True, stable=True)
        keep = above.gather(1, order)
        results = []
        for row, idx, kept in zip(scores.tolist(), order, keep):
            labels = idx[kept].tolist()
            results.append(
                dict(
                    pred_scores=row,
                    pred_labels=labels,
                    pred_classes=[self.classes[i] for i in labels]))
        return results

    def __call__(self, inputs, batch_size: int = 1,
                 progress=None) -> List[Dict]:
        """Classify images.

        Args:
            inputs (str | np.ndarray | list): an image path, an H x W x 3
                uint8 BGR array, or a list of them.
            batch_size (int): images per forward pass. Defaults to 1.
            progress (callable, optional): called with the number of images
                of each finished batch (e.g. a progress bar's update).

        Returns:
            list[dict]: one dict per image (also for a single image):
            ``pred_scores`` (the C scores), ``pred_labels`` and
            ``pred_classes`` (every class whose score is >= its threshold,
            best first).
        """
        return self.postprocess(
            self.predict_scores(inputs, batch_size, progress))
