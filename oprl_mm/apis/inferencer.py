"""Multi-label inference: every class above its threshold, best first.

``MultiLabelInferencer`` is mmpretrain's ``ImageClassificationInferencer``
with a multi-label ``postprocess``: mmpretrain's keeps one arg-max label per
image, this one keeps every class the head predicts, at the head's
threshold (one, or one per class). The model comes from
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


def read_config(config: Union[str, Config],
                cfg_options: Optional[dict] = None) -> Config:
    """A copy of ``config`` (or the file it names) with ``cfg_options``
    merged."""
    cfg = (copy.deepcopy(config)
           if isinstance(config, Config) else Config.fromfile(config))
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return cfg


def load_model(config: Union[str, Config],
               checkpoint: Optional[str] = None,
               device: Union[str, torch.device, None] = None,
               cfg_options: Optional[dict] = None) -> nn.Module:
    """The model of a config, in eval mode, with a checkpoint's weights.

    Built by ``mmpretrain.apis.get_model(cfg)``, which does not call
    ``init_weights``: nothing (no pretrained backbone) is downloaded. The
    checkpoint is loaded after it, not by ``get_model(cfg,
    pretrained=checkpoint)``: mmpretrain 1.2.0's ``get_model`` loads with
    mmengine's ``load_checkpoint`` at ``strict=False``, which only logs a
    missing, unexpected or wrong-shaped key and predicts with the initial
    values (random classifier rows, an identity co-occurrence matrix); a
    registered ``CheckpointLoader`` scheme changes how the file is read,
    never that check. Here the file is read by
    ``torch.load(weights_only=True)`` with oprl_mm's allowlist and must fit
    the model exactly (``load_checkpoint_strict`` of
    :mod:`oprl_mm.engine.strict_load`: such a key, SAPM's co-occurrence
    buffer included, is an error naming the keys and the likely cause).
    The checkpoint's ``dataset_meta`` (class names) becomes ``model.dataset_meta`` (empty without a
    checkpoint, or for a checkpoint without one).

    Args:
        config (str | Config): config file or ``Config``.
        checkpoint (str, optional): checkpoint file; random weights without.
        device (str | torch.device, optional): defaults to CUDA when
            available, else CPU.
        cfg_options (dict, optional): overrides merged into the config.
    """
    cfg = read_config(config, cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    model = get_model(cfg)
    model.dataset_meta = {}
    if checkpoint is not None:
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
    the pipeline comes back as its reason instead of an error. Each data
    sample carries its input's position (``sample_idx``) and path
    (``img_path``), so that a prediction names its input when others were
    skipped."""

    def __init__(self, inputs: list, pipeline: Callable,
                 max_pixels: Optional[int] = MAX_PIXELS):
        self.inputs = inputs
        self.pipeline = pipeline
        self.max_pixels = max_pixels

    def __len__(self):
        return len(self.inputs)

    def __getitem__(self, idx):
        image = self.inputs[idx]
        try:
            if isinstance(image, np.ndarray):
                data = self.pipeline(
                    dict(img=image, img_shape=image.shape[:2],
                         ori_shape=image.shape[:2]))
            else:
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
        data['data_samples'].set_metainfo(dict(sample_idx=idx))
        if not isinstance(image, np.ndarray):
            data['data_samples'].set_metainfo(dict(img_path=image))
        return idx, data, None


def _as_list(batch):
    return batch


def best_first(labels: torch.Tensor, score: torch.Tensor) -> torch.Tensor:
    """``labels`` (class indices) ordered by decreasing ``score``, ties in
    class order."""
    labels = labels.detach().long().cpu()
    score = score.detach().float().cpu()[labels]
    return labels[score.argsort(descending=True, stable=True)]


class MultiLabelInferencer(ImageClassificationInferencer):
    """Multi-label inference on images, with one or per-class thresholds.

    mmpretrain's ``ImageClassificationInferencer`` (its ``__call__``, a
    folder read as its files, batching, ``show_dir`` ...) with what
    multi-label needs: the labels are every class the head predicts (score
    >= ``model.head.thr``), best first, instead of the arg-max; an image
    that cannot be read can be skipped; images are decoded in DataLoader
    workers while the model runs.

    The threshold has one owner, the model's head (``model.head.thr``,
    0.5 in the configs): it sets each prediction's ``pred_label``, which
    this inferencer reports and ``MLCMetric`` counts. ``thr`` (or
    :meth:`set_thresholds`) sets the head's threshold; :attr:`thresholds`
    reads it.

    Examples:
        >>> from oprl_mm.apis import MultiLabelInferencer
        >>> inferencer = MultiLabelInferencer(
        ...     'configs/oprl/oprl_r18_synth.py', 'work_dirs/oprl_r18_synth/epoch_6.pth', thr=0.5)
        >>> inferencer('demo.png')[0]['pred_classes']
        ['red disc', 'blue square']

    Args:
        model (str | Config): the config file path or a ``Config``.
        pretrained (str, optional): checkpoint path (loaded strictly, see
            :func:`load_model`). Without one the weights are random (useful
            only for tests).
        device (str | torch.device, optional): defaults to CUDA when
            available, else CPU.
        thr (float | str | Sequence[float], optional): sets the head's
            threshold: one for every class, C thresholds, or the path of a
            thresholds JSON file written by
            ``tools/analysis_tools/calibrate_thresholds.py``. A label is
            predicted when its score is >= its threshold. Defaults to None:
            the config's ``model.head.thr``.
        classes (Sequence[str], optional): class names; by default those of
            the checkpoint's ``dataset_meta``, else of the config's test
            dataset, else ``class_0 ... class_{C-1}``.
        cfg_options (dict, optional): overrides merged into the config.
        max_pixels (int, optional): image files of more pixels are refused
            before decoding, as unreadable ones are (listed in ``failed``
            with ``skip_unreadable=True``). Defaults to ``MAX_PIXELS`` (100
            megapixels); None lifts the limit.

    Call arguments besides mmpretrain's (``batch_size``,
    ``return_datasamples``, ``show_dir`` ...):

    - ``num_workers`` (int): DataLoader workers that read and transform the
      images while the model runs. Defaults to 2.
    - ``skip_unreadable`` (bool): skip an unreadable image with a warning
      and list it in :attr:`failed`. Defaults to False: it raises (naming
      it), as in mmpretrain's inferencer.
    - ``progress`` (callable): called with the number of inputs of each
      finished batch, read or not.
    - ``on_results`` (callable): called with the result dicts of each
      finished batch, so that a caller keeps what was done if a later
      batch fails (``tools/infer.py`` writes it).

    A call returns one dict per image read, in input order (also for a
    single image): ``image`` (the path, or the position of an array
    input), ``pred_scores`` (the C scores), ``pred_labels`` and
    ``pred_classes`` (the head's labels, best first). Images that fail
    (``skip_unreadable=True``: unreadable, over ``max_pixels``, out of
    memory, a pipeline error) are left out and listed in :attr:`failed` as
    ``{'image', 'reason'}``.
    """

    # 'strict' only to name its replacement (renamed_arguments below)
    preprocess_kwargs = {'num_workers', 'skip_unreadable', 'strict',
                         'progress'}
    forward_kwargs = {'on_results'}

    def __init__(self,
                 model: Union[str, Config],
                 pretrained: Optional[str] = None,
                 device: Union[str, torch.device, None] = None,
                 thr: Optional[ThrType] = None,
                 classes: Optional[Sequence[str]] = None,
                 cfg_options: Optional[dict] = None,
                 max_pixels: Optional[int] = MAX_PIXELS):
        self.max_pixels = max_pixels
        cfg = read_config(model, cfg_options)
        built = load_model(cfg, pretrained, device)
        num = getattr(getattr(built, 'head', None), 'num_classes', None)
        if num is None or not hasattr(built.head, 'thr'):
            raise ValueError(
                'MultiLabelInferencer needs a multi-label head with '
                'num_classes and thr (mmpretrain\'s MultiLabelClsHead or a '
                f'subclass); the config\'s head is {type(built.head)}')
        self.num_classes = int(num)
        super().__init__(
            built,
            pretrained=False,
            classes=self._class_names(built, cfg, classes))
        self.device = next(self.model.parameters()).device
        self.failed: List[Dict] = []
        if thr is not None:
            self.set_thresholds(thr)

    # ------------------------------------------------------------ set-up
    def _class_names(self, model, cfg, classes) -> List[str]:
        if classes is None:
            classes = model.dataset_meta.get('classes') or \
                config_classes(cfg)
        if classes is None:
            classes = [f'class_{i}' for i in range(self.num_classes)]
        if len(classes) != self.num_classes:
            raise ValueError(
                f'{len(classes)} class names for a model with '
                f'{self.num_classes} classes')
        return [str(c) for c in classes]

    @property
    def thresholds(self) -> torch.Tensor:
        """The C thresholds the head predicts with (``model.head.thr``)."""
        thr = torch.as_tensor(self.model.head.thr, dtype=torch.float32)
        return thr.detach().cpu().expand(self.num_classes).clone()

    @thresholds.setter
    def thresholds(self, thr: ThrType) -> None:
        self.set_thresholds(thr)

    def set_thresholds(self, thr: ThrType) -> None:
        """Set the head's threshold: a number, C numbers or a JSON file
        (:func:`load_thresholds`)."""
        values = load_thresholds(thr, self.num_classes, self.classes)
        self.model.head.thr = float(thr) if isinstance(thr, (int, float)) \
            else values.to(self.device)

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
        """mmpretrain's (a folder path becomes its files), with paths as
        ``str`` and each input checked: a path or an H x W x 3 array."""
        if isinstance(inputs, os.PathLike):
            inputs = str(inputs)
        images = [
            str(i) if isinstance(i, os.PathLike) else i
            for i in super()._inputs_to_list(inputs)
        ]
        for image in images:
            if isinstance(image, np.ndarray):
                if image.ndim != 3 or image.shape[2] != 3:
                    raise ValueError('an array image must be H x W x 3 '
                                     f'(BGR), got shape {image.shape}')
            elif not isinstance(image, str):
                raise TypeError('an image must be a path or an H x W x 3 '
                                f'array, got {type(image).__name__}')
        return images

    def prepare(self, image: ImageType) -> dict:
        """The test pipeline's output for one image path or H x W x 3 BGR
        array; an unreadable file raises, naming it."""
        image = self._inputs_to_list(image)[0]
        _, data, reason = _Inputs([image], self.pipeline,
                                  self.max_pixels)[0]
        if reason is not None:
            self._unreadable(image if isinstance(image, str) else 0, reason,
                             skip=False)
        return data

    @renamed_arguments(
        strict='skip_unreadable (strict=False is skip_unreadable=True)')
    def preprocess(self,
                   inputs: list,
                   batch_size: int = 1,
                   num_workers: int = 2,
                   skip_unreadable: bool = False,
                   progress: Optional[Callable[[int], None]] = None):
        """Collated batches of the test pipeline's outputs of the inputs
        read, in order. Inputs are read and transformed in ``num_workers``
        DataLoader workers (none when one batch holds them all); one that
        fails raises, or with ``skip_unreadable`` is skipped and listed in
        :attr:`failed` (the one place where inputs are read)."""
        if batch_size < 1:
            raise ValueError(f'batch_size must be >= 1, got {batch_size}')
        self.failed = []
        batches = ceil(len(inputs) / batch_size)
        loader = DataLoader(
            _Inputs(inputs, self.pipeline, self.max_pixels),
            batch_size=batch_size,
            num_workers=min(num_workers, batches) if batches > 1 else 0,
            collate_fn=_as_list)
        for batch in loader:
            for i, _, reason in batch:
                if reason is not None:  # an array is named by its position
                    name = inputs[i] if isinstance(inputs[i], str) else i
                    self._unreadable(name, reason, skip_unreadable)
            good = [data for _, data, reason in batch if reason is None]
            if good:
                yield pseudo_collate(good)
            if progress is not None:
                progress(len(batch))

    def labels(self, score: torch.Tensor) -> torch.Tensor:
        """The classes whose score (of the C in ``score``) is at or above
        the head's threshold, best first."""
        score = score.detach().float().cpu()
        return best_first(torch.where(score >= self.thresholds)[0], score)

    def forward(self,
                data: dict,
                on_results: Optional[Callable[[list], None]] = None
                ) -> List[DataSample]:
        """``model.test_step`` (the head sets ``pred_label`` at its
        threshold), each ``pred_label`` ordered best first; the batch's
        result dicts go to ``on_results``."""
        samples = super().forward(data)
        for sample in samples:
            sample.set_pred_label(
                best_first(sample.pred_label, sample.pred_score))
        if on_results is not None:
            on_results(self.postprocess(samples))
        return samples

    def _unreadable(self, image: Union[str, int], reason: str,
                    skip: bool) -> None:
        if not skip and reason == MISSING_REASON:
            raise FileNotFoundError(f'image {image!r} does not exist')
        if not skip:
            raise UnreadableImageError(image, reason)
        if not any(f['image'] == image for f in self.failed):
            warnings.warn(f'skipped unreadable image {image}: {reason}')
        self.failed.append(dict(image=image, reason=reason))

    def visualize(self, ori_inputs: list, preds: List[DataSample],
                  **kwargs):
        """mmpretrain's, on the inputs that were read (one skipped has no
        prediction)."""
        read = [ori_inputs[sample.sample_idx] for sample in preds]
        return super().visualize(read, preds, **kwargs)

    def postprocess(self,
                    preds: List[DataSample],
                    visualization=None,
                    return_datasamples: bool = False) -> list:
        """Every image's scores and the head's labels, best first
        (mmpretrain's ``postprocess`` keeps the arg-max only)."""
        if return_datasamples:
            return preds
        results = []
        for sample in preds:
            labels = sample.pred_label.tolist()
            results.append(
                dict(
                    image=sample.get('img_path', sample.sample_idx),
                    pred_scores=sample.pred_score.float().cpu().tolist(),
                    pred_labels=labels,
                    pred_classes=[self.classes[i] for i in labels]))
        return results
