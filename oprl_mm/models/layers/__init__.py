from .brrm import BidirectionalRefinement
from .group_linear import GroupWiseLinear
from .sapm import SemanticAssociationGCN, average_matrix, cooccurrence_matrix
from .spa import SpatialPurifiedAttention, spatial_quantile

__all__ = [
    'SpatialPurifiedAttention', 'spatial_quantile', 'SemanticAssociationGCN',
    'average_matrix', 'cooccurrence_matrix', 'BidirectionalRefinement',
    'GroupWiseLinear'
]
