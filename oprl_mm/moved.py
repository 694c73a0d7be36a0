"""Errors for public names that moved or were removed, naming where to go.

A user's script or config that still uses an old name gets an error that
says what replaces it, instead of Python's bare ``cannot import name`` or
mmengine's ``not in the registry``.
"""
from typing import Callable, Dict


def moved_names(package: str, moved: Dict[str, str]) -> Callable:
    """A module ``__getattr__`` for ``package`` that raises ImportError for
    each name in ``moved`` (name -> what to use instead)."""

    def __getattr__(name: str):
        if name in moved:
            raise ImportError(f'{package}.{name} is gone: {moved[name]}')
        raise AttributeError(
            f'module {package!r} has no attribute {name!r}')

    return __getattr__


def register_removed(registry, name: str, replacement: str) -> None:
    """Register ``name`` in ``registry`` as a builder that refuses to build
    and names its ``replacement`` (a config still using the old type)."""

    def removed(*args, **kwargs):
        raise KeyError(f'{name!r} was removed from the {registry.name} '
                       f'registry: {replacement}')

    registry.register_module(name=name, module=removed)
