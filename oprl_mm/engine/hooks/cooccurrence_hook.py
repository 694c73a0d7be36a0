"""Hands the training labels' statistics to OPRL heads, once."""
import numpy as np
from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmpretrain.registry import HOOKS

from oprl_mm.models.heads import OPRLHead
from oprl_mm.models.layers import cooccurrence_matrix_from_pairs


def dataset_label_pairs(dataset, num_classes: int):
    """(image index, class index) of every positive label of a dataset.

    Uses the dataset's vectorised ``positive_label_pairs()`` where it has
    one (:class:`~oprl_mm.datasets.OpenImages`), else ``get_cat_ids`` image
    by image. Raises a ``ValueError`` naming the first image whose label
    index is out of range.

    Returns:
        tuple[np.ndarray, np.ndarray]: int64 image and class indices.
    """
    if hasattr(dataset, 'positive_label_pairs'):
        rows, cols = dataset.positive_label_pairs()
    else:
        rows, cols = [], []
        for idx in range(len(dataset)):
            cat_ids = dataset.get_cat_ids(idx)
            rows.extend([idx] * len(cat_ids))
            cols.extend(cat_ids)
    cols = np.asarray(cols, dtype=np.int64)
    rows = np.asarray(rows, dtype=np.int64)
    bad = (cols < 0) | (cols >= num_classes)
    if bad.any():
        idx = int(rows[bad][0])
        info = dataset.get_data_info(idx) if hasattr(
            dataset, 'get_data_info') else {}
        raise ValueError(
            f'training image {info.get("img_path", idx)!r} has label index '
            f'{int(cols[bad][0])}, out of range for {num_classes} classes')
    return rows, cols


@HOOKS.register_module()
class CooccurrenceHook(Hook):
    """Compute SAPM's co-occurrence matrix A from the training split.

    Before the first training iteration this hook gathers the (image,
    class) pairs of the training set's positive labels and sets ``A[i, j] = P(j | i)``
    (:func:`~oprl_mm.models.layers.cooccurrence_matrix`) on the model's
    :class:`~oprl_mm.models.heads.OPRLHead`, unless the head reads A from
    ``cooccurrence_file`` or has SAPM switched off. The EMA copy receives it
    through ``EMAHook`` itself: the first EMA update copies every parameter
    and buffer of the model. (:class:`ClassCountCheckHook`, which runs
    first, checks the class count.)

    A is a buffer, so checkpoints carry it and testing needs no data
    statistics. On resume the matrix is recomputed from the same labels,
    which gives the same matrix.

    Args:
        save_file (str, optional): also write A to this ``.npy`` path (main
            process only), e.g. to reuse it through ``cooccurrence_file``.
    """

    priority = 'HIGH'

    def __init__(self, save_file=None):
        self.save_file = save_file

    def before_train(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        head = getattr(model, 'head', None)
        if not isinstance(head, OPRLHead):
            runner.logger.warning(
                'CooccurrenceHook: the model head is '
                f'{type(head).__name__}, not OPRLHead; nothing to do')
            return
        if not head.needs_cooccurrence:
            return
        # from (image, class) pairs: no N x C matrix (Open Images: 9 M x
        # 9,605), one C x C count matrix
        dataset = runner.train_dataloader.dataset
        rows, cols = dataset_label_pairs(dataset, head.num_classes)
        matrix = cooccurrence_matrix_from_pairs(rows, cols, head.num_classes)
        head.set_cooccurrence(matrix)
        never = int(
            (np.bincount(cols, minlength=head.num_classes) == 0).sum())
        runner.logger.info(
            f'CooccurrenceHook: A computed from {len(dataset)} training '
            f'images, {head.num_classes} classes'
            + (f' ({never} never occur)' if never else ''))
        if self.save_file and is_main_process():
            np.save(self.save_file, matrix.numpy())
