"""Semantic-wise Association Purification Module (SAPM), paper Eq. 8-10."""
from typing import Optional, Tuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from ...renamed import renamed_arguments


def average_matrix(num_classes: int) -> Tensor:
    """The average matrix K of Average Message Passing (paper Eq. 9).

    1 on the diagonal and k = 1 / (C - 1) everywhere else, so every node
    receives a weak, uniform message from all the others.

    Args:
        num_classes (int): C.

    Returns:
        Tensor: C x C float32 matrix.
    """
    if num_classes < 1:
        raise ValueError(f'num_classes must be >= 1, got {num_classes}')
    if num_classes == 1:
        return torch.ones(1, 1)
    k = torch.full((num_classes, num_classes), 1.0 / (num_classes - 1))
    k.fill_diagonal_(1.0)
    return k


def cooccurrence_matrix(labels, num_classes: Optional[int] = None) -> Tensor:
    """The conditional co-occurrence matrix A of Sec. 3 (used in Eq. 8, 10).

    ``A[i, j] = P(label j | label i) = M[i, j] / N[i]`` where M counts the
    images holding both i and j and N[i] the images holding i. The diagonal
    is 1. A class that never occurs gets a zero row with 1 on the diagonal.

    Args:
        labels: N x C binary (0/1) label matrix (numpy array or tensor).
        num_classes (int, optional): checked against the matrix width.

    Returns:
        Tensor: C x C float32 matrix.
    """
    y = torch.as_tensor(np.asarray(labels), dtype=torch.float64)
    if y.dim() != 2:
        raise ValueError(f'labels must be N x C, got shape {tuple(y.shape)}')
    if num_classes is not None and y.size(1) != num_classes:
        raise ValueError(f'labels have {y.size(1)} classes, expected '
                         f'{num_classes}')
    y = (y > 0).double()
    pair_counts = y.t() @ y  # M, C x C; its diagonal is N
    class_counts = pair_counts.diagonal().clone()
    a = pair_counts / class_counts.clamp(min=1).unsqueeze(1)
    a.fill_diagonal_(1.0)
    return a.float()


def average_message(x: Tensor) -> Tensor:
    """K X of Average Message Passing (Eq. 9) in O(C D), without K.

    Row c of K X is ``X_c + (sum_j X_j - X_c) / (C - 1)``: the node itself
    plus the mean of the other C - 1 nodes. Equal to
    ``average_matrix(C) @ x`` up to rounding, in C D instead of C^2 D
    multiply-adds and with no C x C matrix.

    Args:
        x (Tensor): ... x C x D node features.

    Returns:
        Tensor: ... x C x D.
    """
    num_classes = x.size(-2)
    if num_classes == 1:
        return x
    return x + (x.sum(-2, keepdim=True) - x) / (num_classes - 1)


def cooccurrence_neighbours(matrix,
                            per_class: int) -> Tuple[Tensor, Tensor]:
    """The ``per_class`` strongest off-diagonal entries of every row of A.

    Row i of A (``A[i, j] = P(j | i)``) keeps its ``per_class`` largest
    values ``j != i``; the diagonal (1 by definition) is implicit. With
    ``per_class = C - 1`` nothing is dropped and the pair describes A
    exactly. Computed for all rows at once (``topk`` over a C x C tensor).

    Args:
        matrix: C x C co-occurrence matrix A (numpy array or tensor).
        per_class (int): neighbours kept per class, 1 to C - 1.

    Returns:
        tuple[Tensor, Tensor]: C x per_class neighbour indices (int64) and
        C x per_class weights A[i, index] (float32), strongest first.
    """
    a = torch.as_tensor(np.asarray(matrix), dtype=torch.float32)
    num_classes = a.size(0)
    if not 1 <= per_class <= num_classes - 1:
        raise ValueError(f'cooccurrences_per_class must be in [1, C - 1 = '
                         f'{num_classes - 1}], got {per_class}')
    off = a.clone()
    off.fill_diagonal_(float('-inf'))
    weight, index = off.topk(per_class, dim=1)
    return index, weight


def cooccurrence_matrix_from_pairs(image_index,
                                   class_index,
                                   num_classes: int) -> Tensor:
    """A (Sec. 3) from (image, class) positive pairs, without an N x C matrix.

    Same matrix as :func:`cooccurrence_matrix` (bit for bit: the pair counts
    are exact integers in float64 either way), but the labels are given as
    two flat index arrays, so memory grows with the number of positive
    labels plus C^2 (one dense float64 C x C count matrix, 738 MB at
    C = 9,605), not with N x C. Repeated pairs count once. The images are
    only grouped by index, so ``num_images`` is not needed.

    Args:
        image_index: P image indices (numpy array or tensor).
        class_index: P class indices, same length.
        num_classes (int): C.

    Returns:
        Tensor: C x C float32 matrix.
    """
    rows = torch.as_tensor(np.asarray(image_index), dtype=torch.int64)
    cols = torch.as_tensor(np.asarray(class_index), dtype=torch.int64)
    if rows.shape != cols.shape or rows.dim() != 1:
        raise ValueError('image_index and class_index must be flat arrays '
                         f'of one length, got {tuple(rows.shape)} and '
                         f'{tuple(cols.shape)}')
    if cols.numel() and (cols.min() < 0 or cols.max() >= num_classes):
        raise ValueError(f'class index out of range [0, {num_classes - 1}]')
    keys = torch.unique(rows * num_classes + cols)  # sorted by image
    counts = _pair_counts(keys // num_classes, keys % num_classes,
                          num_classes)  # M, C x C; its diagonal is N
    class_counts = counts.diagonal().clone()
    counts.div_(class_counts.clamp(min=1).unsqueeze(1))
    counts.fill_diagonal_(1.0)
    return counts.float()


def _pair_counts(rows: Tensor, cols: Tensor, num_classes: int,
                 chunk_pairs: int = 1 << 24) -> Tensor:
    """M = Y^T Y from sorted unique (image, class) pairs, float64 C x C.

    Every image with n labels gives its n^2 (class, class) pairs, generated
    with index arithmetic (no loop over images) for chunks of images of
    about ``chunk_pairs`` pairs and added into one flat C^2 count vector.
    """
    counts = torch.zeros(num_classes * num_classes, dtype=torch.float64)
    if rows.numel() == 0:
        return counts.view(num_classes, num_classes)
    _, per_image = torch.unique_consecutive(rows, return_counts=True)
    image_start = torch.cumsum(per_image, 0) - per_image
    # for every label: the label count n and the first label of its image
    n = torch.repeat_interleave(per_image, per_image)
    first = torch.repeat_interleave(image_start, per_image)
    # chunk boundaries on whole images, by cumulative n^2
    cum = torch.cumsum(per_image * per_image, 0)
    bounds = torch.searchsorted(
        cum, torch.arange(0, int(cum[-1]), chunk_pairs)[1:])
    label_bounds = [0] + torch.cumsum(per_image, 0)[bounds].tolist() + [
        rows.numel()]
    for lo, hi in zip(label_bounds[:-1], label_bounds[1:]):
        if hi <= lo:
            continue
        left = torch.repeat_interleave(torch.arange(lo, hi), n[lo:hi])
        # the k-th partner of a label is label first + k of its image
        step = torch.arange(left.numel()) - torch.repeat_interleave(
            torch.cumsum(n[lo:hi], 0) - n[lo:hi], n[lo:hi])
        right = first[left] + step
        counts.index_add_(
            0, cols[left] * num_classes + cols[right],
            torch.ones(left.numel(), dtype=torch.float64))
    return counts.view(num_classes, num_classes)


class SemanticAssociationGCN(nn.Module):
    """GCN over label-aware representations, alternating A and K messages.

    ``X_hat = X + G(X)`` (Eq. 8) where G stacks ``num_layers`` layers
    (Eq. 10)::

        X_{i+1} = delta(A X_i W_i)   if i is even   (co-occurrence message)
        X_{i+1} = delta(K X_i W_i)   if i is odd    (average message, AMP)

    with delta = LeakyReLU(0.2) and W_i a D -> D linear map without bias
    (Eq. 10 is delta(A X W): a bias would add the same vector to every class
    after the message, which the equation does not have). A is held in the
    buffer ``cooccurrence`` (set from the training labels by
    :class:`~oprl_mm.engine.CooccurrenceHook` or from a file) and K in the
    buffer ``average`` (Eq. 9), so a checkpoint alone reproduces the model.

    **Linear cost in C** (``cooccurrences_per_class=k``, off by default).
    The dense messages cost C^2 D multiply-adds a layer and two C x C buffers
    (369 MB each at C = 9,605). With ``k`` set:

    - the A message keeps the k strongest neighbours n_c1 ... n_ck of each
      class (:func:`cooccurrence_neighbours`) and the diagonal:
      ``(A_k X)_c = A[c, c] X_c + sum_j A[c, n_cj] X_{n_cj}``, C k D
      multiply-adds,
      computed as one weighted ``embedding_bag`` over all classes. A class's
      weaker co-occurrences (those below its k-th) are dropped; with
      k = C - 1 nothing is dropped and the message equals A X.
    - the K message is computed in its mean form
      (:func:`average_message`), C D additions, equal to K X.
    - the buffers are ``neighbour_index``, ``neighbour_weight`` (C x k
      each) and ``self_weight`` (C, the diagonal of A, 1 for a matrix from
      :func:`cooccurrence_matrix`) instead of ``cooccurrence`` and
      ``average``, so the checkpoint still carries A (its top-k form).

    Args:
        num_classes (int): C.
        embed_dims (int): D.
        num_layers (int): L. Defaults to 3.
        use_average_message (bool): alternate A and K (AMP). False uses A in
            every layer (the plain co-occurrence GCN of Table 6).
            Defaults to True.
        negative_slope (float): LeakyReLU slope of delta. Defaults to 0.2.
        cooccurrences_per_class (int, optional): k, neighbours kept per
            class in the sparse A message (1 to C - 1). Defaults to None:
            the dense C x C messages of the paper.
    """

    @renamed_arguments(cooccurrence_topk='cooccurrences_per_class')
    def __init__(self,
                 num_classes: int,
                 embed_dims: int,
                 num_layers: int = 3,
                 use_average_message: bool = True,
                 negative_slope: float = 0.2,
                 cooccurrences_per_class: Optional[int] = None):
        super().__init__()
        self.num_classes = num_classes
        self.use_average_message = use_average_message
        self.cooccurrences_per_class = cooccurrences_per_class
        self.weights = nn.ModuleList(
            nn.Linear(embed_dims, embed_dims, bias=False)
            for _ in range(num_layers))
        self.act = nn.LeakyReLU(negative_slope)
        if cooccurrences_per_class is None:
            self.register_buffer('cooccurrence', torch.eye(num_classes))
            self.register_buffer('average', average_matrix(num_classes))
            return
        if not 1 <= cooccurrences_per_class <= num_classes - 1:
            raise ValueError(
                'cooccurrences_per_class must be in [1, C - 1 = '
                f'{num_classes - 1}], got {cooccurrences_per_class}')
        # A = I until set: any neighbours, all with weight 0
        classes = torch.arange(num_classes).unsqueeze(1)
        offsets = torch.arange(1, cooccurrences_per_class + 1)
        self.register_buffer('neighbour_index',
                             (classes + offsets) % num_classes)
        self.register_buffer('neighbour_weight',
                             torch.zeros(num_classes, cooccurrences_per_class))
        self.register_buffer('self_weight', torch.ones(num_classes))

    @property
    def is_sparse(self) -> bool:
        """Whether the messages are the linear-cost (top-k, mean) forms."""
        return self.cooccurrences_per_class is not None

    def set_cooccurrence(self, matrix) -> None:
        """Set A from a C x C matrix (its top-k form when sparse)."""
        matrix = torch.as_tensor(np.asarray(matrix), dtype=torch.float32)
        if matrix.shape != (self.num_classes, self.num_classes):
            raise ValueError(
                f'the co-occurrence matrix must be {self.num_classes} x '
                f'{self.num_classes} (num_classes), got {tuple(matrix.shape)}')
        if not torch.isfinite(matrix).all():
            raise ValueError('the co-occurrence matrix holds NaN or inf')
        if not self.is_sparse:
            self.cooccurrence.copy_(matrix)
            return
        index, weight = cooccurrence_neighbours(matrix,
                                                self.cooccurrences_per_class)
        self.neighbour_index.copy_(index)
        self.neighbour_weight.copy_(weight)
        self.self_weight.copy_(matrix.diagonal())

    def sparse_cooccurrence(self) -> Tensor:
        """The C x C matrix the neighbour buffers stand for (inspection and
        tests only: C^2 memory)."""
        a = torch.diag(self.self_weight)
        return a.scatter_add(1, self.neighbour_index, self.neighbour_weight)

    def message_matrix(self, layer: int) -> Tensor:
        """The matrix of layer ``layer`` (0-based): A if even, K if odd.

        In the sparse form this builds the C x C equivalent (top-k A or K),
        for inspection only; ``forward`` never does.
        """
        if self.use_average_message and layer % 2 == 1:
            return average_matrix(self.num_classes).to(
                self.neighbour_weight) if self.is_sparse else self.average
        return self.sparse_cooccurrence() if self.is_sparse \
            else self.cooccurrence

    def message(self, layer: int, h: Tensor) -> Tensor:
        """The message M_i X_i of layer ``layer`` (Eq. 10), B x C x D."""
        if not self.is_sparse:
            # (C x C) @ (B x C x D) broadcasts over the batch
            return torch.matmul(self.message_matrix(layer), h)
        if self.use_average_message and layer % 2 == 1:
            return average_message(h)
        b, c, d = h.shape
        # one table row per class holding its B x D features
        table = h.transpose(0, 1).reshape(c, b * d)
        neighbours = F.embedding_bag(
            self.neighbour_index,
            table,
            per_sample_weights=self.neighbour_weight.to(table.dtype),
            mode='sum')
        return self.self_weight.to(h.dtype).unsqueeze(-1) * h + \
            neighbours.reshape(c, b, d).transpose(0, 1)

    def forward(self, x: Tensor) -> Tensor:
        """
        Args:
            x (Tensor): B x C x D label-aware representations X.

        Returns:
            Tensor: B x C x D, X + G(X).
        """
        h = x
        for i, linear in enumerate(self.weights):
            h = self.act(linear(self.message(i, h)))
        return x + h
