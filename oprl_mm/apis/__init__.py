"""Multi-label inference, threshold calibration, attention maps and ONNX
export."""
from ..moved import moved_names, refuse_moved_modules
from .attention import (box_attention_share, box_pointing_hits,
                        class_box_masks, head_maps, measure_localization,
                        upsample_maps)
from .calibration import (THRESHOLDED_METRICS, f1_optimal_thresholds,
                          metric_scores_targets, split_predictions)
from .inferencer import (MultiLabelInferencer, config_classes, dataset_cfg,
                         load_model, load_thresholds, split_dataloader_cfg)

__all__ = [
    'MultiLabelInferencer', 'load_model', 'load_thresholds',
    'split_dataloader_cfg', 'dataset_cfg', 'config_classes',
    'f1_optimal_thresholds', 'metric_scores_targets',
    'split_predictions', 'head_maps', 'upsample_maps', 'class_box_masks',
    'box_attention_share', 'box_pointing_hits', 'measure_localization'
]

__getattr__ = moved_names(__name__, dict(
    load_config='the tools\' config loader moved to tools/oprl_cli/launch.py '
    '(module oprl_cli.launch); in a script use mmengine.Config.fromfile, or '
    'pass the config path to load_model / MultiLabelInferencer',
    thresholded_metrics=THRESHOLDED_METRICS))
refuse_moved_modules({
    'oprl_mm.apis.cli':
    'the tools\' argparse helpers are tools/oprl_cli/args.py (module '
    'oprl_cli.args, importable with tools/ on sys.path); a script that only '
    'loads a model uses oprl_mm.apis.load_model or MultiLabelInferencer'
})
