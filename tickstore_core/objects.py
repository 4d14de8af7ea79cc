"""Reading one version's object in the ``tickstore-arrow`` format: memory-mapped or fetched, decoded in parts.

The engine (:mod:`tickstore_core.engine`) reads versions whose index entry records an ``arrow`` or
``hdf5-arrow`` encoding through here: :func:`read_arrow` takes the cache's copy of the object, else
:func:`fetch_buffer` maps the local file when the backend
offers one (:meth:`~tickstore_core.backend.Backend.local_path`), else fetches the bytes;
:func:`decode_checked` finds the object (inside the HDF5 file, for the local store), checks its
header against the index entry and decodes only the chunks and columns asked for, each part checked
by its CRC-32 (:mod:`tickstore_core.encoding.arrow`); :func:`iter_checked` decodes them one chunk at
a time, for readers that reduce as they go (bars).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator, Sequence

import pyarrow as pa

from .backend import Backend
from .cache import ObjectCache
from .encoding.arrow import ArrowObject
from .errors import CorruptObjectError, ObjectNotFoundError
from .fills import BackgroundFills
from .index import Version
from .integrity import matches

__all__ = ["Decode", "decode_checked", "fetch_buffer", "iter_checked", "read_arrow"]

Decode = Callable[[pa.Buffer, int], Iterable[pa.Table]]
"""What is read of an object's bytes: ``decode(buffer, skip)``, the tables after the first ``skip``."""


def read_arrow(
    backend: Backend,
    cache: ObjectCache | None,
    fills: BackgroundFills,
    symbol: str,
    version: Version,
    identity: str,
    columns: Sequence[str] | None,
    decode: Decode,
) -> Iterator[pa.Table]:
    """The tables ``decode`` makes of a ``tickstore-arrow`` version: from the cache's copy of the fetched
    bytes (checked as ``identity``), else from the backend (memory-mapped where it offers a local file).

    Every part read is checked by its CRC-32 and the object's header against the index entry, so
    no whole-object checksum is computed on the way; a fetched object goes into the cache after the
    select returns (:class:`~tickstore_core.fills.BackgroundFills`), once its SHA-256 matches. A
    damaged cached copy is dropped, and what the caller does not have yet is read from the backend.
    """
    url = backend.url
    done = 0
    if cache is not None:
        fills.wait_all()  # earlier fills first: the cache's LRU order is the order of the reads
        cached = cache.get_object(url, version.key, checksum=identity)
        if cached is not None:
            try:
                for table in decode(cached, 0):
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
    buffer = fetch_buffer(backend, symbol, version)
    for table in decode(buffer, done):
        yield table
        del table
    if cache is not None and cache.writable:
        cache.count(bytes_fetched=buffer.size)
        writable = cache

        def fill() -> None:
            try:
                if matches(memoryview(buffer), version.checksum or ""):
                    writable.put_object(url, version.key, buffer, checksum=identity)
            finally:
                writable.release_connection()

        fills.submit(version.key, fill)


def fetch_buffer(backend: Backend, symbol: str, version: Version) -> pa.Buffer:
    """The version's object, memory-mapped when the backend offers a local file, else fetched."""
    path = backend.local_path(version.key)
    if path is not None:
        try:
            return pa.memory_map(path, "r").read_buffer()
        except (OSError, pa.ArrowException):
            pass  # missing or unreadable: the backend's get says so in its own words
    try:
        return pa.py_buffer(backend.get(version.key))
    except ObjectNotFoundError as exc:
        raise ObjectNotFoundError(
            f"{symbol} {version.day} version {version.version}: object {version.key} is missing from "
            f"{backend.url} although the index references it; run `tickstore fsck`"
        ) from exc


def decode_checked(
    buffer: pa.Buffer,
    symbol: str,
    version: Version,
    timestamp_column: str,
    columns: Sequence[str] | None,
    start_ns: int | None,
    end_ns: int | None,
) -> pa.Table:
    """Decode a ``tickstore-arrow`` object (or the HDF5 file holding one), checked against ``version``.

    Only chunks with ticks in ``[start_ns, end_ns]`` and only ``columns`` are decoded. A damaged or
    substituted object is a :class:`CorruptObjectError` naming the version and its key.
    """
    with _naming(symbol, version):
        return _checked(buffer, version).read(timestamp_column, columns, start_ns, end_ns)


def iter_checked(
    buffer: pa.Buffer,
    symbol: str,
    version: Version,
    timestamp_column: str,
    columns: Sequence[str] | None,
    start_ns: int | None,
    end_ns: int | None,
    skip: int = 0,
) -> Iterator[pa.Table]:
    """:func:`decode_checked`'s table one chunk at a time (:meth:`ArrowObject.iter_read`), after the first ``skip``.

    The header is checked before the first chunk; each part as its chunk is decoded.
    """
    with _naming(symbol, version):
        yield from _checked(buffer, version).iter_read(timestamp_column, columns, start_ns, end_ns, skip)


@contextlib.contextmanager
def _naming(symbol: str, version: Version) -> Iterator[None]:
    """A :class:`CorruptObjectError` raised inside names the version and its key."""
    try:
        yield
    except CorruptObjectError as exc:
        raise CorruptObjectError(f"{symbol} {version.day} version {version.version} ({version.key}): {exc}") from exc


def _checked(buffer: pa.Buffer, version: Version) -> ArrowObject:
    """The object in ``buffer`` (inside the HDF5 file, for ``hdf5-arrow``), its header checked against ``version``."""
    if version.encoding == "hdf5-arrow":
        from .encoding.hdf5 import payload_span

        span = payload_span(memoryview(buffer))
        if span is None or span[0] + span[1] > buffer.size:
            raise CorruptObjectError("not an HDF5 file holding a tickstore-arrow object, or truncated")
        buffer = buffer.slice(*span)
    found = ArrowObject(buffer)
    first, last = found.chunks[0], found.chunks[-1]
    if (
        found.rows != version.rows
        or (version.columns is not None and tuple(found.schema.names[1:]) != version.columns)
        or (found.rows and (first.get("min"), last.get("max")) != (version.min_time, version.max_time))
    ):
        raise CorruptObjectError("it is not the object its index entry describes (rows, columns or times differ)")
    return found
