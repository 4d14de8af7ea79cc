"""A part of a ``tickstore-arrow`` object decompressed straight into the array that a select returns.

Arrow's IPC reader decompresses a part into a buffer of its own, which a select then copies into
its result: every byte is written twice and read once more, and reading a day is bound by memory
bandwidth, not by the decompression. A part that holds one fixed-width column without missing
values (prices, sizes, ids, times) is one compressed buffer, so it can be decompressed into the
result's rows instead. Here the part's IPC messages are parsed just enough to find that buffer (the
record batch's Flatbuffers metadata: its rows, null counts and buffer spans), then LZ4 frame or
ZSTD (with ``cramjam``, which releases the GIL) decompresses it into the target. Anything else (a
part with missing values, a dictionary, an unknown layout, no ``cramjam``) is left to Arrow:
:func:`decode_into` returns False and the caller decodes the part as before.
"""

from __future__ import annotations

import dataclasses
import struct
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

cramjam: Any
try:
    import cramjam
except ImportError:  # pragma: no cover - a platform without its wheels: Arrow decodes every part
    cramjam = None

__all__ = ["DirectColumns", "Fill", "PendingChunk", "available", "decode_into"]

_CONTINUATION = 0xFFFFFFFF
_RECORD_BATCH = 3  # MessageHeader.RecordBatch
_LZ4_FRAME, _ZSTD = 0, 1  # CompressionType
_UNCOMPRESSED = -1  # a buffer's length prefix when the writer kept it as it was


def available() -> bool:
    """Whether parts can be decompressed in place here (``cramjam`` is installed)."""
    return cramjam is not None


class _Table:
    """A Flatbuffers table: its fields' positions, by field number (0 when absent)."""

    def __init__(self, data: memoryview, position: int) -> None:
        self.data, self.position = data, position
        self.vtable = position - struct.unpack_from("<i", data, position)[0]
        self.vtable_size = struct.unpack_from("<H", data, self.vtable)[0]

    def field(self, number: int) -> int:
        slot = 4 + 2 * number
        if slot >= self.vtable_size:
            return 0
        offset = struct.unpack_from("<H", self.data, self.vtable + slot)[0]
        return self.position + offset if offset else 0

    def scalar(self, number: int, fmt: str, default: int = 0) -> int:
        at = self.field(number)
        return int(struct.unpack_from(fmt, self.data, at)[0]) if at else default

    def table(self, number: int) -> _Table | None:
        at = self.field(number)
        return _Table(self.data, at + struct.unpack_from("<I", self.data, at)[0]) if at else None

    def structs(self, number: int) -> list[tuple[int, int]]:
        """A vector of 16-byte structs of two int64 (FieldNode, Buffer)."""
        at = self.field(number)
        if not at:
            return []
        vector = at + struct.unpack_from("<I", self.data, at)[0]
        count = struct.unpack_from("<I", self.data, vector)[0]
        return [struct.unpack_from("<qq", self.data, vector + 4 + 16 * i) for i in range(count)]


def _last_message(part: memoryview) -> tuple[memoryview, memoryview]:
    """The metadata and body of the stream's last message (its record batch), after the schema."""
    position, found = 0, None
    while position + 8 <= len(part):
        continuation, length = struct.unpack_from("<Ii", part, position)
        if continuation != _CONTINUATION or length < 0:
            raise ValueError("not an IPC stream")
        if length == 0:  # end of stream
            break
        metadata = part[position + 8 : position + 8 + length]
        body_length = _Table(metadata, struct.unpack_from("<I", metadata, 0)[0]).scalar(3, "<q")
        position += 8 + length
        found = (metadata, part[position : position + body_length])
        position += body_length
    if found is None or position > len(part):
        raise ValueError("no record batch")
    return found


def decode_into(part: Any, target: np.ndarray) -> bool:
    """Decompress the one-column IPC stream ``part`` into ``target`` (its rows, C-contiguous, of the
    column's width) if the part is a batch of ``len(target)`` values without missing ones stored in
    one buffer. False if it is not, or if it does not decompress: the caller then decodes it with
    Arrow (which names any damage) and overwrites ``target``.
    """
    if cramjam is None or not target.flags.c_contiguous or sys.byteorder != "little":
        return False  # values as a little-endian machine wrote them; elsewhere Arrow decodes
    try:
        metadata, body = _last_message(memoryview(part).cast("B"))
        message = _Table(metadata, struct.unpack_from("<I", metadata, 0)[0])
        header_type = message.field(1)
        if not header_type or metadata[header_type] != _RECORD_BATCH:
            return False
        batch = message.table(2)
        if batch is None:
            return False
        nodes, buffers = batch.structs(1), batch.structs(2)
        compression = batch.table(3)
        codec = None if compression is None else compression.scalar(0, "<b")
        if batch.scalar(0, "<q") != len(target) or len(nodes) != 1 or nodes[0] != (len(target), 0):
            return False
        if len(buffers) != 2 or buffers[0][1] != 0:  # [validity (absent), values]
            return False
        offset, length = buffers[1]
        if offset < 0 or length < 0 or offset + length > len(body):
            return False
        values = body[offset : offset + length]
    except (ValueError, IndexError, struct.error):
        return False
    out = target.view(np.uint8).data
    if codec is None:  # an uncompressed stream
        if len(values) != out.nbytes:
            return False
        out[:] = values
        return True
    if len(values) < 8 or codec not in (_LZ4_FRAME, _ZSTD):
        return False
    size = struct.unpack_from("<q", values, 0)[0]
    if size == _UNCOMPRESSED:
        if len(values) - 8 != out.nbytes:
            return False
        out[:] = values[8:]
        return True
    if size != out.nbytes:
        return False
    decompress = cramjam.lz4.decompress_into if codec == _LZ4_FRAME else cramjam.zstd.decompress_into
    try:
        written = decompress(values[8:], out)
    except (cramjam.DecompressionError, ValueError, TypeError):  # Arrow then decodes it and names the damage
        return False
    return bool(written == out.nbytes)


class DirectColumns:
    """The columns a reader wants left compressed in the chunks it is given (see `PendingChunk`), set
    once the reader knows them; a chunk decoded before that comes whole."""

    def __init__(self) -> None:
        self.names: frozenset[str] = frozenset()
        self.times = False  # the timestamps too, in chunks wholly inside the read's bounds


Fill = Callable[[int, np.ndarray], "pa.Array | None"]
"""``fill(first, target)``: rows ``first .. first + len(target)`` of a chunk's column written into
``target``, or, where they cannot be (see :func:`decode_into`), returned as an Arrow array for the
caller to copy."""


@dataclass(frozen=True)
class PendingChunk:
    """A chunk of ticks whose columns in ``fills`` are still compressed (their parts checked already):
    ``table`` holds the timestamp and the other columns, :meth:`fill` writes a pending column where the
    reader wants it, and :meth:`release` lets go of the object once every column is filled. When
    ``times`` holds a fill the timestamps are pending too (int64 nanoseconds, :meth:`fill_times`) and
    ``table`` holds only the other columns, with the chunk's rows.

    ``fills``, ``times`` and ``after`` (what gives back a memory-mapped object's pages) are shared
    with the chunk's slices and emptied by :meth:`release`, so a fetched object is freed with its last
    chunk even while a reader still holds the chunk.
    """

    table: pa.Table
    fills: dict[str, Fill]
    after: list[Callable[[], None]]
    first: int = 0  # the chunk's rows before ``table``'s first (a chunk trimmed to a select's bounds)
    times: list[Fill] = dataclasses.field(default_factory=list)  # one, or none

    def slice(self, offset: int, rows: int) -> PendingChunk:
        """Rows ``offset .. offset + rows`` of this chunk."""
        return dataclasses.replace(self, table=self.table.slice(offset, rows), first=self.first + offset)

    def fill(self, name: str, target: np.ndarray) -> pa.Array | None:
        """Column ``name``'s rows into ``target`` (``len(target)`` must be ``table.num_rows``)."""
        return self.fills[name](self.first, target)

    def fill_times(self, target: np.ndarray) -> pa.Array | None:
        """The pending timestamps into ``target`` (int64), as :meth:`fill` does a column."""
        if not self.times:
            raise ValueError("this chunk's timestamps are in its table, or it was released")
        return self.times[0](self.first, target)

    def release(self) -> None:
        """Drop the parts and give back the object's mapped pages (once)."""
        self.fills.clear()
        self.times.clear()
        while self.after:
            self.after.pop()()
