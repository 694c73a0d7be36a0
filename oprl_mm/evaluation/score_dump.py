"""Save a split's scores and the targets ``MLCMetric`` scores them on."""
import os
import os.path as osp
from typing import Dict, List, Optional, Tuple

import torch
from mmengine.logging import MMLogger
from mmpretrain.registry import METRICS

from .mlc_metric import MLCMetric


@METRICS.register_module()
class MLCScoreDump(MLCMetric):
    """Write every image's scores and targets to a file, computing nothing.

    The targets are ``MLCMetric``'s own (its ``process``): in {1, 0, -1},
    -1 marking what every figure ignores (VOC's difficult-only labels ...).
    ``tools/test.py --dump FILE`` adds this metric next to the test
    evaluator, and ``tools/analysis_tools/calibrate_thresholds.py
    --predictions FILE`` fits thresholds on the file, so that a split is
    scored once. The file is a ``torch.save`` dict of tensors and strings
    (``scores``, ``targets``, ``classes``), read back with
    ``torch.load(weights_only=True)``: see :func:`load_score_dump`.

    Args:
        out_file (str): the file written (by the main process).
        collect_device (str): 'cpu' or 'gpu'. Defaults to 'cpu'.
    """

    def __init__(self, out_file: str, collect_device: str = 'cpu'):
        super().__init__(collect_device=collect_device, prefix='dump')
        self.out_file = out_file

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        classes = (self.dataset_meta or {}).get('classes')
        folder = osp.dirname(osp.abspath(self.out_file))
        os.makedirs(folder, exist_ok=True)
        torch.save(
            dict(
                scores=torch.stack([r['pred_score'] for r in results]),
                targets=torch.stack([r['gt_score'] for r in results]),
                classes=None if classes is None else list(map(str,
                                                              classes))),
            self.out_file)
        MMLogger.get_current_instance().info(
            f'scores and targets of {len(results)} images written to '
            f'{self.out_file}')
        return {}


def load_score_dump(
        path: str
) -> Tuple[torch.Tensor, torch.Tensor, Optional[List[str]]]:
    """N x C scores, N x C targets and class names of an
    :class:`MLCScoreDump` file."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'predictions file {path!r} does not exist')
    content = torch.load(path, map_location='cpu', weights_only=True)
    if not isinstance(content, dict) or not {'scores', 'targets'} <= set(
            content):
        raise ValueError(f'{path!r} is not a file of `tools/test.py --dump`'
                         ' (a dict with scores and targets)')
    return (content['scores'].float(), content['targets'].float(),
            content.get('classes'))
