"""Errors for public names that moved or were removed, naming where to go.

A user's script or config that still uses an old name gets an error that
says what replaces it, instead of Python's bare ``cannot import name`` or
mmengine's ``not in the registry``.
"""
import importlib.abc
import sys
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


class _MovedModules(importlib.abc.MetaPathFinder):
    """Refuses to import the modules that moved, naming their new place."""

    def __init__(self, moved: Dict[str, str]):
        self.moved = moved

    def find_spec(self, fullname, path=None, target=None):
        if fullname in self.moved:
            raise ImportError(f'{fullname} moved: {self.moved[fullname]}',
                              name=fullname)
        return None


def refuse_moved_modules(moved: Dict[str, str]) -> None:
    """Make ``import OLD`` fail with an ImportError that says where each
    module of ``moved`` (old dotted name -> where it went) lives now."""
    sys.meta_path.insert(0, _MovedModules(moved))
