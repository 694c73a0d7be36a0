from .class_maps import ClassMapsMixin, CSRAMapHead, LinearCAMHead
from .oprl_head import OPRLHead

__all__ = ['OPRLHead', 'ClassMapsMixin', 'CSRAMapHead', 'LinearCAMHead']
