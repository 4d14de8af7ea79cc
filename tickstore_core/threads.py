"""Thread pools shared by every store of the process, started on first use.

A forked child has none of its parent's threads, so it starts its own pools again.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

__all__ = ["SharedPool"]


class SharedPool:
    """A `ThreadPoolExecutor` of one thread per core, created by the first `get` (again after a fork)."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        os.register_at_fork(after_in_child=self._forget)

    def get(self) -> ThreadPoolExecutor:
        """The pool, started now if it is not yet."""
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(os.cpu_count() or 1, thread_name_prefix=f"tickstore-{self._name}")
            return self._pool

    def _forget(self) -> None:
        self._pool, self._lock = None, threading.Lock()
