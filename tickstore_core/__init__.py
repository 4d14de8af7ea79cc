"""tickstore: a bitemporal tick store for pandas over pluggable storage backends."""

from .backend import Backend, IfMatch, ObjectMeta, PutMode
from .errors import *  # noqa: F403 - the error classes are part of the public API
from .errors import __all__ as _error_names
from .plugins import BackendSpec, hookimpl

__version__ = "0.1.0"

__all__ = [
    "Backend",
    "BackendSpec",
    "IfMatch",
    "ObjectMeta",
    "PutMode",
    "hookimpl",
    *_error_names,
]
