"""Reading one version's object in the ``tickstore-arrow`` format: memory-mapped or fetched, decoded in parts.

The engine (:mod:`tickstore_core.engine`) reads versions whose index entry records an ``arrow`` or
``hdf5-arrow`` encoding through here: :func:`fetch_buffer` maps the local file when the backend
offers one (:meth:`~tickstore_core.backend.Backend.local_path`), else fetches the bytes;
:func:`decode_checked` finds the object (inside the HDF5 file, for the local store), checks its
header against the index entry and decodes only the chunks and columns asked for, each part checked
by its CRC-32 (:mod:`tickstore_core.encoding.arrow`).
"""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa

from .backend import Backend
from .encoding.arrow import ArrowObject
from .errors import CorruptObjectError, ObjectNotFoundError
from .index import Version

__all__ = ["cache_identity", "check_header", "decode_checked", "fetch_buffer"]


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
    try:
        if version.encoding == "hdf5-arrow":
            from .encoding.hdf5 import payload_span

            span = payload_span(memoryview(buffer))
            if span is None or span[0] + span[1] > buffer.size:
                raise CorruptObjectError("not an HDF5 file holding a tickstore-arrow object, or truncated")
            buffer = buffer.slice(*span)
        found = ArrowObject(buffer)
        check_header(found, version)
        return found.read(timestamp_column, columns, start_ns, end_ns)
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

    A serenity store records no checksums; its files are never rewritten (a new version is a new
    file), so their entries are tied to the version's number and start time instead.
    """
    return version.checksum or f"serenity-{version.version}-{version.start_time}"
