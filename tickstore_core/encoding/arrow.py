"""The ``arrow`` encoding of one partition version: column chunks as compressed Arrow IPC, read in parts.

Format ``tickstore-arrow`` version 1 (tickstore 0.2), for cloud objects, their cache entries and,
wrapped in an HDF5 file (:mod:`tickstore_core.encoding.hdf5`, ``tickstore-hdf5`` version 2), the
local store. An object is:

- 8 bytes of magic, ``TSARROW1``;
- the header's length and CRC-32 (two little-endian uint32);
- the header, JSON: format, version, rows, the exact Arrow schema (base64 of
  ``Schema.serialize()``, pandas metadata included), the compression, and the row chunks in time
  order. Each chunk records its rows, its first and last tick time (UTC nanoseconds) and, per
  column, one part: ``[offset, length, crc32]`` of its bytes in the object;
- the parts: each an Arrow IPC stream of one column of one chunk (schema without metadata, the
  dictionary if any, one record batch), its buffers compressed (LZ4 frame, or ZSTD). A part may
  name a transform as a fourth entry: ``delta`` (64-bit integers and times without nulls, stored
  as int64 differences, wrapping), ``dict`` (strings with few distinct values, stored
  dictionary-encoded); readers undo it, so the column has its own type again.

A reader fetches (or memory-maps) the object, checks the header, then reads only the chunks whose
time span meets the select's range and only the requested columns, checking each part's CRC-32
before Arrow sees it, so a damaged byte is never decoded. Chunks are :data:`CHUNK_ROWS` rows: a
select of one hour of a busy day decodes a few chunks, not the day.
"""

from __future__ import annotations

import base64
import functools
import json
import os
import struct
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.ipc

from ..ahead import in_order
from ..errors import CorruptObjectError, InvalidTicksError
from ..integrity import crc32
from ..mapped import give_back
from ..threads import SharedPool
from .direct import DirectColumns, Fill, PendingChunk, decode_into

__all__ = [
    "CHUNK_ROWS",
    "FORMAT",
    "MAGIC",
    "ArrowCodec",
    "ArrowObject",
    "DecodeCounter",
    "encode_arrow",
    "header_end",
]

FORMAT = "tickstore-arrow"
FORMAT_VERSION = 1
MAGIC = b"TSARROW1"
_PREFIX = struct.Struct("<8sII")
# Rows per chunk: small enough that an hour of a 5M-tick day is a few chunks (an hour selects in
# about a tenth of the day's time), large enough that the per-part cost (opening an IPC stream)
# stays below the decompression; measured: a whole day reads as fast as with chunks twice as large.
CHUNK_ROWS = 1 << 16
_MAX_HEADER = 1 << 30
_READ_OPTIONS = pa.ipc.IpcReadOptions(use_threads=False)


@functools.cache
def decoding_pool() -> pa.MemoryPool:
    """The Arrow memory pool that decoded parts are allocated from: jemalloc where pyarrow has it,
    unless the user chose the process's pool (``ARROW_DEFAULT_MEMORY_POOL``).

    Several threads decode at once, each a chunk at a time. pyarrow's default, mimalloc, keeps what each
    thread freed in that thread's heap, so a 3-day select of 49 MB peaked at 1.54-1.58x the frame;
    with jemalloc's pool, which returns freed pages, 1.41x, at the same speed. Only this module uses
    the pool; nothing process-wide is changed.
    """
    if os.environ.get("ARROW_DEFAULT_MEMORY_POOL"):
        return pa.default_memory_pool()
    try:
        return pa.jemalloc_memory_pool()
    except (NotImplementedError, pa.ArrowException):  # builds without jemalloc (Windows)
        return pa.default_memory_pool()


@dataclass
class DecodeCounter:
    """What reads decoded: parts, rows (of chunks read) and their compressed bytes; for tests and profiles."""

    parts: int = 0
    rows: int = 0
    bytes: int = 0


counter = DecodeCounter()
"""Process-wide totals of :meth:`ArrowObject.read` and `iter_read`; tests compare them before and after a select."""


class ArrowCodec:
    """The ``arrow`` encoding: :func:`encode_arrow` and :meth:`ArrowObject.read`."""

    name = "arrow"
    suffix = "arrow"
    encoding = "arrow"

    def __init__(self, compression: str = "lz4", dictionaries: bool = True, previous: Any = None) -> None:
        self.compression = compression
        self.dictionaries = dictionaries
        self.previous = previous  # the codec tickstore 0.1 wrote with, whose objects are tickstore's too

    def encode(self, table: pa.Table) -> bytes:
        return encode_arrow(table, compression=self.compression, dictionaries=self.dictionaries)

    def decode(self, data: bytes, *, timestamp_column: str, columns: Sequence[str] | None) -> pa.Table:
        return ArrowObject(pa.py_buffer(data)).read(timestamp_column, columns)

    def wrote(self, data: bytes) -> bool:
        """An object starting with this format's magic (or one the previous codec wrote)."""
        return data[: len(MAGIC)] == MAGIC or (self.previous is not None and bool(self.previous.wrote(data)))


# --- encoding ------------------------------------------------------------------------------------


def encode_arrow(
    table: pa.Table, *, compression: str = "lz4", dictionaries: bool = False, chunk_rows: int | None = None
) -> bytes:
    """Encode a canonical table (timestamp column first, sorted) as the bytes of one object.

    ``dictionaries`` stores string columns with few distinct values dictionary-encoded: about five
    times fewer bytes for a column such as a trade's side, at the cost of rebuilding the strings on
    every read (worth it where bytes travel, as to an object store).
    """
    if table.num_columns == 0 or not pa.types.is_timestamp(table.schema.field(0).type):
        raise InvalidTicksError("the table to encode must start with the timestamp column")
    if len(set(table.column_names)) != table.num_columns:
        raise InvalidTicksError(f"duplicate column names: {table.column_names}")
    options = pa.ipc.IpcWriteOptions(compression=compression, use_threads=False)
    chunk_rows = chunk_rows or CHUNK_ROWS  # read when called, so tests may use small chunks
    times = table.column(0).cast(pa.int64()) if table.num_rows else None
    fields = [field.remove_metadata() for field in table.schema]
    starts = list(range(0, table.num_rows, chunk_rows)) if table.num_rows else [0]
    pieces = [table.slice(start, chunk_rows) for start in starts]

    def encoded(job: tuple[int, int]) -> tuple[pa.Buffer, str | None, int]:
        body, transform = _part(fields[job[1]], pieces[job[0]].column(job[1]), options, dictionaries)
        return body, transform, crc32(body)

    jobs = [(c, i) for c in range(len(pieces)) for i in range(len(fields))]
    done = iter(_encoder().map(encoded, jobs) if len(jobs) > len(fields) else map(encoded, jobs))
    parts: list[pa.Buffer] = []
    chunks: list[dict[str, Any]] = []
    offset = 0
    for start, piece in zip(starts, pieces, strict=True):
        entry: dict[str, Any] = {"rows": piece.num_rows, "parts": []}
        if times is not None:
            entry["min"], entry["max"] = times[start].as_py(), times[start + piece.num_rows - 1].as_py()
        for _ in fields:
            body, transform, crc = next(done)
            entry["parts"].append([offset, body.size, crc, *([transform] if transform else [])])
            parts.append(body)
            offset += body.size
        chunks.append(entry)
    header = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "rows": table.num_rows,
        "compression": compression,
        "schema": base64.b64encode(table.schema.serialize().to_pybytes()).decode("ascii"),
        "chunks": chunks,
    }
    text = json.dumps(header, separators=(",", ":")).encode()
    base = _PREFIX.size + len(text)
    for entry in chunks:  # offsets are relative to the object's start
        for part in entry["parts"]:
            part[0] += base
    text = json.dumps(header, separators=(",", ":")).encode()
    if len(text) + _PREFIX.size != base:  # the offsets grew the header: shift once more, to a fixed point
        return _relocate(header, parts, base)
    return b"".join([_PREFIX.pack(MAGIC, len(text), crc32(text)), text, *parts])


_ENCODER = SharedPool("encode")  # encodes a day's parts at once (compression releases the GIL)


def _encoder() -> ThreadPoolExecutor:
    """The threads that encode a day's parts at once, one per core, shared by every store."""
    return _ENCODER.get()


def _relocate(header: dict[str, Any], parts: list[pa.Buffer], base: int) -> bytes:
    """Rewrite the offsets until the header's length no longer changes (digits of larger offsets)."""
    while True:
        text = json.dumps(header, separators=(",", ":")).encode()
        shift = _PREFIX.size + len(text) - base
        if shift == 0:
            return b"".join([_PREFIX.pack(MAGIC, len(text), crc32(text)), text, *parts])
        for entry in header["chunks"]:
            for part in entry["parts"]:
                part[0] += shift
        base += shift


def _part(
    field: pa.Field, column: pa.ChunkedArray, options: pa.ipc.IpcWriteOptions, dictionaries: bool
) -> tuple[pa.Buffer, str | None]:
    """One column of one chunk as an IPC stream (its schema, its dictionary if any, one batch), and the
    transform applied first (:func:`_transformed`)."""
    array = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
    if pa.types.is_dictionary(field.type) and column.num_chunks > 1:
        array = pa.chunked_array(column.chunks, field.type).unify_dictionaries().combine_chunks()
    array, transform = _transformed(array, dictionaries)
    schema = pa.schema([pa.field(field.name, array.type, nullable=field.nullable)])
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, schema, options=options) as writer:
        writer.write_batch(pa.record_batch([array], schema=schema))
    return sink.getvalue(), transform


def _is_delta_kind(kind: pa.DataType) -> bool:
    """64-bit integers and times: ticks' times and ids rise steadily, so their differences compress well."""
    return kind in (pa.int64(), pa.uint64()) or (
        (pa.types.is_timestamp(kind) or pa.types.is_duration(kind)) and kind.bit_width == 64
    )


def _is_text(kind: pa.DataType) -> bool:
    return bool(pa.types.is_string(kind) or pa.types.is_large_string(kind))


def _transformed(array: pa.Array, dictionaries: bool) -> tuple[pa.Array, str | None]:
    """What is stored for ``array``: ``delta`` (64-bit values as differences, int64 wrapping), ``dict`` (a
    string column with few distinct values, dictionary-encoded), or the array itself (None)."""
    if len(array) > 1 and not array.null_count and _is_delta_kind(array.type):
        values = np.frombuffer(array.buffers()[1], dtype=np.int64)[array.offset : array.offset + len(array)]
        return pa.array(np.diff(values, prepend=np.int64(0))), "delta"
    if dictionaries and len(array) > 1 and _is_text(array.type):
        encoded = array.dictionary_encode()
        if len(encoded.dictionary) * 4 <= len(array):
            return encoded, "dict"
    return array, None


def _restored(array: pa.Array, transform: str | None, kind: pa.DataType) -> pa.Array:
    """Undo :func:`_transformed`; a part whose stored type does not fit its transform is damaged."""
    if transform is None:
        return array
    if transform == "delta" and array.type == pa.int64() and not array.null_count and _is_delta_kind(kind):
        deltas = np.frombuffer(array.buffers()[1], dtype=np.int64)[array.offset : array.offset + len(array)]
        values = pa.allocate_buffer(deltas.nbytes, memory_pool=decoding_pool())
        np.add.accumulate(deltas, out=np.frombuffer(values, dtype=np.int64))  # cumsum, without its wrapper
        return pa.Array.from_buffers(kind, len(deltas), [None, values])
    if transform == "dict" and pa.types.is_dictionary(array.type) and _is_text(kind):
        return array.cast(kind, memory_pool=decoding_pool())
    raise CorruptObjectError(f"a part stored as {array.type} cannot be restored by {transform!r} to {kind}")


# --- decoding ------------------------------------------------------------------------------------


class ArrowObject:
    """An object in this format, over a buffer (bytes, or a memory map): its header, checked, and reads."""

    def __init__(self, buffer: pa.Buffer, size: int | None = None) -> None:
        """``buffer`` holds the whole object or, when ``size`` (the object's length) is given, its first
        bytes up to the end of the header at least (:func:`header_end`); the parts a read needs are then
        put in :attr:`pieces` by offset (:meth:`spans` lists them), as a ranged read fetches them."""
        self.buffer = buffer
        self.size = buffer.size if size is None else size
        self.pieces: dict[int, pa.Buffer] = {}
        if buffer.size < _PREFIX.size:
            raise CorruptObjectError(f"not a {FORMAT} object: {buffer.size} bytes")
        magic, length, crc = _PREFIX.unpack(buffer.slice(0, _PREFIX.size).to_pybytes())
        if magic != MAGIC:
            raise CorruptObjectError(f"not a {FORMAT} object (its first bytes are {magic!r})")
        if length > min(_MAX_HEADER, buffer.size - _PREFIX.size, self.size - _PREFIX.size):
            raise CorruptObjectError(f"the {FORMAT} object is damaged or truncated: its header runs past its end")
        self.header_size = _PREFIX.size + length
        """Where the header ends: the bytes before the first part."""
        text = buffer.slice(_PREFIX.size, length)
        if crc32(text) != crc:
            raise CorruptObjectError(f"the {FORMAT} object is damaged: its header fails its CRC-32")
        try:
            header = json.loads(text.to_pybytes())
            if header.get("format") != FORMAT:
                raise ValueError(f"format {header.get('format')!r}")
            if header.get("version") != FORMAT_VERSION:
                raise CorruptObjectError(
                    f"{FORMAT} version {header.get('version')!r} is not supported (this tickstore reads version "
                    f"{FORMAT_VERSION}); upgrade tickstore"
                )
            self.schema = _schema(header["schema"])
            self.rows = int(header["rows"])
            self.chunks: list[dict[str, Any]] = list(header["chunks"])
            if sum(int(c["rows"]) for c in self.chunks) != self.rows or not self.chunks:
                raise ValueError("the chunks' rows do not add up")
            for chunk in self.chunks:
                if len(chunk["parts"]) != len(self.schema):
                    raise ValueError("a chunk lacks parts")
        except CorruptObjectError:
            raise
        except (ValueError, KeyError, TypeError, AttributeError, pa.ArrowException) as exc:
            raise CorruptObjectError(f"the {FORMAT} object's header cannot be read: {exc}") from exc
        if not self.schema.names or not pa.types.is_timestamp(self.schema.field(0).type):
            raise CorruptObjectError(f"the {FORMAT} object's first column is not a timestamp")

    def read(
        self,
        timestamp_column: str,
        columns: Sequence[str] | None = None,
        start_ns: int | None = None,
        end_ns: int | None = None,
    ) -> pa.Table:
        """The canonical table: the timestamp column, then ``columns`` (all when None).

        Only chunks with ticks in ``[start_ns, end_ns]`` are decoded (the caller still trims the
        rows at the edges), and of each only the wanted columns.
        """
        wanted, chunks = self._plan(timestamp_column, columns, start_ns, end_ns)
        if not chunks:
            return self._empty(timestamp_column, wanted)
        table = self._table(timestamp_column, wanted, [self._decoded(chunk, wanted) for chunk in chunks])
        self._give_back(chunks)
        return table

    def iter_read(
        self,
        timestamp_column: str,
        columns: Sequence[str] | None = None,
        start_ns: int | None = None,
        end_ns: int | None = None,
        skip: int = 0,
        *,
        reverse: bool = False,
        ahead: int = 0,
        pool: Executor | None = None,
        direct: DirectColumns | None = None,
    ) -> Iterator[pa.Table | PendingChunk]:
        """:meth:`read`'s table one chunk at a time, each decoded only when asked for, after the first
        ``skip`` chunks (what a reader already has). An object without ticks in range gives one empty table.

        ``reverse`` gives the chunks last first (a reader filling its result from the end). With a
        ``pool``, up to ``ahead`` chunks are decoded ahead on it (:func:`tickstore_core.ahead.in_order`).
        The columns named in ``direct`` (when set) are left compressed: such a chunk is a
        :class:`~tickstore_core.encoding.direct.PendingChunk`, whose parts are checked already.
        """
        wanted, chunks = self._plan(timestamp_column, columns, start_ns, end_ns)
        if not chunks:
            if not skip:
                yield self._empty(timestamp_column, wanted)
            return
        ordered = chunks[::-1] if reverse else chunks

        def decoded(chunk: dict[str, Any]) -> pa.Table | PendingChunk:
            names = self.schema.names
            pending = [i for i in wanted[1:] if names[i] in direct.names] if direct is not None else []
            times = direct is not None and direct.times and self._times_pending(chunk, start_ns, end_ns)
            if not pending and not times:
                table = self._table(timestamp_column, wanted, [self._decoded(chunk, wanted)])
                self._give_back([chunk])
                return table
            rest = [i for i in wanted if i not in pending]
            if times:
                table = self._untimed(chunk, rest[1:])
            else:
                table = self._table(timestamp_column, rest, [self._decoded(chunk, rest)])
            fills = {names[i]: self._pending(chunk, i) for i in pending}
            give_back: list[Callable[[], None]] = [functools.partial(self._give_back, [chunk])]
            return PendingChunk(table, fills, give_back, times=[self._pending(chunk, 0)] if times else [])

        yield from in_order(ordered[skip:], decoded, pool, ahead)

    def _give_back(self, chunks: list[dict[str, Any]]) -> None:
        """The pages of these decoded chunks' parts, if the object lies in a mapped file
        (:func:`tickstore_core.mapped.give_back`): the decoded arrays hold what they need."""
        parts = [part for chunk in chunks for part in chunk["parts"]]
        first, last = min(int(p[0]) for p in parts), max(int(p[0]) + int(p[1]) for p in parts)
        if 0 <= first < last <= self.buffer.size:
            give_back(self.buffer, first, last - first)

    def _decoded(self, chunk: dict[str, Any], wanted: list[int]) -> list[pa.Array]:
        """The wanted columns of one chunk, each part checked."""
        rows = int(chunk["rows"])
        arrays = []
        for i in wanted:
            array = self._part(chunk["parts"][i], self.schema.field(i))
            if len(array) != rows:
                raise CorruptObjectError(
                    f"a part of column {self.schema.names[i]!r} holds {len(array)} rows, expected {rows}"
                )
            arrays.append(array)
        counter.rows += rows
        return arrays

    def _times_pending(self, chunk: dict[str, Any], start_ns: int | None, end_ns: int | None) -> bool:
        """Whether ``chunk``'s timestamps can be left compressed: nanoseconds, and every one of them
        inside the read's bounds (a chunk cut by them is trimmed by its times)."""
        kind = self.schema.field(0).type
        if not pa.types.is_timestamp(kind) or kind.unit != "ns" or "min" not in chunk:
            return False
        return (start_ns is None or int(chunk["min"]) >= start_ns) and (end_ns is None or int(chunk["max"]) <= end_ns)

    def _untimed(self, chunk: dict[str, Any], wanted: list[int]) -> pa.Table:
        """The wanted columns (no timestamp) of one chunk as a table of the chunk's rows."""
        arrays = self._decoded(chunk, wanted)
        if not arrays:  # a table of no column still has rows (and the object's pandas metadata)
            rows = pa.schema([pa.field("rows", pa.null())], metadata=self.schema.metadata)
            return pa.Table.from_arrays([pa.nulls(int(chunk["rows"]))], schema=rows).select([])
        schema = pa.schema([self.schema.field(i) for i in wanted], metadata=self.schema.metadata)
        return pa.Table.from_arrays(arrays, schema=schema)

    def _fields(self, timestamp_column: str, wanted: list[int]) -> list[pa.Field]:
        """The fields of the wanted columns in a read's table: the timestamp named, in UTC nanoseconds."""
        fields = [self.schema.field(i) for i in wanted]
        first = fields[0]
        fields[0] = pa.field(timestamp_column, pa.timestamp("ns", tz="UTC"), nullable=first.nullable)
        return fields

    def _empty(self, timestamp_column: str, wanted: list[int]) -> pa.Table:
        """A read without ticks: the wanted columns' types and the pandas metadata, no part decoded."""
        return pa.schema(self._fields(timestamp_column, wanted), metadata=self.schema.metadata).empty_table()

    def _table(self, timestamp_column: str, wanted: list[int], chunks: list[list[pa.Array]]) -> pa.Table:
        """The decoded chunks (each a list of the wanted columns' arrays) as one table, the timestamp named."""
        fields = self._fields(timestamp_column, wanted)
        columns = []
        for slot, field in enumerate(fields):
            parts = [arrays[slot] for arrays in chunks]
            if slot == 0:
                parts = [a if a.type == field.type else a.cast(field.type) for a in parts]
            columns.append(pa.chunked_array(parts, type=field.type))
        return pa.Table.from_arrays(columns, schema=pa.schema(fields, metadata=self.schema.metadata))

    def spans(
        self,
        timestamp_column: str,
        columns: Sequence[str] | None = None,
        start_ns: int | None = None,
        end_ns: int | None = None,
    ) -> list[tuple[int, int]]:
        """The ``(offset, length)`` of every part :meth:`read` with these arguments decodes, by offset."""
        wanted, chunks = self._plan(timestamp_column, columns, start_ns, end_ns)
        found = {(int(c["parts"][i][0]), int(c["parts"][i][1])) for c in chunks for i in wanted}
        return sorted(found)

    def _plan(
        self, timestamp_column: str, columns: Sequence[str] | None, start_ns: int | None, end_ns: int | None
    ) -> tuple[list[int], list[dict[str, Any]]]:
        """The columns (by position) and chunks a read decodes (none: it returns no rows)."""
        names = self.schema.names
        if timestamp_column in names[1:]:
            raise CorruptObjectError(f"the object's data column {timestamp_column!r} clashes with the timestamp column")
        wanted = [0] if columns is not None else list(range(len(names)))
        if columns is not None:
            wanted += [names.index(c) for c in dict.fromkeys(columns) if c in names[1:]]
        return wanted, [c for c in self.chunks if _overlaps(c, start_ns, end_ns)]

    def _body(self, where: Sequence[Any], field: pa.Field) -> pa.Buffer:
        """A part's bytes (from :attr:`pieces` or the buffer), checked by its CRC-32 and counted."""
        offset, length, crc = (int(x) for x in where[:3])
        body = self.pieces.get(offset)
        if body is None or body.size != length:
            if offset < 0 or length < 0 or offset + length > self.buffer.size:
                raise CorruptObjectError(
                    f"the {FORMAT} object is truncated: a part of column {field.name!r} is missing"
                )
            body = self.buffer.slice(offset, length)
        if crc32(body) != crc:
            raise CorruptObjectError(
                f"the {FORMAT} object is damaged: a part of column {field.name!r} fails its CRC-32"
            )
        counter.parts += 1
        counter.bytes += length
        return body

    def _part(self, where: Sequence[Any], field: pa.Field, body: pa.Buffer | None = None) -> pa.Array:
        transform = str(where[3]) if len(where) > 3 else None
        body = self._body(where, field) if body is None else body
        try:
            table = pa.ipc.open_stream(body, options=_READ_OPTIONS, memory_pool=decoding_pool()).read_all()
        except (pa.ArrowException, OSError) as exc:
            raise CorruptObjectError(f"a part of column {field.name!r} cannot be decoded: {exc}") from exc
        if table.num_columns != 1 or (transform is None and table.schema.field(0).type != field.type):
            raise CorruptObjectError(f"a part of column {field.name!r} does not hold its type {field.type}")
        column = table.column(0)
        return _restored(column.chunk(0) if column.num_chunks == 1 else column.combine_chunks(), transform, field.type)

    def _pending(self, chunk: dict[str, Any], index: int) -> Fill:
        """How column ``index`` of ``chunk``, checked now, is decoded later straight into a reader's array."""
        where, field = chunk["parts"][index], self.schema.field(index)
        body, rows = self._body(where, field), int(chunk["rows"])
        transform = str(where[3]) if len(where) > 3 else None
        # the bytes of the stored values, as NumPy has them (nanosecond times as int64)
        own = np.dtype(np.int64) if pa.types.is_timestamp(field.type) else np.dtype(field.type.to_pandas_dtype())

        def fill(first: int, target: np.ndarray) -> pa.Array | None:
            whole = first == 0 and len(target) == rows and target.dtype == own
            if whole and transform in (None, "delta") and decode_into(body, target):
                if transform == "delta":
                    np.add.accumulate(target, out=target)
                return None
            array = self._part(where, field, body)  # missing values, or the rows at a select's edge
            if len(array) != rows:
                raise CorruptObjectError(f"a part of column {field.name!r} holds {len(array)} rows, expected {rows}")
            return array.slice(first, len(target))

        return fill


@functools.lru_cache(maxsize=256)
def _schema(text: str) -> pa.Schema:
    """A header's schema (base64 of its IPC message), parsed once per process: a symbol's days share it,
    and parsing took half the time of reading a small object's header."""
    return pa.ipc.read_schema(pa.py_buffer(base64.b64decode(text, validate=True)))


def header_end(prefix: bytes) -> int:
    """Where the header of an object starting with ``prefix`` (its first 16 bytes at least) ends: the
    bytes a ranged read needs before it knows where the parts are. 0 if ``prefix`` is not this format's."""
    if len(prefix) < _PREFIX.size:
        return 0
    magic, length, _ = _PREFIX.unpack(prefix[: _PREFIX.size])
    return _PREFIX.size + length if magic == MAGIC and length <= _MAX_HEADER else 0


def _overlaps(chunk: dict[str, Any], start_ns: int | None, end_ns: int | None) -> bool:
    if "min" not in chunk:  # an empty object's one chunk
        return False
    return (start_ns is None or int(chunk["max"]) >= start_ns) and (end_ns is None or int(chunk["min"]) <= end_ns)
