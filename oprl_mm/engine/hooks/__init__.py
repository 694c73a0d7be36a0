from ...moved import moved_names
from .atomic_checkpoint_hook import AtomicCheckpointHook, atomic_write
from .batch_size_check_hook import (BatchSizeCheckHook,
                                    ema_momentum_for_accumulation)
from .class_count_check_hook import ClassCountCheckHook, check_class_count
from .cooccurrence_hook import CooccurrenceHook, dataset_label_pairs
from .epoch_seed_hook import EpochSeedHook, epoch_seed
from .finite_loss_hook import FiniteLossHook, NonFiniteLossError
from .load_report_hook import LoadReportHook
from .preemption_hook import EX_TEMPFAIL, Preempted, PreemptionHook
from .unreadable_image_hook import UnreadableImageHook

__all__ = [
    'BatchSizeCheckHook', 'ema_momentum_for_accumulation',
    'ClassCountCheckHook', 'check_class_count',
    'CooccurrenceHook', 'dataset_label_pairs', 'EpochSeedHook', 'epoch_seed',
    'FiniteLossHook', 'NonFiniteLossError', 'UnreadableImageHook',
    'LoadReportHook', 'AtomicCheckpointHook', 'atomic_write', 'EX_TEMPFAIL',
    'Preempted', 'PreemptionHook'
]

__getattr__ = moved_names(__name__, dict(
    dataset_label_matrix='use dataset_label_pairs (the (image, class) '
    'indices of the positive labels) and fill a matrix from them'))
