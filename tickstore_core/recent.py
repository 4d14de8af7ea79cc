"""Objects this process committed lately, kept in memory so that compaction reads them back for free.

An append writes one small segment; 32 appends later (or at the end of the day) compaction reads
all of the day's segments again to merge them. Without a cache (a local store, or ``cache=False``)
that is a file opened or a request per segment: 32 GETs on S3 for every compaction. The appender
still holds what it wrote, so it keeps the newest segments here, up to a budget of bytes, each
under its key and the checksum its index entry records: an entry serves only a read of exactly
those bytes, and the reader still checks the object's header and each part's CRC-32.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import pyarrow as pa

__all__ = ["RecentWrites"]

BUDGET = 16 << 20
"""Bytes of recently written objects kept per store (the newest first; a one-row segment is about 5 KB)."""
LARGEST = 1 << 20
"""Larger objects are not kept (nor put into the cache by their writer)."""


class RecentWrites:
    """The newest objects written, by key and checksum, up to ``budget`` bytes in all (least recent out first)."""

    def __init__(self, budget: int = BUDGET) -> None:
        self.budget = budget
        self._kept: OrderedDict[str, tuple[str, pa.Buffer]] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def keep(self, key: str, payload: bytes, checksum: str) -> bool:
        """Remember ``payload``, written under ``key`` with ``checksum``, unless it is larger than `LARGEST`."""
        if len(payload) > min(LARGEST, self.budget):
            return False
        with self._lock:
            self._forget(key)
            self._kept[key] = (checksum, pa.py_buffer(payload))
            self._size += len(payload)
            while self._size > self.budget:
                self._forget(next(iter(self._kept)))
        return True

    def get(self, key: str, checksum: str | None) -> pa.Buffer | None:
        """The bytes written under ``key`` if kept and their checksum is ``checksum``, else None."""
        with self._lock:
            found = self._kept.get(key)
        return found[1] if found is not None and found[0] == checksum else None

    def clear(self) -> None:
        """Forget everything kept (the store is closed)."""
        with self._lock:
            self._kept.clear()
            self._size = 0

    def _forget(self, key: str) -> None:
        old = self._kept.pop(key, None)
        if old is not None:
            self._size -= old[1].size
