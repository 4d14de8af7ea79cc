"""Cache fills written behind a select: after its result is returned, on one background thread.

A cold select hands each fetched object to :class:`BackgroundFills` instead of writing it into the
local cache itself, so the caller gets its DataFrame without waiting for the disk. A later read from
the cache waits for the pending fills first (so the next select of the same days is a hit and the
cache's least-recently-used order is the order of the reads, as if the fills had been synchronous);
``cache_stats``, ``flush`` and ``close`` of the store wait for them too.
A fill that fails is the cache's business (it never makes a read fail): it is logged and dropped.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING

from .heap import release_free_heap

if TYPE_CHECKING:
    import pyarrow as pa

    from .cache import ObjectCache

__all__ = ["BackgroundFills"]

log = logging.getLogger("tickstore")


PENDING_BYTES = 64 << 20
"""Bytes of fills that may wait for the fill thread; beyond them a fill is written by the reader that
fetched it, so a cold select of many days does not hold every day's fetched bytes until the end."""


class BackgroundFills:
    """Pending cache writes by object key, run in submission order on one thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: dict[str, Future[None]] = {}
        self._pending_bytes = 0
        self._executor: ThreadPoolExecutor | None = None

    def submit(self, key: str, fill: Callable[[], None], size: int = 0) -> None:
        """Run ``fill`` later (``key`` names it in the log if it fails), or now, in the calling thread,
        when ``size`` more bytes would make more than :data:`PENDING_BYTES` wait."""
        with self._lock:
            inline = self._pending_bytes and self._pending_bytes + size > PENDING_BYTES
            if not inline:
                if self._executor is None:
                    self._executor = ThreadPoolExecutor(1, thread_name_prefix="tickstore-cache-fill")
                future = self._executor.submit(self._run, key, fill)
                self._pending[key] = future
                self._pending_bytes += size
        if inline:
            self._run(key, fill)
            return
        future.add_done_callback(lambda done: self._forget(key, done, size))

    def put_objects(
        self,
        cache: ObjectCache,
        url: str,
        objects: Mapping[str, bytes | pa.Buffer],
        checksum: str,
        check: Callable[[], bool] | None = None,
    ) -> None:
        """Write ``objects`` (cache entry name -> bytes, all of one version) into ``cache`` later, if
        ``check`` (run on the fill thread, e.g. a checksum) passes."""
        if not objects or not cache.writable:
            return
        held = [(objects, check)]  # taken by the fill, so that the bytes are freed before the heap is released

        def write(written: Mapping[str, bytes | pa.Buffer], passes: Callable[[], bool] | None) -> None:
            try:
                if passes is None or passes():
                    for key, data in written.items():
                        cache.put_object(url, key, data, checksum=checksum)
            finally:
                cache.release_connection()  # the fill thread leaves no database connection open

        def fill() -> None:
            write(*held.pop())
            release_free_heap()  # the fetched bytes, if the reader let go of them first (heap.py)

        self.submit(next(iter(objects)), fill, sum(len(memoryview(data)) for data in objects.values()))

    def _forget(self, key: str, done: Future[None], size: int) -> None:
        with self._lock:
            self._pending_bytes -= size
            if self._pending.get(key) is done:
                del self._pending[key]

    def _run(self, key: str, fill: Callable[[], None]) -> None:
        try:
            fill()
        except Exception:  # a cache write never fails a read; the cache warns on its own failures
            log.debug("filling the cache with %s failed", key, exc_info=True)

    def wait_all(self) -> None:
        """Wait until every fill submitted so far is written."""
        with self._lock:
            futures = list(self._pending.values())
        for future in futures:
            future.result()

    def close(self) -> None:
        """Write what is pending, then stop the thread."""
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True)
        with self._lock:
            self._pending.clear()
