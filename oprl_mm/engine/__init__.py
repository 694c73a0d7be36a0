from .hooks import (CooccurrenceHook, EpochSeedHook, FiniteLossHook,
                    NonFiniteLossError, dataset_label_matrix, epoch_seed)
from .safe_load import install_checkpoint_allowlist

__all__ = [
    'CooccurrenceHook', 'EpochSeedHook', 'FiniteLossHook',
    'NonFiniteLossError', 'dataset_label_matrix', 'epoch_seed',
    'install_checkpoint_allowlist'
]
