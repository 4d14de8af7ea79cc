"""The local read-through disk cache, shared by every store on the machine.

Data objects are immutable, so a cached copy never goes stale: it is keyed by the backend's URL, the
object key and the checksum the index records for that version (a store destroyed and recreated at
the same place reuses keys, never checksums of other content). Objects in the ``tickstore-arrow``
format (tickstore 0.2) are kept as fetched, byte for byte, and memory-mapped on a hit: the format
checks each part it reads by CRC-32. Objects of tickstore 0.1 (Parquet) are kept decoded (an LZ4
Arrow IPC file, quick to read back) with a CRC-32 checked on every read. A damaged entry is dropped
and fetched again. Small mutable objects (indexes, the manifest) are cached with their ETag, revalidated
against the backend on use, and served from the cache when the backend cannot be reached (offline
mode). Entries are plain bytes (never pickles), evicted least recently used first once the cache
exceeds its size limit. The cache never makes a read fail: when it cannot be used it says why once
(:class:`~tickstore_core.errors.CacheWarning`) and steps aside.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import json
import logging
import os
import re
import sqlite3
import threading
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, TypeVar

import diskcache
import pyarrow as pa
import pyarrow.ipc

from .errors import CacheWarning, ConfigError
from .integrity import checksum, crc32, matches
from .mapped import map_file

__all__ = [
    "DEFAULT_CACHE_SIZE",
    "CacheStats",
    "ObjectCache",
    "parse_size",
]

log = logging.getLogger("tickstore")

DEFAULT_CACHE_SIZE = 4 * 1024**3
_UNITS = {"": 1, "b": 1}
for _power, _prefix in enumerate("kmgt", start=1):
    _UNITS.update({_prefix: 1000**_power, f"{_prefix}b": 1000**_power, f"{_prefix}ib": 1024**_power})


_F = TypeVar("_F", bound=Callable[..., Any])

# What a cache that cannot be used raises: the file system (full, read-only, a file where the
# directory should be), SQLite (its own view of the same, or a damaged database) and bad bytes.
_FAILURES = (OSError, sqlite3.Error, UnicodeDecodeError, diskcache.Timeout)


class _TurnedOff(Exception):
    """The cache was turned off (after a failure) while a call was under way."""


def _tolerant(*, writes: bool, default: Any = None, pins: bool = False) -> Callable[[_F], _F]:
    """Never let the cache fail a read: on a failure, warn once and go on without it.

    A failed write (a full disk, say) stops writing but keeps serving what is cached; any other
    failure turns the cache off for this instance. A failure of the pinned entries (``pins``: a
    damaged ``pinned/cache.db``) turns off only the pins. Either way the method returns ``default``.
    """

    def wrap(method: _F) -> _F:
        @functools.wraps(method)
        def guarded(self: ObjectCache, *args: Any, **kwargs: Any) -> Any:
            if self._cache is None or (pins and self._pins_off) or (writes and not self._writable):
                return default
            try:
                return method(self, *args, **kwargs)
            except _TurnedOff:
                return default
            except _FAILURES as exc:
                if pins:
                    self._give_up_pins(exc)
                else:
                    self._give_up(exc, writes_only=writes)
                return default

        return guarded  # type: ignore[return-value]

    return wrap


def _why(exc: BaseException) -> str:
    """What a cache failure means, in words, with what to do."""
    text = str(exc).lower()
    full = "free some space, or "
    if isinstance(exc, OSError):
        if exc.errno == errno.ENOSPC:
            return f"the disk is full; {full}"
        if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
            return "the directory is read-only or not writable; "
        if exc.errno in (errno.ENOTDIR, errno.EEXIST):
            return "the cache path is a file, or lies under one, not a directory; "
        return "the file system refused; "
    if isinstance(exc, sqlite3.OperationalError):
        if "full" in text:
            return f"the disk is full; {full}"
        if "readonly" in text or "read-only" in text or "unable to open" in text:
            return "the directory is read-only or not writable; "
        return "its database cannot be used; "
    if isinstance(exc, (sqlite3.DatabaseError, UnicodeDecodeError)):
        return "its database is damaged; delete that directory (it only holds copies of remote objects), or "
    return "it is busy (locked by another process); "


def parse_size(value: int | str) -> int:
    """A size in bytes from an int or a string such as ``"4GiB"``, ``"500 MB"``, ``"1e9"``."""
    if isinstance(value, int) and not isinstance(value, bool):
        size = value
    else:
        match = re.fullmatch(r"\s*([0-9.eE+]+)\s*([a-zA-Z]*)\s*", str(value))
        unit = match.group(2).lower() if match else ""
        if not match or unit not in _UNITS:
            raise ConfigError(f"cache size {value!r} is not a size; use bytes or e.g. '500MiB', '4GiB'")
        try:
            size = int(float(match.group(1)) * _UNITS[unit])
        except (ValueError, OverflowError):  # not a number, or inf
            raise ConfigError(f"cache size {value!r} is not a size; use bytes or e.g. '500MiB', '4GiB'") from None
    if not 0 < size < 2**63:  # the cache keeps its limit in SQLite, whose integers stop there
        raise ConfigError(f"cache size must be positive and at most 8 EiB (SQLite's largest integer), got {value!r}")
    return size


@dataclass
class CacheStats:
    """What one store's reads did with the cache."""

    hits: int = 0
    misses: int = 0
    bytes_from_cache: int = 0
    bytes_fetched: int = 0
    evictions: int = 0
    corrupt_dropped: int = 0
    revalidations: int = 0
    offline_reads: int = 0

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


class ObjectCache:
    """A size-limited LRU disk cache of backend objects, with per-instance statistics.

    The cache never makes a read fail: a directory that cannot be created or written, a full disk
    or a damaged database turns it off (a failed write: turns writing off) with one
    :class:`CacheWarning` saying why; reads then go to the backend. ``problem`` holds the reason.
    """

    def __init__(self, directory: str | Path, size_limit: int | str = DEFAULT_CACHE_SIZE) -> None:
        self.directory = Path(directory)
        self.size_limit = parse_size(size_limit)
        self.stats = CacheStats()
        self.problem: str | None = None
        self._lock = threading.Lock()
        self._writable = True
        self._cache: diskcache.Cache | None = None
        self._pinned: diskcache.Cache | None = None
        self._pins_off = False
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._cache = diskcache.Cache(
                str(self.directory),
                size_limit=self.size_limit,
                eviction_policy="least-recently-used",
                cull_limit=0,  # evicted in _set, least recently used first, and counted
            )
        except _FAILURES as exc:
            self._give_up(exc, writes_only=False)

    @property
    def writable(self) -> bool:
        """Whether new entries are being kept (False once the cache failed, see ``problem``)."""
        return self._cache is not None and self._writable

    def _give_up(self, exc: BaseException, *, writes_only: bool) -> None:
        """Stop writing (or stop using) the cache after ``exc``, with one warning per cache."""
        what = "written (cached entries are still read)" if writes_only else "used"
        message = (
            f"the local cache in {self.directory} cannot be {what}: {_why(exc)}point cache_dir or "
            f"TICKSTORE_CACHE_DIR at another directory, or open the store with cache=False ({exc}). "
            "Reads go to the backend, uncached"
        )
        with self._lock:
            first = self.problem is None
            self.problem = message if first else self.problem
            self._writable = False
            cache, self._cache = (None, self._cache) if writes_only else (self._cache, None)
        if cache is not None:
            with contextlib.suppress(*_FAILURES):
                cache.close()
        if first:
            log.warning(message)
            warnings.warn(message, CacheWarning, stacklevel=4)
        else:
            log.debug("the local cache in %s failed again (%s)", self.directory, exc)

    # --- decoded partitions (immutable) --------------------------------------------------

    @_tolerant(writes=False)
    def get_table(
        self, namespace: str, key: str, columns: Sequence[str] | None = None, *, checksum: str
    ) -> pa.Table | None:
        """The cached partition (only ``columns``, if given) if present and intact; a damaged entry is dropped.

        ``checksum`` is the one the index records for the object: only an entry decoded from
        bytes with that checksum is a hit.
        """
        entry = _key(namespace, key, checksum)
        raw = self._live().get(entry, default=None, retry=True)
        store = self._live()
        if (
            raw is None and not self._pins_off and os.path.isdir(self.directory / _PINNED)
        ):  # a tag pinned for offline work
            try:
                store = self._pins()
                raw = store.get(entry, default=None, retry=True)
            except _FAILURES as exc:
                self._give_up_pins(exc)
        table = None if raw is None else _read_table_entry(raw, columns)
        if raw is not None and table is None:
            store.delete(entry, retry=True)
            self._count(corrupt_dropped=1)
        if table is None:
            self._count(misses=1)
            return None
        self._count(hits=1, bytes_from_cache=len(raw))
        return table

    @_tolerant(writes=True)
    def put_table(self, namespace: str, key: str, table: pa.Table, *, checksum: str, fetched: int) -> None:
        """Keep a partition decoded from ``fetched`` bytes with ``checksum`` (already verified by the caller)."""
        self._count(bytes_fetched=fetched)
        self._set(_key(namespace, key, checksum), *_table_entry(table))

    # --- pinned partitions (exempt from eviction) -----------------------------------------

    def _give_up_pins(self, exc: BaseException) -> None:
        """Stop using the pinned entries after ``exc``, with one warning: pinned tags then read as any other."""
        with self._lock:
            first, self._pins_off = not self._pins_off, True
            pinned, self._pinned = self._pinned, None
        if pinned is not None:
            with contextlib.suppress(*_FAILURES):
                pinned.close()
        if first:
            message = (
                f"the pinned entries of the local cache in {self.directory / _PINNED} cannot be used: {_why(exc)}"
                f"delete that directory and pin the tags again ({exc}). Pinned tags read through the cache "
                "like any other data"
            )
            log.warning(message)
            warnings.warn(message, CacheWarning, stacklevel=4)

    def _pins(self) -> diskcache.Cache:
        """The pinned entries: a second cache beside the LRU one, never evicted, only unpinned."""
        self._live()
        with self._lock:
            if self._pinned is None:
                self._pinned = diskcache.Cache(
                    str(self.directory / _PINNED), size_limit=2**62, eviction_policy="none", cull_limit=0
                )
            return self._pinned

    @_tolerant(writes=False, pins=True)
    def get_pinned_table(
        self, namespace: str, key: str, columns: Sequence[str] | None = None, *, checksum: str
    ) -> pa.Table | None:
        """The partition pinned for offline work (only ``columns``, if given), if any and intact."""
        if not os.path.isdir(self.directory / _PINNED):
            return None
        entry = _key(namespace, key, checksum)
        raw = self._pins().get(entry, default=None, retry=True)
        table = None if raw is None else _read_table_entry(raw, columns)
        if raw is not None and table is None:
            self._pins().delete(entry, retry=True)
            self._count(corrupt_dropped=1)
        if table is not None:
            self._count(hits=1, bytes_from_cache=len(raw))
        return table

    @_tolerant(writes=True, default=False, pins=True)
    def pin_table(self, namespace: str, key: str, table: pa.Table, *, checksum: str, pin: str) -> bool:
        """Keep a partition under the pin ``pin`` (e.g. a tag) until `unpin`; LRU eviction never drops it."""
        pins = self._pins()
        entry = _key(namespace, key, checksum)
        if entry not in pins:
            pins.set(entry, b"".join(bytes(part) for part in _table_entry(table)), retry=True)
        record = _pin_key(namespace, pin)
        with pins.transact(retry=True):
            held = set(json.loads(pins.get(record, default=b"[]", retry=True)))
            held.add(entry)
            pins.set(record, json.dumps(sorted(held)).encode(), retry=True)
        return True

    @_tolerant(writes=True, default=0, pins=True)
    def unpin(self, namespace: str, pin: str) -> int:
        """Release the pin ``pin``: its entries no other pin holds are removed; returns how many."""
        if not os.path.isdir(self.directory / _PINNED):
            return 0
        pins = self._pins()
        removed = 0
        with pins.transact(retry=True):
            if pins.pop(_pin_key(namespace, pin), default=None, retry=True) is None:
                return 0
            held: set[str] = set()
            for record in list(pins.iterkeys()):
                if str(record).startswith("pin|"):
                    held.update(json.loads(pins.get(record, default=b"[]", retry=True)))
            for entry in list(pins.iterkeys()):
                if not str(entry).startswith("pin|") and entry not in held:
                    removed += bool(pins.delete(entry, retry=True))
        return removed

    @_tolerant(writes=False, default=[], pins=True)
    def pins(self, namespace: str) -> list[str]:
        """The pins held for ``namespace`` (a store's URL)."""
        if not os.path.isdir(self.directory / _PINNED):
            return []
        prefix = _pin_key(namespace, "")
        return sorted(str(k)[len(prefix) :] for k in self._pins().iterkeys() if str(k).startswith(prefix))

    @_tolerant(writes=False, default=0, pins=True)
    def pinned_volume(self) -> int:
        """Bytes the pinned entries use on disk."""
        return int(self._pins().volume()) if os.path.isdir(self.directory / _PINNED) else 0

    def read_through(
        self,
        namespace: str,
        key: str,
        columns: Sequence[str] | None,
        *,
        checksum: str,
        load: Callable[[], tuple[pa.Table, int]],
    ) -> pa.Table:
        """The partition (only ``columns``, if given) from the cache, else ``load()``-ed and kept.

        ``load`` returns the whole decoded partition and the bytes fetched for it (verified
        against ``checksum``); every column is kept, for later selects of other columns.
        """
        cached = self.get_table(namespace, key, columns, checksum=checksum)
        if cached is not None:
            return cached
        table, fetched = load()
        self.put_table(namespace, key, table, checksum=checksum, fetched=fetched)
        if columns is not None:
            table = table.select([table.column_names[0], *(c for c in columns if c in table.column_names)])
        return table

    # --- fetched objects, kept as they are (immutable) --------------------------------------

    @_tolerant(writes=False)
    def get_object(self, namespace: str, key: str, *, checksum: str, count_miss: bool = True) -> pa.Buffer | None:
        """The bytes of an object as fetched, memory-mapped from the cache's file; None if not cached.

        The caller checks what it reads (the ``tickstore-arrow`` format checks every part) and then
        reports a hit (:meth:`count`) or a damaged entry (:meth:`drop_object`). A miss is counted here
        unless ``count_miss`` is False (a ranged read, which looks for parts next, counts its own).
        """
        handle = self._live().get(_key(namespace, key, checksum, raw=True), default=None, read=True, retry=True)
        if handle is None:
            if count_miss:
                self._count(misses=1)
            return None
        if isinstance(handle, bytes):  # a small entry, kept inside diskcache's database
            return pa.py_buffer(handle)
        with handle:
            name = getattr(handle, "name", None)
            if isinstance(name, str) and os.path.isfile(name):
                return map_file(name)
            return pa.py_buffer(handle.read())

    @_tolerant(writes=False, default=False)
    def has_object(self, namespace: str, key: str, *, checksum: str) -> bool:
        """Whether :meth:`get_object` would find the object (not counted as a hit or a miss)."""
        return _key(namespace, key, checksum, raw=True) in self._live()

    @_tolerant(writes=False)
    def drop_object(self, namespace: str, key: str, *, checksum: str) -> None:
        """Drop a damaged entry of :meth:`get_object` (counted as dropped and as a miss)."""
        self._live().delete(_key(namespace, key, checksum, raw=True), retry=True)
        self._count(corrupt_dropped=1, misses=1)

    @_tolerant(writes=True)
    def put_object(self, namespace: str, key: str, data: bytes | pa.Buffer, *, checksum: str) -> None:
        """Keep an object's fetched bytes as they are (already verified by the caller against ``checksum``)."""
        self._set(_key(namespace, key, checksum, raw=True), data)

    def release_connection(self) -> None:
        """Close the calling thread's database connection (diskcache keeps one per thread; the next use
        opens another), so that a helper thread leaves nothing open behind it."""
        cache = self._cache
        if cache is not None:
            with contextlib.suppress(*_FAILURES):
                cache.close()

    # --- revalidated objects (indexes, the manifest) --------------------------------------

    @_tolerant(writes=False)
    def get_tagged(self, namespace: str, key: str) -> tuple[str, bytes] | None:
        """The cached (ETag, bytes) of a mutable object, if present and intact."""
        entry = _key(namespace, key, tagged=True)
        raw = self._live().get(entry, default=None, retry=True)
        if raw is None:
            return None
        try:
            header, _, data = bytes(raw).partition(b"\n")
            meta: dict[str, Any] = json.loads(header)
            if not matches(data, meta["checksum"]):
                raise ValueError("checksum mismatch")
        except (ValueError, KeyError, TypeError):
            self._live().delete(entry, retry=True)
            self._count(corrupt_dropped=1)
            return None
        return str(meta["etag"]), data

    @_tolerant(writes=True)
    def put_tagged(self, namespace: str, key: str, etag: str, data: bytes) -> None:
        header = json.dumps({"etag": etag, "checksum": checksum(data)}).encode()
        self._set(_key(namespace, key, tagged=True), header + b"\n" + data)

    @_tolerant(writes=True)
    def forget_tagged(self, namespace: str, key: str) -> None:
        self._live().delete(_key(namespace, key, tagged=True), retry=True)

    # --- housekeeping ---------------------------------------------------------------------

    def count(self, **deltas: int) -> None:
        """Add to the statistics (used by the store for revalidations and offline reads)."""
        self._count(**deltas)

    @_tolerant(writes=False, default=0)
    def volume(self) -> int:
        """Bytes the cache uses on disk."""
        return int(self._live().volume())

    @_tolerant(writes=False, default=0)
    def entries(self) -> int:
        return len(self._live())

    def clear(self) -> int:
        """Remove every entry (of every store); returns how many were removed."""
        if self._cache is None:
            raise ConfigError(f"{self.problem}; nothing to clear")
        try:
            return int(self._cache.clear(retry=True))
        except _FAILURES as exc:
            raise ConfigError(f"the local cache in {self.directory} cannot be cleared: {_why(exc)}({exc})") from exc

    def close(self) -> None:
        """Release the cache's files; a cache shared by other stores reopens them on its next use."""
        pinned, self._pinned = self._pinned, None
        if pinned is not None:
            with contextlib.suppress(*_FAILURES):
                pinned.close()
        cache = self._cache
        if cache is not None:
            with contextlib.suppress(*_FAILURES):
                cache.close()

    def _live(self) -> diskcache.Cache:
        """The open cache; :class:`_TurnedOff` if another thread turned it off meanwhile."""
        cache = self._cache
        if cache is None:
            raise _TurnedOff
        return cache

    def _set(self, entry: str, *parts: bytes | pa.Buffer) -> None:
        """Store the concatenation of ``parts`` (never joined in memory when large)."""
        size = sum(len(memoryview(part)) for part in parts)
        if size > self.size_limit:
            return  # it would evict everything else and then itself
        if size >= _STREAMED:  # diskcache writes a bytes value line by line; a stream goes in 4 MiB chunks
            self._live().set(entry, _Stream(parts), read=True, retry=True)
        else:
            self._live().set(entry, b"".join(bytes(part) for part in parts), retry=True)
        self._evict_to_limit(keep=entry)

    def _evict_to_limit(self, keep: str) -> None:
        """Drop least recently used entries, one at a time, until the cache fits its size limit.

        diskcache's own ``cull`` drops ten entries per step, which empties a cache holding a few
        large partitions (the one just written included); hence this loop over its Cache table.
        """
        evicted = 0
        while self._live().volume() > self.size_limit:
            row = self._live()._sql(_LEAST_RECENTLY_USED, (keep,)).fetchone()
            if row is None:
                break
            evicted += bool(self._live().delete(row[0], retry=True))
        if evicted:
            self._count(evictions=evicted)

    def _count(self, **deltas: int) -> None:
        with self._lock:
            for name, delta in deltas.items():
                setattr(self.stats, name, getattr(self.stats, name) + delta)

    def __repr__(self) -> str:
        return f"<ObjectCache {self.directory} limit={self.size_limit:,}B>"


_LEAST_RECENTLY_USED = "SELECT key FROM Cache WHERE key != ? ORDER BY access_time LIMIT 1"
_PINNED = "pinned"


def _pin_key(namespace: str, pin: str) -> str:
    return f"pin|{namespace}|{pin}"


def _key(namespace: str, key: str, checksum: str = "", *, tagged: bool = False, raw: bool = False) -> str:
    if tagged:
        return f"tag|{namespace}|{key}"
    return f"{'object' if raw else 'arrow'}|{namespace}|{key}|{checksum}"


_STREAMED = 1024**2


class _Stream:
    """``read(size)`` over several buffers in turn, as views (diskcache only measures and writes them):
    what diskcache needs to write a file value without a 4 MiB copy per read."""

    def __init__(self, parts: tuple[bytes | pa.Buffer, ...]) -> None:
        self._parts = [memoryview(part).cast("B") for part in parts]

    def read(self, size: int) -> memoryview:
        while self._parts and not len(self._parts[0]):
            self._parts.pop(0)
        if not self._parts:
            return memoryview(b"")
        chunk, self._parts[0] = self._parts[0][:size], self._parts[0][size:]
        return chunk


_TABLE_MAGIC = b"tickstore-arrow/1\n"
_IPC_OPTIONS = pa.ipc.IpcWriteOptions(compression="lz4")


def _table_entry(table: pa.Table) -> tuple[bytes, pa.Buffer]:
    """A partition as a cache entry, (header, body): magic and CRC-32 of the body, then an LZ4-compressed
    Arrow IPC file.

    Reading it back costs an LZ4 decompression, several times faster than decoding Parquet, and
    every column gets its own buffer, so a result holds no reference to the whole entry.
    """
    sink = pa.BufferOutputStream()
    with pa.ipc.new_file(sink, table.schema, options=_IPC_OPTIONS) as writer:
        writer.write_table(table)
    body = sink.getvalue()
    return _TABLE_MAGIC + crc32(body).to_bytes(4, "big"), body


def _read_table_entry(raw: bytes, columns: Sequence[str] | None) -> pa.Table | None:
    """The table in a cache entry (only the timestamp and ``columns``), or None if it is damaged."""
    head = len(_TABLE_MAGIC) + 4
    body = memoryview(raw)[head:]
    if raw[: len(_TABLE_MAGIC)] != _TABLE_MAGIC or crc32(body).to_bytes(4, "big") != raw[head - 4 : head]:
        return None
    try:
        buffer = pa.py_buffer(body)
        options = None
        if columns is not None:
            names = pa.ipc.open_file(buffer).schema.names
            wanted = {0, *(names.index(c) for c in columns if c in names)}
            options = pa.ipc.IpcReadOptions(included_fields=sorted(wanted))
        return pa.ipc.open_file(buffer, options=options).read_all()
    except (pa.ArrowException, OSError):  # a good CRC over bad content: written by something else
        return None
