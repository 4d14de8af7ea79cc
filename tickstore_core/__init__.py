"""tickstore: a bitemporal tick store for pandas over pluggable storage backends.

>>> import tickstore_core as ts
>>> store = ts.open_store("memory://readme")          # or s3://bucket/db, az://container/db, a path
>>> store.close()
"""

from ._version import __version__ as __version__
from .backend import Backend, IfMatch, ObjectMeta, PutMode
from .config import default_store_path, open_store
from .errors import *  # noqa: F403 - the error classes are part of the public API
from .errors import __all__ as _error_names
from .index import Version
from .plugins import BackendSpec, hookimpl
from .store import Tickstore
from .times import BiTimestamp

__all__ = [
    "Backend",
    "BackendSpec",
    "BiTimestamp",
    "IfMatch",
    "ObjectMeta",
    "PutMode",
    "Tickstore",
    "Version",
    "default_store_path",
    "hookimpl",
    "open_store",
    *_error_names,
]
