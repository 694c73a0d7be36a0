from .cooccurrence_hook import CooccurrenceHook, dataset_label_matrix

__all__ = ['CooccurrenceHook', 'dataset_label_matrix']
