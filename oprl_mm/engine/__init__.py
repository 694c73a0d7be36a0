from .hooks import (ClassCountCheckHook, CooccurrenceHook, EpochSeedHook,
                    FiniteLossHook, NonFiniteLossError, dataset_label_matrix,
                    epoch_seed)
from .loops import RawAndEMAValLoop
from .one_cycle import OneCycleLRMomentum, one_cycle_momentum
from .safe_load import install_checkpoint_allowlist

__all__ = [
    'ClassCountCheckHook', 'CooccurrenceHook', 'EpochSeedHook',
    'FiniteLossHook', 'NonFiniteLossError', 'dataset_label_matrix',
    'epoch_seed', 'install_checkpoint_allowlist', 'OneCycleLRMomentum',
    'one_cycle_momentum', 'RawAndEMAValLoop'
]
