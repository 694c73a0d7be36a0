"""Backbones registered in mmpretrain's MODELS registry."""
from .efficientnet_lite import EfficientNetLite

__all__ = ['EfficientNetLite']
