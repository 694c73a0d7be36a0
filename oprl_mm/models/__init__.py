from . import heads, layers, losses, necks  # noqa: F401
