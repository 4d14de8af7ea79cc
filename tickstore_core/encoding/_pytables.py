"""PyTables on in-memory HDF5 images, shared by the HDF5 readers and writers of this package.

PyTables is not thread-safe, so every call into it holds :data:`TABLES_LOCK`; it keeps a registry of
open files by name, so every in-memory image gets a unique name.
"""

from __future__ import annotations

import threading
import uuid

__all__ = ["TABLES_LOCK", "image_name"]

TABLES_LOCK = threading.Lock()


def image_name() -> str:
    """A unique name for an in-memory file: PyTables keeps a registry of open files by name."""
    return f"tickstore-{uuid.uuid4().hex}.h5"
