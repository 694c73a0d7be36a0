"""Arguments that were renamed: passing an old name is an error that names
the new one.

One name for one thing: an old name is not kept as a second spelling of the
new one, but a config or script that still uses it learns what to write
instead, rather than Python's bare "unexpected keyword argument" (or, for a
registry-built class, mmengine's message about it).
"""
import functools
from typing import Callable


def renamed_arguments(**replacements: str) -> Callable:
    """Decorate a function or ``__init__`` whose keyword arguments were
    renamed.

    Args:
        **replacements: old argument name -> what to pass instead: the new
            name, or the new name and its value where the meaning moved
            too (``"filter_cfg=dict(filter_empty_gt=...)"``).

    Returns:
        Callable: the decorator. The decorated callable raises ``TypeError``
        naming the owner, the old name and its replacement when called with
        any old name; otherwise it is called unchanged.

    Example:
        >>> class Head:
        ...     @renamed_arguments(label_dims='embed_dims')
        ...     def __init__(self, embed_dims=None):
        ...         self.embed_dims = embed_dims
        >>> Head(label_dims=8)
        Traceback (most recent call last):
        ...
        TypeError: Head: `label_dims` was renamed; pass embed_dims instead
    """

    def decorate(func: Callable) -> Callable:
        owner = func.__qualname__
        if owner.endswith('.__init__'):
            owner = owner[:-len('.__init__')]

        @functools.wraps(func)
        def checked(*args, **kwargs):
            old = [name for name in replacements if name in kwargs]
            if old:
                raise TypeError('; '.join(
                    f'{owner}: `{name}` was renamed; pass '
                    f'{replacements[name]} instead' for name in old))
            return func(*args, **kwargs)

        return checked

    return decorate
