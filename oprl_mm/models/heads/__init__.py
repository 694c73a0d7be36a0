from .oprl_head import OPRLHead

__all__ = ['OPRLHead']
