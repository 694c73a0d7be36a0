from mmpretrain.registry import METRICS

from ..moved import moved_names, register_removed
from .mlc_metric import MLCMetric

__all__ = ['MLCMetric']

# a dump is mmengine's DumpResults metric's job
DUMP_INSTEAD = ("use mmengine's DumpResults metric, dict(type='DumpResults', "
                "out_file_path='preds.pkl') (tools/test.py --dump preds.pkl), "
                'and read it with mmengine.load and '
                'oprl_mm.apis.metric_scores_targets')
register_removed(METRICS, 'MLCScoreDump', DUMP_INSTEAD)
__getattr__ = moved_names(__name__, dict(
    MLCScoreDump=DUMP_INSTEAD, load_score_dump=DUMP_INSTEAD))

from .localization import AttentionLocalization  # noqa: E402
from .subset_map import ClassSubsetMAP, SmallObjectMAP  # noqa: E402

__all__ += ['AttentionLocalization', 'SmallObjectMAP', 'ClassSubsetMAP']
