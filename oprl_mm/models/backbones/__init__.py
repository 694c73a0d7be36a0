"""Backbones registered in mmpretrain's MODELS registry."""
from .efficientnet_lite import EfficientNetLite
from .feature_map_input import FeatureMapInput

__all__ = ['EfficientNetLite', 'FeatureMapInput']
