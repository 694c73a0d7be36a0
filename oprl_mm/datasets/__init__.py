"""Multi-label datasets, registered in mmpretrain's DATASETS registry."""
from .synth import SynthMultiLabel

__all__ = ['SynthMultiLabel']
