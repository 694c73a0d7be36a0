"""oprl-mm: OPRL (MM '25) for multi-label image classification on mmpretrain.

Importing the package registers every OPRL module, dataset, metric and hook in
mmpretrain's registries, and installs the narrow ``torch.load(weights_only=True)``
allowlist that mmengine checkpoints need (see :mod:`oprl_mm.engine.safe_load`).
"""
import importlib.util

from .version import __version__

if importlib.util.find_spec('mmcv') is None:
    raise ImportError(
        'oprl_mm needs mmcv, and neither mmcv-lite nor mmcv is installed. '
        'On a fresh machine run `pip install -e ".[lite]"` from the oprl-mm '
        'checkout (pure-Python mmcv-lite is enough); if you want the '
        'compiled mmcv instead, run `mim install "mmcv>=2.0.0,<2.4.0"`.')

from .engine.safe_load import install_checkpoint_allowlist  # noqa: E402

install_checkpoint_allowlist()

from . import datasets, engine, evaluation, models  # noqa: E402,F401

__all__ = ['__version__', 'install_checkpoint_allowlist']
