"""Multi-label inference, threshold calibration and attention maps."""
from .attention import (box_attention_share, box_pointing_hits,
                        class_box_masks, head_maps, upsample_maps)
from .calibration import f1_optimal_thresholds, thresholded_metrics
from .inferencer import (MultiLabelInferencer, build_model, load_config,
                         load_thresholds, split_dataloader_cfg)

__all__ = [
    'MultiLabelInferencer', 'build_model', 'load_config', 'load_thresholds',
    'split_dataloader_cfg',
    'f1_optimal_thresholds', 'thresholded_metrics', 'head_maps',
    'upsample_maps', 'class_box_masks', 'box_attention_share',
    'box_pointing_hits'
]
