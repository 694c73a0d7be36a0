from .brrm import BidirectionalRefinement
from .group_linear import GroupWiseLinear
from .sapm import (SemanticAssociationGCN, average_matrix, average_message,
                   cooccurrence_matrix, cooccurrence_matrix_from_pairs,
                   cooccurrence_neighbours)
from .spa import SpatialPurifiedAttention, spatial_quantile

__all__ = [
    'SpatialPurifiedAttention', 'spatial_quantile', 'SemanticAssociationGCN',
    'average_matrix', 'average_message', 'cooccurrence_matrix',
    'cooccurrence_matrix_from_pairs', 'cooccurrence_neighbours',
    'BidirectionalRefinement',
    'GroupWiseLinear'
]
