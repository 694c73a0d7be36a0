"""Semantic-wise Association Purification Module (SAPM), paper Eq. 8-10."""
from typing import Optional

import numpy as np
import torch
import torch.nn as nn
from torch import Tensor


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

    Args:
        num_classes (int): C.
        embed_dims (int): D.
        num_layers (int): L. Defaults to 3.
        use_average_message (bool): alternate A and K (AMP). False uses A in
            every layer (the plain co-occurrence GCN of Table 6).
            Defaults to True.
        negative_slope (float): LeakyReLU slope of delta. Defaults to 0.2.
    """

    def __init__(self,
                 num_classes: int,
                 embed_dims: int,
                 num_layers: int = 3,
                 use_average_message: bool = True,
                 negative_slope: float = 0.2):
        super().__init__()
        self.num_classes = num_classes
        self.num_layers = num_layers
        self.use_average_message = use_average_message
        self.weights = nn.ModuleList(
            nn.Linear(embed_dims, embed_dims, bias=False)
            for _ in range(num_layers))
        self.act = nn.LeakyReLU(negative_slope)
        self.register_buffer('cooccurrence', torch.eye(num_classes))
        self.register_buffer('average', average_matrix(num_classes))

    def set_cooccurrence(self, matrix) -> None:
        """Copy a C x C co-occurrence matrix A into the buffer."""
        matrix = torch.as_tensor(np.asarray(matrix), dtype=torch.float32)
        if matrix.shape != (self.num_classes, self.num_classes):
            raise ValueError(
                f'the co-occurrence matrix must be {self.num_classes} x '
                f'{self.num_classes} (num_classes), got {tuple(matrix.shape)}')
        if not torch.isfinite(matrix).all():
            raise ValueError('the co-occurrence matrix holds NaN or inf')
        self.cooccurrence.copy_(matrix)

    def message_matrix(self, layer: int) -> Tensor:
        """The matrix of layer ``layer`` (0-based): A if even, K if odd."""
        if self.use_average_message and layer % 2 == 1:
            return self.average
        return self.cooccurrence

    def forward(self, x: Tensor) -> Tensor:
        """
        Args:
            x (Tensor): B x C x D label-aware representations X.

        Returns:
            Tensor: B x C x D, X + G(X).
        """
        h = x
        for i, linear in enumerate(self.weights):
            # (C x C) @ (B x C x D) broadcasts over the batch
            h = self.act(linear(torch.matmul(self.message_matrix(i), h)))
        return x + h
