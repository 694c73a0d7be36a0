from .hooks import *  # noqa: F401,F403
from .safe_load import install_checkpoint_allowlist

__all__ = ['install_checkpoint_allowlist']
