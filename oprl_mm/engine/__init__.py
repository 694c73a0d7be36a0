from ..moved import moved_names, refuse_moved_modules
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
refuse_moved_modules({
    'oprl_mm.engine.runner_setup':
    'the tools\' config loading and process-group start are '
    'tools/oprl_cli/launch.py (module oprl_cli.launch, importable with '
    'tools/ on sys.path)'
})
