from .mlc_metric import MLCMetric
from .score_dump import MLCScoreDump, load_score_dump

__all__ = ['MLCMetric', 'MLCScoreDump', 'load_score_dump']
