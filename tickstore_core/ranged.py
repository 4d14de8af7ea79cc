"""Reading part of a ``tickstore-arrow`` object by byte ranges: its header, then only the parts a select decodes.

A cold select of one hour of a busy day, or of one column, from an object store would otherwise
fetch the whole day's object. Where the backend reads byte ranges (it overrides
:meth:`~tickstore_core.backend.Backend.get_range`) and the index entry says the select needs a small
share of a large object, :class:`RangedReads` fetches the object's header (one request of
:data:`HEAD_BYTES`, a second only for a larger header), checks it against the index entry, and
fetches the parts of the chunks and columns the select decodes, nearby parts in one request and the
requests concurrently. Every part is checked by its CRC-32 before it is decoded, as in a whole read.

The cache keeps the header and each part fetched as entries of their own (the object's key with the
part's offset and length, tied to the version's checksum), written after the select returns, so the
same select again, or offline, reads them from the cache; a whole object in the cache (from a full
read or a prefetch) is read before any of them.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor

import pyarrow as pa

from .backend import Backend
from .cache import ObjectCache
from .encoding.arrow import ArrowObject, header_end
from .encoding.direct import PendingChunk
from .errors import CorruptObjectError
from .fills import BackgroundFills
from .index import Version
from .objects import Decode, cache_identity, check_header

__all__ = ["GAP", "HEAD_BYTES", "MAX_SHARE", "MIN_OBJECT", "RangedReads", "coalesce"]

HEAD_BYTES = 1 << 16
"""The first request's length: the header of a day of a few million ticks, so one request usually has it."""
MIN_OBJECT = 1 << 21
"""Objects smaller than this are fetched whole: two requests would cost more than the bytes they save."""
MAX_SHARE = 0.5
"""A ranged read is used when the select needs at most this share of the object (estimated from the index)."""
GAP = 1 << 15
"""Parts closer than this are fetched in one request (the bytes between are read and dropped)."""
_PARALLEL = 8


def coalesce(spans: Sequence[tuple[int, int]], gap: int | None = None) -> list[tuple[int, int]]:
    """The ``(offset, length)`` requests that cover ``spans`` (sorted by offset), joining those less than
    ``gap`` (default :data:`GAP`) bytes apart."""
    gap = GAP if gap is None else gap
    merged: list[list[int]] = []
    for offset, length in spans:
        if merged and offset - (merged[-1][0] + merged[-1][1]) < gap:
            merged[-1][1] = max(merged[-1][1], offset + length - merged[-1][0])
        else:
            merged.append([offset, length])
    return [(offset, length) for offset, length in merged]


def _share(version: Version, columns: Sequence[str] | None, start_ns: int | None, end_ns: int | None) -> float:
    """The share of the object a select reads, estimated from its index entry: the time span it covers of
    the object's ticks, times the columns it reads of the object's columns."""
    share = 1.0
    low, high = version.min_time, version.max_time
    if low is not None and high is not None and high > low:
        first = low if start_ns is None else max(low, start_ns)
        last = high if end_ns is None else min(high, end_ns)
        share = max(0.0, min(1.0, (last - first + 1) / (high - low + 1)))
    if columns is not None and version.columns:
        read = len(set(columns) & set(version.columns))
        share *= (1 + read) / (1 + len(version.columns))
    return share


class RangedReads:
    """Ranged reads of one backend's ``arrow`` objects, with their own small pool of requests."""

    def __init__(self, backend: Backend, cache: ObjectCache | None, fills: BackgroundFills) -> None:
        self.backend = backend
        self.cache = cache
        self.fills = fills
        self.enabled = type(backend).get_range is not Backend.get_range
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None

    def worth(self, version: Version, columns: Sequence[str] | None, start_ns: int | None, end_ns: int | None) -> bool:
        """Whether ``version`` is better read by ranges than whole for this select."""
        return (
            self.enabled
            and version.encoding == "arrow"
            and (version.bytes or 0) >= MIN_OBJECT
            and _share(version, columns, start_ns, end_ns) <= MAX_SHARE
        )

    def tables(
        self,
        symbol: str,
        version: Version,
        timestamp_column: str,
        columns: Sequence[str] | None,
        start_ns: int | None,
        end_ns: int | None,
        decode: Decode,
        skip: int = 0,
    ) -> Iterator[pa.Table | PendingChunk]:
        """What ``decode(found, skip)`` makes of the object once the select's parts are in ``found`` (as `read`),
        after the first ``skip`` tables: all at once, or chunk by chunk (`ArrowObject.iter_read`).

        Entries of the cache that fail their check are dropped and the rest is read from the backend. A
        missing object is the caller's to report (`Engine` says whether it was pruned meanwhile).
        """
        identity, used = cache_identity(version), list[str]()
        done = skip
        try:
            for cached in (used, None):  # the cache's entries and the backend, then the backend alone
                try:
                    found, keep = self._fetched(version, identity, timestamp_column, columns, start_ns, end_ns, cached)
                    for table in decode(found, done):
                        done += 1
                        yield table
                        del table  # not held while the next one is decoded
                except CorruptObjectError:
                    if cached is None or not used or self.cache is None:
                        raise
                    for name in used:
                        self.cache.drop_object(self.backend.url, name, checksum=identity)
                else:
                    keep()
                    return
        except CorruptObjectError as exc:
            where = f"{symbol} {version.day} version {version.version} ({version.key})"
            raise CorruptObjectError(f"{where}: {exc}") from exc

    def _fetched(
        self,
        version: Version,
        identity: str,
        timestamp_column: str,
        columns: Sequence[str] | None,
        start_ns: int | None,
        end_ns: int | None,
        used: list[str] | None,
    ) -> tuple[ArrowObject, Callable[[], None]]:
        """One attempt: the object with the parts the select decodes (checked when decoded), from the cache's
        entries (naming those it reads in ``used``) or, with ``used`` None, from the backend only; and what
        keeps the fetched parts in the cache once they are decoded."""
        fetched: dict[str, pa.Buffer] = {}
        wire = from_cache = 0
        head = self._cached(version, "head", identity, used)
        if head is not None:
            first = head
            from_cache += head.size
            found = ArrowObject(head, size=version.bytes)
            check_header(found, version)
        else:
            found = self.header(version)
            first = found.buffer
            wire += first.size
            fetched[_entry(version, "head")] = first.slice(0, found.header_size)
        missing = []
        for offset, length in found.spans(timestamp_column, columns, start_ns, end_ns):
            piece = self._cached(version, f"{offset}+{length}", identity, used)
            if piece is not None and piece.size == length:
                found.pieces[offset] = piece
                from_cache += length
            elif offset + length <= first.size:  # the first request read past the header into this part
                found.pieces[offset] = fetched[_entry(version, f"{offset}+{length}")] = first.slice(offset, length)
            else:
                missing.append((offset, length))
        requests = coalesce(missing)
        for (offset, length), data in zip(requests, self._fetch(version.key, requests), strict=True):
            if len(data) != length:
                raise CorruptObjectError(f"the object is truncated: {len(data)} bytes at {offset}, expected {length}")
            wire += length
            body = pa.py_buffer(data)
            for start, size in missing:
                if offset <= start < offset + length:
                    found.pieces[start] = fetched[_entry(version, f"{start}+{size}")] = body.slice(start - offset, size)
        return found, functools.partial(self._keep, fetched, identity, wire, from_cache)

    def header(self, version: Version) -> ArrowObject:
        """The header of ``version``'s ``arrow`` object (where its parts lie), read from its first bytes;
        its buffer holds what the first request read, some parts perhaps."""
        first = pa.py_buffer(self.backend.get_range(version.key, 0, HEAD_BYTES))
        end = header_end(first.slice(0, 16).to_pybytes())
        if end > first.size:
            rest = self.backend.get_range(version.key, first.size, end - first.size)
            first = pa.py_buffer(first.to_pybytes() + rest)
        found = ArrowObject(first, size=version.bytes)
        check_header(found, version)
        return found

    def _cached(self, version: Version, what: str, identity: str, used: list[str] | None) -> pa.Buffer | None:
        if self.cache is None or used is None:
            return None
        name = _entry(version, what)
        found = self.cache.get_object(self.backend.url, name, checksum=identity, count_miss=False)
        if found is not None:
            used.append(name)
        return found

    def _fetch(self, key: str, requests: list[tuple[int, int]]) -> list[bytes]:
        if len(requests) <= 1:
            return [self.backend.get_range(key, offset, length) for offset, length in requests]
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(_PARALLEL, thread_name_prefix="tickstore-ranges")
            pool = self._pool
        return list(pool.map(lambda request: self.backend.get_range(key, *request), requests))

    def _keep(self, fetched: dict[str, pa.Buffer], identity: str, wire: int, from_cache: int) -> None:
        """Count the read in the cache's statistics and write what it fetched into the cache, after the select."""
        cache = self.cache
        if cache is None:
            return
        if fetched:
            cache.count(misses=1, bytes_fetched=wire, bytes_from_cache=from_cache)
        else:
            cache.count(hits=1, bytes_from_cache=from_cache)
        self.fills.put_objects(cache, self.backend.url, fetched, identity)

    def close(self) -> None:
        """Stop the pool of requests."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)


def _entry(version: Version, what: str) -> str:
    """The cache entry of ``what`` (``head``, or ``offset+length`` of a part) of ``version``'s object."""
    return f"{version.key}#{what}"
