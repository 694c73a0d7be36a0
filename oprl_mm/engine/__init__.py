from ..moved import moved_names
from .hooks import (ClassCountCheckHook, CooccurrenceHook, EpochSeedHook,
                    FiniteLossHook, NonFiniteLossError, dataset_label_pairs,
                    epoch_seed)
from .loops import RawAndEMAValLoop
from .one_cycle import OneCycleLRMomentum, one_cycle_momentum
from .safe_load import install_checkpoint_allowlist

__all__ = [
    'ClassCountCheckHook', 'CooccurrenceHook', 'EpochSeedHook',
    'FiniteLossHook', 'NonFiniteLossError', 'dataset_label_pairs',
    'epoch_seed', 'install_checkpoint_allowlist', 'OneCycleLRMomentum',
    'one_cycle_momentum', 'RawAndEMAValLoop'
]

__getattr__ = moved_names(__name__, dict(
    dataset_label_matrix='use oprl_mm.engine.hooks.dataset_label_pairs (the '
    '(image, class) indices of the positive labels) and fill a matrix from '
    'them'))
