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
import time
import warnings
from typing import Dict, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import nn

__all__ = [
    'ScoresModel', 'export_onnx', 'verify_onnx', 'onnx_session',
    'config_img_size', 'preprocess_info', 'latency'
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


def preprocess_info(model: nn.Module, img_size: int) -> dict:
    """What a deployer does to an image before the graph: resize to
    ``img_size``, BGR -> RGB when ``to_rgb``, then ``(x - mean) / std``."""
    pre = model.data_preprocessor
    normalise = getattr(pre, '_enable_normalize', False)
    return dict(
        img_size=img_size,
        to_rgb=bool(getattr(pre, 'to_rgb', False)),
        mean=pre.mean.flatten().tolist() if normalise else None,
        std=pre.std.flatten().tolist() if normalise else None)


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
    """
    import onnx

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
    calls, after ``warmup`` calls."""
    for _ in range(warmup):
        run()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return float(np.median(times)), float(min(times))
