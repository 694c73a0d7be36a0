from .mlc_metric import MLCMetric

__all__ = ['MLCMetric']
