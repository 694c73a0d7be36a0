"""Multi-label inference: every class above its threshold, best first.

``MultiLabelInferencer`` is mmpretrain's ``ImageClassificationInferencer``
with a multi-label ``postprocess``: mmpretrain's keeps one arg-max label per
image, this one keeps every class whose score reaches its threshold (one
threshold, or one per class). The model comes from
``mmpretrain.apis.get_model``; images are decoded in DataLoader workers
while the model runs, and an unreadable one can be skipped instead of
stopping the run.
"""
import copy
import json
import os
import os.path as osp
import warnings
from math import ceil
from typing import Callable, Dict, List, Optional, Sequence, Union

import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import Compose, pseudo_collate
from mmengine.registry import init_default_scope
from mmpretrain.apis import ImageClassificationInferencer, get_model
from mmpretrain.datasets import remove_transform
from mmpretrain.registry import TRANSFORMS
from mmpretrain.structures import DataSample
from torch import nn
from torch.utils.data import DataLoader, Dataset

from ..datasets.loading import (MAX_PIXELS, MISSING_REASON,
                                UnreadableImageError, read_image)
from ..engine.strict_load import load_checkpoint_strict
from ..renamed import renamed_arguments

ImageType = Union[str, np.ndarray]
ThrType = Union[float, int, str, Sequence[float]]
# loaders the inferencer replaces by its own reading of the inputs
LOADERS = ('LoadImageFromFile', 'LoadImageFromFileOrSkip')


def load_model(config: Union[str, Config],
               checkpoint: Optional[str] = None,
               device: Union[str, torch.device, None] = None,
               cfg_options: Optional[dict] = None) -> nn.Module:
    """The model of a config, in eval mode, with a checkpoint's weights.

    Built by ``mmpretrain.apis.get_model``, which does not call
    ``init_weights``: nothing (no pretrained backbone) is downloaded. The
    checkpoint is read by ``torch.load(weights_only=True)`` with oprl_mm's
    allowlist and must fit the model exactly
    (:func:`oprl_mm.engine.strict_load.load_checkpoint_strict`: a missing,
    unexpected or wrong-shaped key, SAPM's co-occurrence buffer included,
    is an error naming the keys and the likely cause); its
    ``dataset_meta`` (class names) becomes ``model.dataset_meta`` (empty
    without a checkpoint, or for a checkpoint without one).

    Args:
        config (str | Config): config file or ``Config``.
        checkpoint (str, optional): checkpoint file; random weights without.
        device (str | torch.device, optional): defaults to CUDA when
            available, else CPU.
        cfg_options (dict, optional): overrides merged into the config.
    """
    cfg = (copy.deepcopy(config)
           if isinstance(config, Config) else Config.fromfile(config))
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    model = get_model(cfg)
    model.dataset_meta = {}
    if checkpoint is not None:
        if not osp.isfile(checkpoint):
            raise FileNotFoundError(
                f'checkpoint {checkpoint!r} does not exist')
        ckpt = load_checkpoint_strict(model, checkpoint, map_location='cpu')
        meta = ckpt.get('meta', {}) if isinstance(ckpt, dict) else {}
        model.dataset_meta = dict(meta.get('dataset_meta') or {})
    if device is None:
        device = 'cuda' if torch.cuda.is_available() else 'cpu'
    return model.to(device).eval()


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


def dataset_cfg(cfg: Config, split: str = 'test') -> dict:
    """The dataset config of a split (falling back on val), unwrapped from
    dataset wrappers (ConcatDataset, RepeatDataset ...)."""
    loader = cfg.get(f'{split}_dataloader') or cfg.get('val_dataloader')
    if loader is None:
        raise ValueError(
            f'the config has no {split}_dataloader (nor val_dataloader): '
            'the inferencer takes its pipeline and classes from it')
    dataset = loader['dataset']
    while 'pipeline' not in dataset and ('dataset' in dataset
                                         or 'datasets' in dataset):
        dataset = dataset.get('dataset') or dataset['datasets'][0]
    return dataset


def config_classes(cfg: Config) -> Optional[List[str]]:
    """Class names the config's test dataset declares, None if it cannot
    say without reading annotation files."""
    from mmpretrain.registry import DATASETS

    dataset = dataset_cfg(cfg)
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
        source = f'thresholds file {thr!r}'
        file_classes, thr = _read_thresholds_file(thr)
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


def _read_thresholds_file(path: str):
    if not osp.isfile(path):
        raise FileNotFoundError(f'thresholds file {path!r} does not exist')
    with open(path) as f:
        try:
            content = json.load(f)
        except json.JSONDecodeError as e:
            raise ValueError(
                f'thresholds file {path!r} is not valid JSON: {e}') from e
    if not isinstance(content, dict) or 'thresholds' not in content:
        raise ValueError(f'thresholds file {path!r} must hold '
                         '{"classes": [...], "thresholds": [...]}')
    return content.get('classes'), content['thresholds']


class _Inputs(Dataset):
    """Reads and transforms the inputs in DataLoader workers; a file that
    cannot be read, is over ``max_pixels``, runs out of memory or fails in
    the pipeline comes back as its reason instead of an error."""

    def __init__(self, inputs: list, pipeline: Callable,
                 max_pixels: Optional[int] = MAX_PIXELS):
        self.inputs = inputs
        self.pipeline = pipeline
        self.max_pixels = max_pixels

    def __len__(self):
        return len(self.inputs)

    def __getitem__(self, idx):
        image = self.inputs[idx]
        if isinstance(image, np.ndarray):
            shape = image.shape[:2]
            return idx, self.pipeline(
                dict(img=image, img_shape=shape, ori_shape=shape)), None
        try:
            img = read_image(image, max_pixels=self.max_pixels)
            data = self.pipeline(
                dict(img=img, img_path=image, img_shape=img.shape[:2],
                     ori_shape=img.shape[:2]))
        except UnreadableImageError as e:
            return idx, None, e.reason
        except MemoryError:
            return idx, None, ('out of memory in the test pipeline (an image '
                               'too large for the memory left)')
        except Exception as e:  # one image's failure must not end the run
            return idx, None, (f'test pipeline failed ({type(e).__name__}: '
                               f'{e})')
        return idx, data, None


def _as_list(batch):
    return batch


class MultiLabelInferencer(ImageClassificationInferencer):
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
        max_pixels (int, optional): image files of more pixels are refused
            before decoding, as unreadable ones are (listed in ``failed``
            with ``skip_unreadable=True``). Defaults to ``MAX_PIXELS`` (100
            megapixels); None lifts the limit.
    """

    def __init__(self,
                 model: Union[str, Config],
                 pretrained: Optional[str] = None,
                 device: Union[str, torch.device, None] = None,
                 thr: ThrType = 0.5,
                 classes: Optional[Sequence[str]] = None,
                 cfg_options: Optional[dict] = None,
                 max_pixels: Optional[int] = MAX_PIXELS):
        self.max_pixels = max_pixels
        built = load_model(model, pretrained, device, cfg_options)
        num = getattr(getattr(built, 'head', None), 'num_classes', None)
        if num is None:
            raise ValueError('cannot tell the number of classes of the model:'
                             ' its head has no num_classes')
        self.num_classes = int(num)
        super().__init__(
            built,
            pretrained=False,
            classes=self._class_names(built, classes))
        self.device = next(self.model.parameters()).device
        self.failed: List[Dict] = []
        self.set_thresholds(thr)

    # ------------------------------------------------------------ set-up
    def _class_names(self, model, classes) -> List[str]:
        if classes is None:
            classes = model.dataset_meta.get('classes') or \
                config_classes(model._config)
        if classes is None:
            classes = [f'class_{i}' for i in range(self.num_classes)]
        if len(classes) != self.num_classes:
            raise ValueError(
                f'{len(classes)} class names for a model with '
                f'{self.num_classes} classes')
        return [str(c) for c in classes]

    def set_thresholds(self, thr: ThrType) -> None:
        """Replace the thresholds (a number, C numbers or a JSON file)."""
        self.thresholds = load_thresholds(thr, self.num_classes, self.classes)

    def _init_pipeline(self, cfg: Config) -> Callable:
        """The test pipeline without its loader: inputs are read here (path)
        or given decoded (array), whether or not the dataset reads files
        (SynthMultiLabel renders them)."""
        steps = list(dataset_cfg(cfg).get('pipeline', []))
        for loader in LOADERS:
            steps = remove_transform(steps, loader)
        return Compose([TRANSFORMS.build(s) for s in steps])

    # --------------------------------------------------------- inference
    def _inputs_to_list(self, inputs) -> list:
        images = list(inputs) if isinstance(inputs, (list, tuple)) \
            else [inputs]
        for image in images:
            if isinstance(image, np.ndarray):
                if image.ndim != 3 or image.shape[2] != 3:
                    raise ValueError('an array image must be H x W x 3 '
                                     f'(BGR), got shape {image.shape}')
            elif not isinstance(image, (str, os.PathLike)):
                raise TypeError('an image must be a path or an H x W x 3 '
                                f'array, got {type(image).__name__}')
        return [str(i) if isinstance(i, os.PathLike) else i for i in images]

    def prepare(self, image: ImageType) -> dict:
        """The test pipeline's output for one image path or H x W x 3 BGR
        array; an unreadable file raises, naming it."""
        image = self._inputs_to_list(image)[0]
        _, data, reason = _Inputs([image], self.pipeline,
                                  self.max_pixels)[0]
        if reason is not None:
            self._unreadable(image, reason, skip=False)
        return data

    def preprocess(self, inputs: list, batch_size: int = 1,
                   num_workers: int = 2):
        """Batches of ``(indices, data, failures)``: the input positions
        read and their collated pipeline outputs (None when none was), and
        ``(position, reason)`` of each unreadable input. Inputs are read
        and transformed in ``num_workers`` DataLoader workers (none when one
        batch holds them all), in order."""
        if batch_size < 1:
            raise ValueError(f'batch_size must be >= 1, got {batch_size}')
        batches = ceil(len(inputs) / batch_size)
        loader = DataLoader(
            _Inputs(inputs, self.pipeline, self.max_pixels),
            batch_size=batch_size,
            num_workers=min(num_workers, batches) if batches > 1 else 0,
            collate_fn=_as_list)
        for batch in loader:
            good = [(i, data) for i, data, reason in batch if reason is None]
            failures = [(i, reason) for i, _, reason in batch
                        if reason is not None]
            yield ([i for i, _ in good],
                   pseudo_collate([d for _, d in good]) if good else None,
                   failures)

    def labels(self, score: torch.Tensor) -> torch.Tensor:
        """The classes whose score (of the C in ``score``) is at or above
        their threshold, best first."""
        score = score.detach().float().cpu()
        order = score.argsort(descending=True, stable=True)
        return order[score[order] >= self.thresholds[order]]

    @torch.no_grad()
    def forward(self, data: dict, **kwargs) -> List[DataSample]:
        """``model.test_step``; each sample's ``pred_label`` becomes
        :meth:`labels` of its scores."""
        samples = self.model.test_step(data)
        for sample in samples:
            sample.set_pred_label(self.labels(sample.pred_score))
        return samples

    def _unreadable(self, image: str, reason: str, skip: bool) -> None:
        if not skip and reason == MISSING_REASON:
            raise FileNotFoundError(f'image {image!r} does not exist')
        if not skip:
            raise UnreadableImageError(image, reason)
        if not any(f['image'] == image for f in self.failed):
            warnings.warn(f'skipped unreadable image {image}: {reason}')
        self.failed.append(dict(image=image, reason=reason))

    @renamed_arguments(
        strict='skip_unreadable (strict=False is skip_unreadable=True)')
    def __call__(self,
                 inputs,
                 batch_size: int = 1,
                 num_workers: int = 2,
                 skip_unreadable: bool = False,
                 progress: Optional[Callable[[int], None]] = None,
                 return_datasamples: bool = False,
                 on_results: Optional[Callable[[list], None]] = None,
                 **kwargs) -> list:
        """Classify images.

        Args:
            inputs (str | np.ndarray | list): an image path, an H x W x 3
                uint8 BGR array, or a list of them.
            batch_size (int): images per forward pass. Defaults to 1.
            num_workers (int): DataLoader workers that read and transform
                the images while the model runs. Defaults to 2.
            skip_unreadable (bool): skip an unreadable image with a warning
                and list it in ``self.failed``. Defaults to False: it raises
                (naming it), as in mmpretrain's inferencer.
            progress (callable, optional): called with the number of images
                of each finished batch (e.g. a progress bar's update).
            return_datasamples (bool): return the ``DataSample`` of each
                image instead of dicts.
            on_results (callable, optional): called with the result dicts
                of each finished batch, so that a caller keeps what was
                done if a later batch fails (``tools/infer.py`` writes it).
            **kwargs: visualisation arguments of mmpretrain's
                ``ImageClassificationInferencer`` (``show_dir`` ...).

        Returns:
            list[dict]: one dict per image read, in input order (also for a
            single image): ``image`` (the path, or the position of an array
            input), ``pred_scores`` (the C scores), ``pred_labels`` and
            ``pred_classes`` (every class whose score is >= its threshold,
            best first). Images that fail (``skip_unreadable=True``:
            unreadable, over ``max_pixels``, out of memory, a pipeline
            error) are left out and listed in ``self.failed`` as
            ``{'image', 'reason'}``.
        """
        _, _, visualize_kwargs, _ = self._dispatch_kwargs(**kwargs)
        images = self._inputs_to_list(inputs)
        self.failed = []
        preds, kept, results = [], [], []
        for indices, data, failures in self.preprocess(
                images, batch_size, num_workers):
            for i, reason in failures:
                self._unreadable(images[i], reason, skip_unreadable)
            if data is not None:
                batch = self.forward(data)
                preds.extend(batch)
                kept.extend(indices)
                results.extend(self._result_dicts(images, indices, batch))
                if on_results is not None:
                    on_results(results[-len(batch):])
            if progress is not None:
                progress(len(indices) + len(failures))
        self.visualize([images[i] for i in kept], preds, **visualize_kwargs)
        return preds if return_datasamples else results

    def _result_dicts(self, images: list, indices: List[int],
                      preds: List[DataSample]) -> List[dict]:
        """The :meth:`postprocess` dicts of one batch, each with ``image``
        (the path, or the position of an array input)."""
        return [
            dict(image=images[i] if isinstance(images[i], str) else i, **r)
            for r, i in zip(self.postprocess(preds), indices)
        ]

    def postprocess(self,
                    preds: List[DataSample],
                    visualization=None,
                    return_datasamples: bool = False) -> list:
        """Every image's scores and its labels at or above their thresholds
        (mmpretrain's ``postprocess`` keeps the arg-max only)."""
        if return_datasamples:
            return preds
        results = []
        for sample in preds:
            labels = sample.pred_label.tolist()
            results.append(
                dict(
                    pred_scores=sample.pred_score.float().cpu().tolist(),
                    pred_labels=labels,
                    pred_classes=[self.classes[i] for i in labels]))
        return results
