"""Reading one version's object in the ``tickstore-arrow`` format: memory-mapped or fetched, decoded in parts.

The engine (:mod:`tickstore_core.engine`) reads versions whose index entry records an ``arrow`` or
``hdf5-arrow`` encoding through here: :func:`read_arrow` takes the cache's copy of the object, else
a ranged read's parts (:mod:`tickstore_core.ranged`), else :func:`fetch_buffer` maps the local file
when the backend offers one (:meth:`~tickstore_core.backend.Backend.local_path`), else fetches the
bytes; then it finds the object (inside the HDF5 file, for the local store), checks its header
against the index entry and decodes only the chunks and columns asked for, each part checked by
its CRC-32 (:mod:`tickstore_core.encoding.arrow`), at once or one chunk at a time.
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Executor
from typing import TYPE_CHECKING

import pyarrow as pa

from .backend import Backend
from .cache import ObjectCache
from .encoding.arrow import ArrowObject
from .encoding.direct import DirectColumns, PendingChunk
from .errors import CorruptObjectError, ObjectNotFoundError
from .fills import BackgroundFills
from .heap import release_free_heap
from .index import Version
from .integrity import matches
from .mapped import map_file
from .recent import RecentWrites

if TYPE_CHECKING:
    from .ranged import RangedReads

__all__ = ["Decode", "cache_identity", "check_header", "checked_object", "fetch_buffer", "read_arrow"]

PERMIT_WAIT = 5.0
"""Seconds a read waits for a decoding permit before it decodes without one: a permit held by a read
its caller abandoned (kept alive by a traceback, say) slows reads down but never stops them."""

Decode = Callable[[ArrowObject, int], Iterable[pa.Table | PendingChunk]]
"""What a read makes of a checked object: ``decode(found, skip)``, its tables after the first ``skip``
(all of it at once, as `ArrowObject.read`, or chunk by chunk, as `ArrowObject.iter_read`)."""


def read_arrow(
    backend: Backend,
    cache: ObjectCache | None,
    fills: BackgroundFills,
    ranges: RangedReads,
    timestamp_column: str,
    symbol: str,
    version: Version,
    columns: Sequence[str] | None,
    start_ns: int | None,
    end_ns: int | None,
    *,
    chunked: bool = False,
    reverse: bool = False,
    ahead: int = 0,
    pool: Executor | None = None,
    decoding: threading.Semaphore | None = None,
    recent: RecentWrites | None = None,
    direct: DirectColumns | None = None,
) -> Iterator[pa.Table | PendingChunk]:
    """A ``tickstore-arrow`` version's ticks (``columns``, the chunks with ticks in ``[start_ns, end_ns]``): one
    table, or one per chunk, each decoded when asked for (``chunked``). From the cache's copy of the fetched
    bytes, else by ranges where ``ranges`` finds it worth it (an hour of a large day, or a column: only those
    parts), else from the backend (memory-mapped where it offers a local file).

    Every part read is checked by its CRC-32 and the object's header against the index entry, so
    no whole-object checksum is computed on the way; a fetched object goes into the cache after the
    select returns (:class:`~tickstore_core.fills.BackgroundFills`), once its SHA-256 matches. A
    damaged cached copy is dropped, and what the caller does not have yet is read from the backend.

    Chunk by chunk, ``reverse`` gives the last chunk first, and a ``pool`` decodes up to ``ahead``
    chunks ahead of the caller (`ArrowObject.iter_read`). Decoding holds one of the ``decoding``
    permits from its first chunk to its last: however many objects are fetched at once, only so many
    are decoded at once (and hold their bytes and decoded chunks), as decoding is bound by the CPU.
    Chunk by chunk, the columns named in ``direct`` are left for the caller to decompress into its own
    arrays (:class:`~tickstore_core.encoding.direct.PendingChunk`).
    An object this process wrote lately (``recent``: appends' segments, read back by compaction) is
    decoded from memory.
    """

    def decode(found: ArrowObject, skip: int) -> Iterator[pa.Table | PendingChunk]:
        permitted = decoding is not None and decoding.acquire(timeout=PERMIT_WAIT)
        try:
            if chunked:
                yield from found.iter_read(
                    timestamp_column,
                    columns,
                    start_ns,
                    end_ns,
                    skip,
                    reverse=reverse,
                    ahead=ahead,
                    pool=pool,
                    direct=direct,
                )
            else:
                yield found.read(timestamp_column, columns, start_ns, end_ns)
        finally:
            if permitted and decoding is not None:
                decoding.release()

    kept = None if recent is None else recent.get(version.key, version.checksum)
    if kept is not None:
        yield from _decoded(kept, symbol, version, decode, 0)
        return
    identity = cache_identity(version)
    ranged = ranges.worth(version, columns, start_ns, end_ns)
    url = backend.url
    done = 0
    if cache is not None:
        fills.wait_all()  # earlier fills first: the cache's LRU order is the order of the reads
        cached = cache.get_object(url, version.key, checksum=identity, count_miss=not ranged)
        if cached is not None:
            try:
                for table in _decoded(cached, symbol, version, decode, 0):
                    done += 1
                    yield table
                    del table  # not held while the next one is decoded
            except CorruptObjectError:
                cache.drop_object(url, version.key, checksum=identity)
            else:
                cache.count(hits=1, bytes_from_cache=cached.size)
                return
        pinned = None if done else cache.get_pinned_table(url, version.key, columns, checksum=identity)
        if pinned is not None:  # a pinned tag
            yield pinned
            return
    if ranged:  # an hour of a large day, or a column: fetch only those parts
        yield from ranges.tables(symbol, version, timestamp_column, columns, start_ns, end_ns, decode, done)
        return
    buffer = fetch_buffer(backend, symbol, version)
    for table in _decoded(buffer, symbol, version, decode, done):
        yield table
        del table
    if cache is not None:
        cache.count(bytes_fetched=buffer.size)
        check = functools.partial(matches, memoryview(buffer), version.checksum or "")
        fills.put_objects(cache, url, {version.key: buffer}, identity, check)
        del check
    if not backend.is_local:
        del buffer  # freed now unless its cache fill is pending (the fill thread releases the heap after it)
        release_free_heap()


def fetch_buffer(backend: Backend, symbol: str, version: Version) -> pa.Buffer:
    """The version's object, memory-mapped when the backend offers a local file, else fetched."""
    path = backend.local_path(version.key)
    if path is not None:
        try:
            return map_file(path)
        except (OSError, pa.ArrowException):
            pass  # missing or unreadable: the backend's get says so in its own words
    try:
        return pa.py_buffer(backend.get(version.key))
    except ObjectNotFoundError as exc:
        raise ObjectNotFoundError(
            f"{symbol} {version.day} version {version.version}: object {version.key} is missing from "
            f"{backend.url} although the index references it; run `tickstore fsck`"
        ) from exc


def _decoded(
    buffer: pa.Buffer, symbol: str, version: Version, decode: Decode, skip: int
) -> Iterator[pa.Table | PendingChunk]:
    """``decode`` of the object in ``buffer`` (see `checked_object`); a :class:`CorruptObjectError` names the
    version and its key."""
    found, _ = checked_object(buffer, symbol, version)
    with _naming(symbol, version):
        yield from decode(found, skip)


def checked_object(buffer: pa.Buffer, symbol: str, version: Version) -> tuple[ArrowObject, int]:
    """The ``tickstore-arrow`` object in ``buffer`` (inside the HDF5 file, for ``hdf5-arrow``), its header
    checked against ``version``, and where it starts in ``buffer``; a :class:`CorruptObjectError` names the
    version and its key."""
    with _naming(symbol, version):
        start = 0
        if version.encoding == "hdf5-arrow":
            from .encoding.hdf5 import payload_span

            span = payload_span(memoryview(buffer))
            if span is None or span[0] + span[1] > buffer.size:
                raise CorruptObjectError("not an HDF5 file holding a tickstore-arrow object, or truncated")
            start, buffer = span[0], buffer.slice(*span)
        found = ArrowObject(buffer)
        check_header(found, version)
        return found, start


@contextlib.contextmanager
def _naming(symbol: str, version: Version) -> Iterator[None]:
    """A :class:`CorruptObjectError` raised inside names the version and its key."""
    try:
        yield
    except CorruptObjectError as exc:
        raise CorruptObjectError(f"{symbol} {version.day} version {version.version} ({version.key}): {exc}") from exc


def check_header(found: ArrowObject, version: Version) -> None:
    """Refuse an object whose header does not describe what the index entry ``version`` records."""
    first, last = found.chunks[0], found.chunks[-1]
    if (
        found.rows != version.rows
        or (version.columns is not None and tuple(found.schema.names[1:]) != version.columns)
        or (found.rows and (first.get("min"), last.get("max")) != (version.min_time, version.max_time))
    ):
        raise CorruptObjectError("it is not the object its index entry describes (rows, columns or times differ)")


def cache_identity(version: Version) -> str:
    """What a cache entry of ``version`` must have been decoded from: the checksum in the index.

    A serenity store records no checksums: its entries are tied to the version's number and start
    here, and to the file's tag by `Engine.cache_identity`.
    """
    return version.checksum or f"serenity-{version.version}-{version.start_time}"
