"""Multi-label datasets, registered in mmpretrain's DATASETS registry."""
from ..moved import moved_names, refuse_moved_modules
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

__all__ = [
    'BackboneFeatureCache',
    'CocoMultiLabel', 'CsvMultiLabel', 'CutoutScenes', 'LoadImageFromFileOrSkip',
    'UnreadableImageError', 'read_image', 'NUSWide', 'NUS_WIDE_CLASSES',
    'OpenImages', 'LineageRandAugment',
    'RandomColorCutout', 'SynthEntangled', 'SynthMultiLabel', 'VG500'
]

__getattr__ = moved_names(__name__, dict(
    verify_dataset='moved with the dataset checker to '
    'tools/oprl_cli/dataset_check.py (module oprl_cli.dataset_check); run it '
    'as tools/misc/verify_dataset.py CONFIG'))
refuse_moved_modules({
    'oprl_mm.datasets.verify':
    'the dataset checker is tools/oprl_cli/dataset_check.py (module '
    'oprl_cli.dataset_check, importable with tools/ on sys.path); its '
    'command line is tools/misc/verify_dataset.py CONFIG'
})
