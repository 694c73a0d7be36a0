"""A narrow allowlist so that ``torch.load(weights_only=True)`` reads
mmengine checkpoints (resume included) and nothing more.

torch >= 2.6 loads with ``weights_only=True`` by default, and an mmengine
checkpoint holds a few non-tensor objects: the message hub's
``HistoryBuffer`` (with numpy arrays and the statistics methods
``HistoryBuffer.min/max/current/mean``), the parameter schedulers' state
(``OneCycleParamScheduler._annealing_cos/_annealing_linear``) and numpy
scalars in the runtime info. Python's pickle protocol 2, which ``torch.save``
uses, writes a method of a class as ``getattr(Class, 'name')``.
Allowlisting ``builtins.getattr`` itself would let a crafted checkpoint reach
any attribute of any allowlisted object (and from there module globals), so
``builtins.getattr`` is bound instead to :func:`restricted_getattr`, which
resolves only the (class, attribute) pairs listed in ``GETATTR_ALLOWLIST``.
Nothing here sets ``weights_only=False``.
"""
import pickle

import numpy as np
import torch
from mmengine.logging import HistoryBuffer
from mmengine.optim.scheduler.param_scheduler import OneCycleParamScheduler

GETATTR_ALLOWLIST = {
    HistoryBuffer: frozenset({'min', 'max', 'current', 'mean'}),
    OneCycleParamScheduler: frozenset({'_annealing_cos', '_annealing_linear'}),
}


def restricted_getattr(obj, name: str, *default):
    """``getattr`` for unpickling: only the pairs of ``GETATTR_ALLOWLIST``."""
    allowed = GETATTR_ALLOWLIST.get(obj) if isinstance(obj, type) else None
    if default or allowed is None or name not in allowed:
        raise pickle.UnpicklingError(
            f'checkpoint refused: it asks for getattr({obj!r}, {name!r}), '
            'which is not an attribute mmengine checkpoints hold. Load only '
            'checkpoints from a source you trust.')
    return getattr(obj, name)


def _numpy_globals():
    """numpy objects that pickled arrays and scalars refer to, under both
    the numpy 2.x (``numpy._core``) and numpy 1.x (``numpy.core``) paths."""
    try:
        from numpy._core import multiarray
    except ImportError:  # numpy 1.x
        from numpy.core import multiarray
    entries = [np.ndarray, np.dtype]
    for mod in ('numpy.core.multiarray', 'numpy._core.multiarray'):
        entries.append((multiarray._reconstruct, f'{mod}._reconstruct'))
        entries.append((multiarray.scalar, f'{mod}.scalar'))
    dtypes = getattr(np, 'dtypes', None)  # numpy >= 1.25
    dtype_classes = [
        getattr(dtypes, name) for name in dir(dtypes)
        if name.endswith('DType') and isinstance(getattr(dtypes, name), type)
    ] if dtypes is not None else []
    entries.extend(dtype_classes)
    return entries


def checkpoint_safe_globals():
    """Every global that :func:`install_checkpoint_allowlist` allows."""
    return [
        HistoryBuffer,
        OneCycleParamScheduler,
        (restricted_getattr, 'builtins.getattr'),
    ] + _numpy_globals()


def install_checkpoint_allowlist() -> None:
    """Register the allowlist with ``torch.serialization.add_safe_globals``.

    Called when ``oprl_mm`` is imported; calling it again is harmless.
    """
    torch.serialization.add_safe_globals(checkpoint_safe_globals())
