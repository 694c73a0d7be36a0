from .mlc_metric import MLCMetric
from .score_dump import MLCScoreDump, load_score_dump

__all__ = ['MLCMetric', 'MLCScoreDump', 'load_score_dump']

from .localization import AttentionLocalization  # noqa: E402
from .subset_map import ClassSubsetMAP, SmallObjectMAP  # noqa: E402

__all__ += ['AttentionLocalization', 'SmallObjectMAP', 'ClassSubsetMAP']
