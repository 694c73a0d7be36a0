"""Multi-label datasets, registered in mmpretrain's DATASETS registry."""
from .coco import CocoMultiLabel
from .csv_dataset import CsvMultiLabel
from .cutout_scenes import CutoutScenes
from .feature_cache import BackboneFeatureCache
from .loading import (LoadImageFromFileOrSkip, UnreadableImageError,
                      read_image)
from .nus_wide import NUS_WIDE_CLASSES, NUSWide
from .open_images import OpenImages
from .synth import SynthMultiLabel
from .synth_entangled import SynthEntangled
from .transforms import LineageRandAugment, RandomColorCutout
from .vg500 import VG500
from .verify import verify_dataset

__all__ = [
    'BackboneFeatureCache',
    'CocoMultiLabel', 'CsvMultiLabel', 'CutoutScenes', 'LoadImageFromFileOrSkip',
    'UnreadableImageError', 'read_image', 'NUSWide', 'NUS_WIDE_CLASSES',
    'OpenImages', 'LineageRandAugment',
    'RandomColorCutout', 'SynthEntangled', 'SynthMultiLabel', 'VG500', 'verify_dataset'
]
