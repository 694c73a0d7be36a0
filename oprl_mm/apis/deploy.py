"""ONNX export of a multi-label classifier, checked in onnxruntime.

The exported graph takes ``input``, the B x 3 x H x W float image batch
after the data preprocessor (RGB, ImageNet-style mean/std normalised), with
a dynamic batch dimension, and gives ``scores``, the B x C sigmoid
probabilities that ``MultiLabelInferencer`` and ``MLCMetric`` read. The
preprocessing a deployer must reproduce is written into the file's
metadata (``preprocess``, ``classes``).

onnx and onnxruntime are the ``deploy`` extra: ``pip install -e ".[deploy]"``.
"""
import json
import warnings
from typing import Dict, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import nn

from oprl_mm.utils import wall_times

__all__ = [
    'ScoresModel', 'export_onnx', 'verify_onnx', 'onnx_session',
    'config_img_size', 'preprocess_info', 'latency', 'backbone_stride',
    'check_export_size'
]


class ScoresModel(nn.Module):
    """A classifier from normalised images to sigmoid scores.

    The scores are those of the head's ``predict`` (sigmoid of the
    ``mode='tensor'`` output): the tensor path without data samples, which
    tracing needs.
    """

    def __init__(self, classifier: nn.Module):
        super().__init__()
        self.classifier = classifier

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.classifier(inputs, mode='tensor').sigmoid()


def config_img_size(cfg) -> Optional[int]:
    """The side of the (square) images the test pipeline gives the model:
    a ``CenterCrop``'s ``crop_size``, else a ``Resize``'s ``scale``, else
    the config's ``img_size``; None when it cannot tell."""
    from .inferencer import dataset_cfg

    sizes = {}
    for step in dataset_cfg(cfg).get('pipeline', []):
        for key in ('crop_size', 'scale'):
            if step.get(key) is not None:
                value = step[key]
                sizes[key] = value if isinstance(value, int) else max(value)
    size = sizes.get('crop_size', sizes.get('scale', cfg.get('img_size')))
    return None if size is None else int(size)


@torch.no_grad()
def backbone_stride(model: nn.Module, probe_size: int = 224) -> Optional[int]:
    """The total stride of the backbone's last feature map, found by running
    the backbone on one ``probe_size`` x ``probe_size`` zero image; None
    when it gives no map or the probe is not a multiple of the stride."""
    param = next(model.parameters(), None)
    device = param.device if param is not None else 'cpu'
    was_training = model.training
    model.eval()
    try:
        feats = model.backbone(
            torch.zeros(1, 3, probe_size, probe_size, device=device))
    finally:
        model.train(was_training)
    feat = feats[-1] if isinstance(feats, (tuple, list)) else feats
    if not isinstance(feat, torch.Tensor) or feat.dim() != 4 \
            or probe_size % feat.shape[-1]:
        return None
    return probe_size // feat.shape[-1]


def check_export_size(model: nn.Module, img_size: int,
                      probe_size: Optional[int] = None) -> None:
    """Refuse an export size that is not a positive multiple of the
    backbone's stride: below it the feature map is empty or 1 x 1 of
    padding, and off a multiple the map silently drops the image's last
    rows and columns.

    Args:
        img_size (int): H = W asked for.
        probe_size (int, optional): a size the backbone is known to take,
            to measure its stride (the tools pass the config's test size,
            :func:`config_img_size`); defaults to 224.
    """
    if img_size < 1:
        raise ValueError(f'image size {img_size} must be a positive number '
                         'of pixels (e.g. the test pipeline\'s size)')
    probe_size = probe_size or 224
    stride = backbone_stride(model, probe_size)
    if stride is not None and (img_size < stride or img_size % stride):
        lower = max(stride, img_size // stride * stride)
        raise ValueError(
            f'image size {img_size} is not a multiple of the backbone\'s '
            f'stride {stride}: export at {lower} or {lower + stride} '
            '(a multiple of the stride, at least the stride)')


def preprocess_info(model: nn.Module, img_size: int) -> dict:
    """What a deployer does to an image before the graph: resize to
    ``img_size``, BGR -> RGB when ``to_rgb``, then ``(x - mean) / std``
    (mean and std None when the preprocessor does not normalise: it holds
    the ``mean`` and ``std`` buffers exactly when it does)."""
    pre = model.data_preprocessor
    buffers = dict(pre.named_buffers(recurse=False))
    normalise = 'mean' in buffers and 'std' in buffers
    return dict(
        img_size=img_size,
        to_rgb=bool(getattr(pre, 'to_rgb', False)),
        mean=buffers['mean'].flatten().tolist() if normalise else None,
        std=buffers['std'].flatten().tolist() if normalise else None)


def export_onnx(model: nn.Module,
                out: str,
                img_size: int,
                opset: int = 17,
                classes: Optional[Sequence[str]] = None) -> str:
    """Export ``model`` (an mmpretrain ``ImageClassifier``) to ``out``.

    TorchScript tracing (``dynamo=False``): the graph is traced at batch 2
    with the batch axis dynamic and H = W = ``img_size`` fixed. SPA's
    quantile is a ``topk`` and its ``k`` is fixed by H x W, so the exported
    mask keeps the same positions as PyTorch.

    Args:
        model (nn.Module): the classifier, on CPU, in eval mode.
        out (str): the ``.onnx`` file written.
        img_size (int): H = W of the input.
        opset (int): ONNX opset. Defaults to 17.
        classes (Sequence[str], optional): class names stored in the
            metadata with the preprocessing.

    Returns:
        str: ``out``.

    Raises:
        ValueError: ``img_size`` is not a positive multiple of the
            backbone's stride (:func:`check_export_size`).
    """
    import onnx

    check_export_size(model, img_size)
    wrapper = ScoresModel(model).eval()
    dummy = torch.randn(2, 3, img_size, img_size)
    with warnings.catch_warnings():
        # shape checks traced as constants are the intent (H, W are fixed);
        # the batch axis is checked at two sizes by verify_onnx
        warnings.simplefilter('ignore', torch.jit.TracerWarning)
        warnings.filterwarnings('ignore', 'You are using the legacy')
        torch.onnx.export(
            wrapper, (dummy, ),
            out,
            input_names=['input'],
            output_names=['scores'],
            dynamic_axes={
                'input': {0: 'batch'},
                'scores': {0: 'batch'}
            },
            opset_version=opset,
            do_constant_folding=True,
            dynamo=False)
    graph = onnx.load(out)
    info = dict(preprocess=preprocess_info(model, img_size))
    if classes is not None:
        info['classes'] = list(map(str, classes))
    for key, value in info.items():
        entry = graph.metadata_props.add()
        entry.key, entry.value = key, json.dumps(value)
    onnx.save(graph, out)
    return out


def onnx_session(path: str, threads: Optional[int] = None):
    """An onnxruntime CPU session of ``path`` (``threads`` intra-op
    threads; onnxruntime's default without)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    return ort.InferenceSession(
        path, options, providers=['CPUExecutionProvider'])


@torch.no_grad()
def verify_onnx(model: nn.Module,
                path: str,
                img_size: int,
                batch_sizes: Sequence[int] = (1, 2),
                atol: float = 1e-4,
                seed: int = 0) -> Dict[int, float]:
    """Compare the exported graph in onnxruntime with PyTorch.

    Random normal inputs (what normalised images look like) at each batch
    size go through both; every score must agree within ``atol``.

    Returns:
        dict: batch size -> largest absolute score difference.

    Raises:
        AssertionError: a score differs by more than ``atol``, or the output
            shape is not B x C.
    """
    wrapper = ScoresModel(model).eval()
    session = onnx_session(path)
    gen = torch.Generator().manual_seed(seed)
    diffs = {}
    for batch in batch_sizes:
        inputs = torch.randn(batch, 3, img_size, img_size, generator=gen)
        expected = wrapper(inputs).numpy()
        (scores, ) = session.run(['scores'], {'input': inputs.numpy()})
        if scores.shape != expected.shape:
            raise AssertionError(
                f'onnxruntime gives scores of shape {scores.shape} at batch '
                f'{batch}, PyTorch {expected.shape}')
        diffs[batch] = float(np.abs(scores - expected).max())
        if not diffs[batch] <= atol:
            raise AssertionError(
                f'onnxruntime and PyTorch scores differ by {diffs[batch]:.2e}'
                f' at batch {batch}, more than {atol:.0e}')
    return diffs


def latency(run, warmup: int = 2, runs: int = 10) -> Tuple[float, float]:
    """Median and fastest wall time in seconds of ``run()`` over ``runs``
    calls, after ``warmup`` calls (:func:`oprl_mm.utils.wall_times`)."""
    times = wall_times(run, runs, warmup)[0]
    return float(np.median(times)), float(min(times))
