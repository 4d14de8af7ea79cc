"""tickstore: a bitemporal tick store for pandas over pluggable storage backends.

>>> import tickstore_core as ts
>>> store = ts.open_store("memory://readme")          # or s3://bucket/db, az://container/db, a path
>>> store.close()

``Tickstore``, ``Version`` and ``BiTimestamp`` are imported on first use, so that importing the
package (and starting the ``tickstore`` command) does not load pandas, numpy and pyarrow.
"""

from __future__ import annotations

import importlib
import logging
from typing import TYPE_CHECKING, Any

from ._version import __version__ as __version__
from .backend import Backend, IfMatch, ObjectMeta, PutMode
from .config import default_store_path, open_store
from .errors import *  # noqa: F403 - the error classes are part of the public API
from .errors import __all__ as _error_names
from .plugins import BackendSpec, hookimpl

if TYPE_CHECKING:
    from .index import Version
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

# A library's practice: log records reach the application's handlers, never Python's last resort, which would print
# each warning a second time (it is issued as a TickstoreWarning too); the CLI configures its own handler.
logging.getLogger("tickstore").addHandler(logging.NullHandler())

_LAZY = {"BiTimestamp": ".times", "Tickstore": ".store", "Version": ".index"}


def __getattr__(name: str) -> Any:
    """The exports that need pandas, imported when first asked for."""
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name], __name__), name)
    globals()[name] = value
    return value
