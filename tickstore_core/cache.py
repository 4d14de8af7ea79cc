"""The local read-through disk cache, shared by every store on the machine.

Data objects are immutable, so a cached copy never goes stale: it is keyed by the backend's URL, the
object key and the checksum the index records for that version (a store destroyed and recreated at
the same place reuses keys, never checksums of other content), and kept decoded (an Arrow IPC file,
quick to read back) with a CRC-32 checked on every read; a damaged entry is dropped and fetched
again. Small mutable objects (indexes, the manifest) are cached with their ETag, revalidated
against the backend on use, and served from the cache when the backend cannot be reached (offline
mode). Entries are plain bytes (never pickles), evicted least recently
used first once the cache exceeds its size limit.
"""

from __future__ import annotations

import functools
import json
import os
import re
import sqlite3
import threading
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, TypeVar

import diskcache
import platformdirs
import pyarrow as pa
import pyarrow.ipc

from .errors import ConfigError
from .integrity import checksum, matches

__all__ = ["DEFAULT_CACHE_SIZE", "CacheStats", "ObjectCache", "default_cache_dir", "parse_size"]

DEFAULT_CACHE_SIZE = 4 * 1024**3
_UNITS = {"": 1, "b": 1}
for _power, _prefix in enumerate("kmgt", start=1):
    _UNITS.update({_prefix: 1000**_power, f"{_prefix}b": 1000**_power, f"{_prefix}ib": 1024**_power})


_F = TypeVar("_F", bound=Callable[..., Any])


def _damage_explained(method: _F) -> _F:
    """Turn a damaged cache database (SQLite's own errors) into a :class:`ConfigError` saying what to do."""

    @functools.wraps(method)
    def guarded(self: ObjectCache, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except (sqlite3.DatabaseError, UnicodeDecodeError) as exc:
            raise ConfigError(
                f"the local cache in {self.directory} is damaged ({exc}); delete that directory (it only holds "
                "copies of remote objects), or use another one (cache_dir, TICKSTORE_CACHE_DIR) or cache=False"
            ) from exc

    return guarded  # type: ignore[return-value]


def default_cache_dir() -> Path:
    """``TICKSTORE_CACHE_DIR``, or the per-user cache directory (e.g. ``~/.cache/tickstore``)."""
    configured = os.environ.get("TICKSTORE_CACHE_DIR")
    return Path(configured).expanduser() if configured else Path(platformdirs.user_cache_dir("tickstore"))


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
        except ValueError:
            raise ConfigError(f"cache size {value!r} is not a size; use bytes or e.g. '500MiB', '4GiB'") from None
    if size <= 0:
        raise ConfigError(f"cache size must be positive, got {value!r}")
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
    """A size-limited LRU disk cache of backend objects, with per-instance statistics."""

    @_damage_explained
    def __init__(self, directory: str | Path | None = None, size_limit: int | str = DEFAULT_CACHE_SIZE) -> None:
        self.directory = Path(directory) if directory is not None else default_cache_dir()
        self.size_limit = parse_size(size_limit)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._cache = diskcache.Cache(
            str(self.directory),
            size_limit=self.size_limit,
            eviction_policy="least-recently-used",
            cull_limit=0,  # evicted in _set, least recently used first, and counted
        )
        self.stats = CacheStats()
        self._lock = threading.Lock()

    # --- decoded partitions (immutable) --------------------------------------------------

    @_damage_explained
    def get_table(
        self, namespace: str, key: str, columns: Sequence[str] | None = None, *, checksum: str
    ) -> pa.Table | None:
        """The cached partition (only ``columns``, if given) if present and intact; a damaged entry is dropped.

        ``checksum`` is the one the index records for the object: only an entry decoded from
        bytes with that checksum is a hit.
        """
        entry = _key(namespace, key, checksum)
        raw = self._cache.get(entry, default=None, retry=True)
        table = None if raw is None else _read_table_entry(raw, columns)
        if raw is not None and table is None:
            self._cache.delete(entry, retry=True)
            self._count(corrupt_dropped=1)
        if table is None:
            self._count(misses=1)
            return None
        self._count(hits=1, bytes_from_cache=len(raw))
        return table

    @_damage_explained
    def put_table(self, namespace: str, key: str, table: pa.Table, *, checksum: str, fetched: int) -> None:
        """Keep a partition decoded from ``fetched`` bytes with ``checksum`` (already verified by the caller)."""
        self._count(bytes_fetched=fetched)
        self._set(_key(namespace, key, checksum), *_table_entry(table))

    # --- revalidated objects (indexes, the manifest) --------------------------------------

    @_damage_explained
    def get_tagged(self, namespace: str, key: str) -> tuple[str, bytes] | None:
        """The cached (ETag, bytes) of a mutable object, if present and intact."""
        entry = _key(namespace, key, tagged=True)
        raw = self._cache.get(entry, default=None, retry=True)
        if raw is None:
            return None
        try:
            header, _, data = bytes(raw).partition(b"\n")
            meta: dict[str, Any] = json.loads(header)
            if not matches(data, meta["checksum"]):
                raise ValueError("checksum mismatch")
        except (ValueError, KeyError, TypeError):
            self._cache.delete(entry, retry=True)
            self._count(corrupt_dropped=1)
            return None
        return str(meta["etag"]), data

    @_damage_explained
    def put_tagged(self, namespace: str, key: str, etag: str, data: bytes) -> None:
        header = json.dumps({"etag": etag, "checksum": checksum(data)}).encode()
        self._set(_key(namespace, key, tagged=True), header + b"\n" + data)

    @_damage_explained
    def forget_tagged(self, namespace: str, key: str) -> None:
        self._cache.delete(_key(namespace, key, tagged=True), retry=True)

    # --- housekeeping ---------------------------------------------------------------------

    def count(self, **deltas: int) -> None:
        """Add to the statistics (used by the store for revalidations and offline reads)."""
        self._count(**deltas)

    def volume(self) -> int:
        """Bytes the cache uses on disk."""
        return int(self._cache.volume())

    def entries(self) -> int:
        return len(self._cache)

    def clear(self) -> int:
        """Remove every entry (of every store); returns how many were removed."""
        return int(self._cache.clear(retry=True))

    def close(self) -> None:
        self._cache.close()

    def _set(self, entry: str, *parts: bytes | pa.Buffer) -> None:
        """Store the concatenation of ``parts`` (never joined in memory when large)."""
        size = sum(len(memoryview(part)) for part in parts)
        if size > self.size_limit:
            return  # it would evict everything else and then itself
        if size >= _STREAMED:  # diskcache writes a bytes value line by line; a stream goes in 4 MiB chunks
            self._cache.set(entry, _Stream(parts), read=True, retry=True)
        else:
            self._cache.set(entry, b"".join(bytes(part) for part in parts), retry=True)
        self._evict_to_limit(keep=entry)

    def _evict_to_limit(self, keep: str) -> None:
        """Drop least recently used entries, one at a time, until the cache fits its size limit.

        diskcache's own ``cull`` drops ten entries per step, which empties a cache holding a few
        large partitions (the one just written included); hence this loop over its Cache table.
        """
        evicted = 0
        while self._cache.volume() > self.size_limit:
            row = self._cache._sql(_LEAST_RECENTLY_USED, (keep,)).fetchone()
            if row is None:
                break
            evicted += bool(self._cache.delete(row[0], retry=True))
        if evicted:
            self._count(evictions=evicted)

    def _count(self, **deltas: int) -> None:
        with self._lock:
            for name, delta in deltas.items():
                setattr(self.stats, name, getattr(self.stats, name) + delta)

    def __repr__(self) -> str:
        return f"<ObjectCache {self.directory} limit={self.size_limit:,}B>"


_LEAST_RECENTLY_USED = "SELECT key FROM Cache WHERE key != ? ORDER BY access_time LIMIT 1"


def _key(namespace: str, key: str, checksum: str = "", *, tagged: bool = False) -> str:
    return f"tag|{namespace}|{key}" if tagged else f"arrow|{namespace}|{key}|{checksum}"


_STREAMED = 1024**2


class _Stream:
    """``read(size)`` over several buffers in turn: what diskcache needs to write a file value."""

    def __init__(self, parts: tuple[bytes | pa.Buffer, ...]) -> None:
        self._parts = [memoryview(part) for part in parts]

    def read(self, size: int) -> bytes:
        while self._parts and not len(self._parts[0]):
            self._parts.pop(0)
        if not self._parts:
            return b""
        chunk, self._parts[0] = self._parts[0][:size], self._parts[0][size:]
        return bytes(chunk)


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
    return _TABLE_MAGIC + zlib.crc32(body).to_bytes(4, "big"), body


def _read_table_entry(raw: bytes, columns: Sequence[str] | None) -> pa.Table | None:
    """The table in a cache entry (only the timestamp and ``columns``), or None if it is damaged."""
    head = len(_TABLE_MAGIC) + 4
    body = memoryview(raw)[head:]
    if raw[: len(_TABLE_MAGIC)] != _TABLE_MAGIC or zlib.crc32(body).to_bytes(4, "big") != raw[head - 4 : head]:
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
