"""HDF5 encoding of one partition version, and reading the original store's files.

Format ``tickstore-hdf5`` version 2 (tickstore 0.2 writes it) is an HDF5 file whose one dataset
``/arrow`` (uint8, contiguous, unfiltered) holds a ``tickstore-arrow`` object
(:mod:`tickstore_core.encoding.arrow`) byte for byte; its ``tickstore`` attribute names the format.
The integrity line in the user block (below) adds ``payload=OFFSET+LENGTH``: where the object's
bytes lie in the file, so the store memory-maps the file and decodes the object without HDF5 (the
object checks each part it reads by CRC-32). The file still opens with plain PyTables or h5py.

Format ``tickstore-hdf5`` version 1 (tickstore 0.1; still read) is an HDF5 file with one PyTables
``Table`` node ``/ticks``, one row per tick, compressed with blosc (lz4, byte shuffle) plus HDF5's
fletcher32 checksums. Each column is stored in a table field named like it when the name is a plain
identifier, otherwise ``_col_{i}``:

- bool, integers, floats: the same NumPy type;
- timestamps (any unit, with or without time zone), durations, dates, times: their integer value
  (int32 or int64, in the column's own unit);
- strings: fixed-width UTF-8 bytes (``S{n}``). A ``_len_{i}`` field is added only if some value
  ends in a NUL character, which fixed-width strings would drop;
- categoricals (``dictionary<string>``): the integer codes. The categories are in the header;
- nulls in any column: a boolean ``_valid_{i}`` field, present only when the column has nulls.

The ``/ticks`` attribute ``tickstore`` holds a JSON header: format, version, row count, how each
column is stored, and the exact Arrow schema (base64 of ``Schema.serialize()``, pandas metadata
included), so decoding restores the table exactly. HDF5 caps an attribute at 64 KiB, so a longer
header continues in ``tickstore_1``, ``tickstore_2``, ...

The file starts with a 512-byte HDF5 user block, which HDF5 ignores. It holds one integrity line,
``tickstore-hdf5 1 size=N crc32=XXXXXXXX``. HDF5 does not check its own metadata, and damaged
metadata can crash it, so a damaged file is refused before HDF5 sees it. The file opens with
plain PyTables, or with h5py (plus hdf5plugin for blosc), for inspection.

Reading also accepts the original tick store's files (one pandas DataFrame per file, no integrity
line): :func:`decode_hdf5` tells them apart and reads them through
:mod:`tickstore_core.encoding.legacy_hdf5`.

Safety: PyTables unpickles attributes as it opens files and nodes, and pandas pickles object
columns. Unless ``allow_pickle=True``, decoding runs under
:func:`~tickstore_core.encoding.pickle_guard.restricted_unpickling`, checks every node first, and raises
:class:`UnsafeDataError` before reading data that would need code from the file to run (what
legacy files' object blocks may hold is in :mod:`tickstore_core.encoding.legacy_hdf5`). PyTables
is not thread-safe, so all its calls here hold one lock.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import keyword
import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa

from ..errors import CorruptObjectError, InvalidTicksError, TickstoreError, UnsafeDataError
from ..integrity import crc32
from ._columns import project
from ._pytables import TABLES_LOCK, image_name
from .arrow import FORMAT as ARROW_FORMAT
from .arrow import ArrowObject, encode_arrow
from .legacy_hdf5 import check_plain_objects, legacy_table, pandas_key, read_pandas
from .pickle_guard import OBJECT_ARRAY_GLOBALS, left_pickled, restricted_unpickling, unsafe_error

__all__ = ["FORMAT", "FORMAT_VERSION", "HDF5Codec", "decode_hdf5", "encode_hdf5", "encode_hdf5_v1", "payload_span"]

FORMAT = "tickstore-hdf5"
FORMAT_VERSION = 2  # written; version 1 (tickstore 0.1) is still read
NODE = "ticks"
PAYLOAD_NODE = "arrow"
HEADER_ATTR = "tickstore"
# Measured on 490k synthetic trades (time, price, size, side, trade_id; 17.6 MB of rows): lz4 with
# byte shuffle gave 7.3 MB, 63 ms to encode, 44 ms to decode; zstd level 3 gave 6.5 MB but took
# 316 ms and 70 ms, lz4 with bitshuffle 6.2 MB but decoded in 69 ms. Reads dominate, so lz4.
COMPLIB = "blosc:lz4"
COMPLEVEL = 5
BITSHUFFLE = False
CHUNK_BYTES = 1 << 20
_SKELETON_MAX_PAYLOAD = 64 * 1024  # appends' small objects reuse a cached file layout (_skeleton)
USER_BLOCK = 512  # HDF5 leaves the file's first bytes to the application: the integrity line
_ATTR_LIMIT = 60_000  # HDF5 keeps attributes below 64 KiB in the default file format
_MAX_PADDED_BYTES = 1 << 30
_SUPPORTED = (
    "bool, integers, floats, strings, categoricals of strings (dictionary<string>), "
    "timestamps (any unit, with or without time zone), durations, dates and times"
)
_PLAIN_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


class HDF5Codec:
    """HDF5 via PyTables, for the local HDF5/RAID store: :func:`encode_hdf5` and :func:`decode_hdf5`."""

    name = "hdf5"
    suffix = "h5"
    encoding = "hdf5-arrow"

    def __init__(self, allow_pickle: bool = False) -> None:
        self.allow_pickle = allow_pickle

    def encode(self, table: pa.Table) -> bytes:
        return encode_hdf5(table)

    def decode(self, data: bytes, *, timestamp_column: str, columns: Sequence[str] | None) -> pa.Table:
        return decode_hdf5(data, timestamp_column=timestamp_column, columns=columns, allow_pickle=self.allow_pickle)

    def wrote(self, data: bytes) -> bool:
        """A file with tickstore's integrity line in its user block; the original store's files have none."""
        return data.startswith(f"{FORMAT} ".encode("ascii"))


# --- encoding ------------------------------------------------------------------------------------


def encode_hdf5(table: pa.Table) -> bytes:
    """Encode a canonical table as a version 2 file: the ``tickstore-arrow`` object in ``/arrow``.

    The object is a contiguous (unfiltered) uint8 dataset, so its bytes lie in the file as they
    are; the integrity line records where (``payload=OFFSET+LENGTH``), and readers decode it from
    there (:func:`payload_span`) without HDF5. Raises :class:`InvalidTicksError` naming the column
    if a column's type cannot be stored (the same types as version 1).
    """
    for field in table.schema:
        _kind(field)
    payload = encode_arrow(table)  # LZ4, strings plain: on a local disk decoding speed beats size
    header = {"format": FORMAT, "version": FORMAT_VERSION, "rows": table.num_rows, "payload": ARROW_FORMAT}
    text = json.dumps(header, separators=(",", ":"))
    if len(payload) <= _SKELETON_MAX_PAYLOAD:
        skeleton, found = _skeleton(len(payload), text)
        image = b"".join((skeleton[:found], payload, skeleton[found + len(payload) :]))
    else:
        image = _hdf5_image(payload, text)
        found = _find(image, payload)
    body = memoryview(image)
    line = (
        f"{FORMAT} {FORMAT_VERSION} size={len(body)} crc32={crc32(body):08x} "
        f"payload={USER_BLOCK + found}+{len(payload)}\n"
    ).encode("ascii")
    return line.ljust(USER_BLOCK, b"\0") + image


def _hdf5_image(payload: bytes, header: str) -> bytes:
    """The in-memory HDF5 file holding ``payload`` as ``/arrow`` with ``header`` as its attribute.

    Node times are not tracked, so the file's bytes depend only on the payload and the header.
    """
    with TABLES_LOCK:
        import tables

        with tables.open_file(
            image_name(), "w", driver="H5FD_CORE", driver_core_backing_store=0, user_block_size=USER_BLOCK
        ) as h5:
            node = h5.create_array(
                "/", PAYLOAD_NODE, obj=np.frombuffer(payload, dtype=np.uint8), title=ARROW_FORMAT, track_times=False
            )
            node.attrs[HEADER_ATTR] = header
            h5.flush()
            return bytes(h5.get_file_image())


@functools.lru_cache(maxsize=64)
def _skeleton(length: int, header: str) -> tuple[bytes, int]:
    """The HDF5 file of any payload of ``length`` bytes with ``header``, and where the payload lies.

    HDF5 stores a contiguous dataset verbatim, and nothing else in the file depends on its bytes,
    so a small object's file is this one with its payload spliced in: byte for byte what PyTables
    writes, at a tenth of the cost (1.4 ms a file, most of a one-row append's encoding).
    """
    filler = hashlib.shake_256(b"tickstore-hdf5 skeleton").digest(length)
    image = _hdf5_image(filler, header)
    return image, _find(image, filler)


def _find(image: bytes, payload: bytes) -> int:
    """Where the payload's bytes lie in the HDF5 image (a contiguous dataset is stored verbatim)."""
    start = 0
    while (found := image.find(payload[:256], start)) >= 0:
        if image[found : found + len(payload)] == payload:
            return found
        start = found + 1
    raise InvalidTicksError("HDF5 did not store the payload contiguously; cannot write this file")  # pragma: no cover


def payload_span(data: bytes | memoryview) -> tuple[int, int] | None:
    """``(offset, length)`` of the ``tickstore-arrow`` object in a version 2 file, from its first bytes.

    None for other files (version 1, the original store's). Only the integrity line is read: the
    object checks its own parts (:mod:`tickstore_core.encoding.arrow`).
    """
    head = bytes(data[:USER_BLOCK])
    match = _LINE.fullmatch(head)
    if not match or match[4] is None:
        return None
    offset, length = int(match[4]), int(match[5])
    return (offset, length) if offset >= USER_BLOCK else None


def encode_hdf5_v1(table: pa.Table) -> bytes:
    """Encode a canonical table (timestamp column first) as a version 1 file (tickstore 0.1: one record table).

    Raises :class:`InvalidTicksError` naming the column if a column's type cannot be stored.
    """
    records, header = _to_records(table)
    text = json.dumps(header, separators=(",", ":"))
    with TABLES_LOCK:
        import tables

        filters = tables.Filters(
            complevel=COMPLEVEL, complib=COMPLIB, shuffle=not BITSHUFFLE, bitshuffle=BITSHUFFLE, fletcher32=True
        )
        with tables.open_file(
            image_name(), "w", driver="H5FD_CORE", driver_core_backing_store=0, user_block_size=USER_BLOCK
        ) as h5:
            node = h5.create_table(
                "/", NODE, obj=records, title="tickstore ticks", filters=filters, chunkshape=_chunkshape(records)
            )
            for i, start in enumerate(range(0, len(text), _ATTR_LIMIT)):
                node.attrs[HEADER_ATTR if i == 0 else f"{HEADER_ATTR}_{i}"] = text[start : start + _ATTR_LIMIT]
            h5.flush()
            image = bytes(h5.get_file_image())
    return _seal(image)


def _chunkshape(records: np.ndarray) -> tuple[int]:
    """Rows per HDF5 chunk: about CHUNK_BYTES uncompressed, fewer for a small table."""
    return (max(1, min(len(records), CHUNK_BYTES // max(records.dtype.itemsize, 1))),)


def _to_records(table: pa.Table) -> tuple[np.ndarray, dict[str, Any]]:
    """The table as one NumPy record array, and the header describing how each column is stored."""
    if table.num_columns == 0 or not pa.types.is_timestamp(table.schema.field(0).type):
        raise InvalidTicksError("the table to encode must start with the timestamp column")
    if len(set(table.column_names)) != table.num_columns:
        raise InvalidTicksError(f"duplicate column names: {table.column_names}")
    table = table.unify_dictionaries().combine_chunks()
    entries: list[dict[str, Any]] = []
    main: list[tuple[str, np.ndarray]] = []
    extra: list[tuple[str, np.ndarray]] = []
    for i, field in enumerate(table.schema):
        entry, parts = _encode_column(i, field, table.column(i).chunk(0) if table.num_rows else _empty(field))
        entries.append(entry)
        main.extend(parts[:1])
        extra.extend(parts[1:])
    fields = main + extra
    records = np.empty(table.num_rows, dtype=[(name, values.dtype) for name, values in fields])
    for name, values in fields:
        records[name] = values
    header = {
        "format": FORMAT,
        "version": 1,
        "rows": table.num_rows,
        "columns": entries,
        "schema": base64.b64encode(table.schema.serialize().to_pybytes()).decode("ascii"),
    }
    return records, header


def _empty(field: pa.Field) -> pa.Array:
    return pa.array([], type=field.type)


def _kind(field: pa.Field) -> str:
    """How a column type is stored, or :class:`InvalidTicksError` if it cannot be."""
    kind = field.type
    if pa.types.is_boolean(kind) or pa.types.is_integer(kind) or pa.types.is_floating(kind):
        return "primitive"
    if pa.types.is_timestamp(kind) or pa.types.is_duration(kind) or pa.types.is_date(kind) or pa.types.is_time(kind):
        return "temporal"
    if pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_string_view(kind):
        return "string"
    if pa.types.is_dictionary(kind) and (
        pa.types.is_string(kind.value_type) or pa.types.is_large_string(kind.value_type)
    ):
        return "dictionary"
    if pa.types.is_null(kind):
        return "null"
    raise InvalidTicksError(
        f"column {field.name!r} has type {kind}, which the HDF5 store cannot keep; supported types: {_SUPPORTED}. "
        "Convert it first (for example .astype(str) or .astype(float))"
    )


def _encode_column(i: int, field: pa.Field, array: pa.Array) -> tuple[dict[str, Any], list[tuple[str, np.ndarray]]]:
    """One column's header entry and its fields: the values first, then the helper fields."""
    kind = _kind(field)
    plain = _PLAIN_NAME.fullmatch(field.name) and not keyword.iskeyword(field.name)
    name = field.name if plain else f"_col_{i}"
    entry: dict[str, Any] = {"name": field.name, "type": str(field.type), "field": None if kind == "null" else name}
    if kind == "null":
        return entry, []
    parts: list[tuple[str, np.ndarray]] = []
    if kind == "string":
        values, lengths = _strings_to_fixed(field.name, array)
        parts.append((name, values))
        if lengths is not None:
            entry["length"] = f"_len_{i}"
            parts.append((entry["length"], lengths))
    elif kind == "dictionary":
        entry["dictionary"] = array.dictionary.to_pylist()
        parts.append((name, _numbers(array.indices)))
    else:
        parts.append((name, _numbers(array)))
    if array.null_count:
        entry["valid"] = f"_valid_{i}"
        parts.append((entry["valid"], array.is_valid().to_numpy(zero_copy_only=False)))
    return entry, parts


def _numbers(array: pa.Array) -> np.ndarray:
    """A primitive or temporal array as NumPy numbers, nulls as zero (their validity is kept apart)."""
    if not (pa.types.is_boolean(array.type) or pa.types.is_integer(array.type) or pa.types.is_floating(array.type)):
        array = array.view(pa.int32() if array.type.bit_width == 32 else pa.int64())
    if array.null_count:
        array = array.fill_null(pa.scalar(False if pa.types.is_boolean(array.type) else 0, type=array.type))
    values: np.ndarray = array.to_numpy(zero_copy_only=False)
    return values


def _strings_to_fixed(name: str, array: pa.Array) -> tuple[np.ndarray, np.ndarray | None]:
    """Strings as fixed-width UTF-8 bytes; also their lengths if a value ends in NUL."""
    binary = array.cast(pa.large_string()).fill_null("").cast(pa.large_binary())
    offsets = np.frombuffer(binary.buffers()[1], dtype=np.int64)[binary.offset : binary.offset + len(binary) + 1]
    data_buffer = binary.buffers()[2]
    data = np.frombuffer(data_buffer, dtype=np.uint8) if data_buffer is not None else np.empty(0, np.uint8)
    lengths = np.diff(offsets)
    width = max(1, int(lengths.max())) if len(lengths) else 1
    if width * len(lengths) > _MAX_PADDED_BYTES:
        raise InvalidTicksError(
            f"column {name!r} holds strings of up to {width} bytes; as fixed-width HDF5 strings that would "
            f"take {width * len(lengths) / 2**30:.1f} GiB. Store long texts elsewhere"
        )
    matrix = np.zeros((len(lengths), width), dtype=np.uint8)
    matrix[np.arange(width) < lengths[:, None]] = data[offsets[0] : offsets[-1]] if len(offsets) else data[:0]
    last = matrix[np.arange(len(lengths)), np.maximum(lengths - 1, 0)]
    ends_in_nul = bool(np.any((lengths > 0) & (last == 0)))
    return matrix.view(f"S{width}").reshape(len(lengths)), lengths if ends_in_nul else None


def _seal(image: bytes) -> bytes:
    """Prefix the user block of a version 1 file: the integrity line (format, size and CRC-32 of the HDF5 data).

    PyTables' in-memory image leaves out the user block it reserved, so it is added in front.
    """
    body = memoryview(image)
    line = f"{FORMAT} 1 size={len(body)} crc32={crc32(body):08x}\n".encode("ascii")
    return line.ljust(USER_BLOCK, b"\0") + body


def _unseal(data: bytes) -> bool:
    """Check the integrity line if the file has one (files this module wrote); legacy files have none.

    HDF5 checks neither its metadata nor (without fletcher32) its data, and damaged metadata can
    crash it, so a damaged file must be refused before HDF5 sees it.
    """
    if not data.startswith(f"{FORMAT} ".encode("ascii")):
        return False
    match = _LINE.fullmatch(data[:USER_BLOCK])
    body = memoryview(data)[USER_BLOCK:]
    if not match or int(match[2]) != len(body) or int(match[3], 16) != crc32(body):
        raise CorruptObjectError(f"the file is damaged or truncated: its {FORMAT} integrity check fails")
    if int(match[1]) not in (1, FORMAT_VERSION) or (int(match[1]) == FORMAT_VERSION) != (match[4] is not None):
        raise CorruptObjectError(
            f"{FORMAT} version {int(match[1])} is not supported (this tickstore reads versions 1 and "
            f"{FORMAT_VERSION}); upgrade tickstore"
        )
    return True


_LINE = re.compile(rb"\S+ (\d+) size=(\d+) crc32=([0-9a-f]{8})(?: payload=(\d+)\+(\d+))?\n\0*")


# --- decoding ------------------------------------------------------------------------------------


def decode_hdf5(
    data: bytes,
    *,
    timestamp_column: str,
    columns: Sequence[str] | None = None,
    allow_pickle: bool = False,
) -> pa.Table:
    """Decode an HDF5 file to the canonical table: ``timestamp_column`` first, then data columns.

    ``columns`` selects and orders the data columns (all when None); names the file lacks are left
    out. Raises :class:`UnsafeDataError` if reading would unpickle anything but plain data and
    ``allow_pickle`` is False, and :class:`CorruptObjectError` for anything that is not a readable
    ticks file.
    """
    data = bytes(data)
    sealed = _unseal(data)
    span = payload_span(data) if sealed else None
    if span is not None:
        offset, length = span
        if offset + length > len(data):
            raise CorruptObjectError(f"the file is truncated: its {ARROW_FORMAT} object runs past its end")
        return ArrowObject(pa.py_buffer(data).slice(offset, length)).read(timestamp_column, columns)
    try:
        with TABLES_LOCK, restricted_unpickling(not allow_pickle, OBJECT_ARRAY_GLOBALS) as refused:
            try:
                header, records, legacy_key = _read_file(data, sealed, None if allow_pickle else refused)
                frame = read_pandas(data, legacy_key) if legacy_key is not None else None
            except Exception as exc:
                if refused and not isinstance(exc, UnsafeDataError):
                    raise unsafe_error(f"the file ({', '.join(sorted(set(refused)))})") from exc
                raise
            if refused:
                raise unsafe_error(f"the file ({', '.join(sorted(set(refused)))})")
        if frame is not None:
            if not allow_pickle:
                check_plain_objects(frame)
            table = legacy_table(frame, timestamp_column)
        else:
            table = _records_to_table(header, records, timestamp_column)
        return project(table, columns)
    except (TickstoreError, MemoryError):
        raise
    except Exception as exc:
        raise CorruptObjectError(f"not a readable tickstore HDF5 file: {type(exc).__name__}: {exc}") from exc


def _read_file(data: bytes, sealed: bool, refused: list[str] | None) -> tuple[dict[str, Any], np.ndarray, str | None]:
    """Open the image, check every node (unless ``refused`` is None: pickles allowed), then read
    ``/ticks`` or find the pandas frame."""
    import tables

    with tables.open_file(
        image_name(), "r", driver="H5FD_CORE", driver_core_image=data, driver_core_backing_store=0
    ) as h5:
        if refused is not None:
            _scan(h5, refused)
        if PAYLOAD_NODE in h5.root._v_children and not sealed:
            raise CorruptObjectError(f"the file holds /{PAYLOAD_NODE} but lost its {FORMAT} integrity line")
        node: Any = h5.root._f_get_child(NODE) if NODE in h5.root._v_children else None
        ours = isinstance(node, tables.Table) and HEADER_ATTR in node._v_attrs._v_attrnamesuser
        if ours != sealed:
            raise CorruptObjectError(f"the file's {FORMAT} integrity line and its /{NODE} table do not go together")
        if ours:
            return _header(node), node.read(), None
        return {}, np.empty(0), pandas_key(h5)


def _scan(h5: Any, refused: list[str]) -> None:
    """Load every node and its attributes under the pickle guard; refuse what needs pickle to read."""
    import tables

    pending = [h5.root]
    while pending:
        node = pending.pop()
        attrs = node._v_attrs  # builds the attribute set: reads, and maybe unpickles, every attribute
        kept = [name for name in attrs._v_attrnames if left_pickled(getattr(attrs, name, None))]
        if kept and refused:
            raise unsafe_error(f"{node._v_pathname} attribute(s) {', '.join(kept)} ({', '.join(refused)})")
        if isinstance(node, tables.Group):
            children = [node._f_get_child(name) for name in [*node._v_children, *node._v_hidden]]
            pending.extend(child for child in children if not isinstance(child, tables.link.Link))


def _header(node: Any) -> dict[str, Any]:
    names = node._v_attrs._v_attrnamesuser
    parts, i = [], 0
    while (name := HEADER_ATTR if i == 0 else f"{HEADER_ATTR}_{i}") in names:
        parts.append(str(getattr(node._v_attrs, name)))
        i += 1
    header = json.loads("".join(parts))
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise CorruptObjectError(f"/{NODE} has a {HEADER_ATTR!r} attribute but not a {FORMAT} header")
    if header.get("version") != 1:
        raise CorruptObjectError(
            f"{FORMAT} version {header.get('version')!r} in a /{NODE} table is not supported (this tickstore reads "
            "version 1 there); upgrade tickstore"
        )
    return header


def _records_to_table(header: dict[str, Any], records: np.ndarray, timestamp_column: str) -> pa.Table:
    """Rebuild the exact Arrow table from the record array and the header."""
    schema = pa.ipc.read_schema(pa.py_buffer(base64.b64decode(header["schema"], validate=True)))
    entries = header["columns"]
    if [entry["name"] for entry in entries] != schema.names or not schema.names:
        raise CorruptObjectError("the header's columns do not match its schema")
    if header["rows"] != len(records):
        raise CorruptObjectError(f"the header says {header['rows']} rows, the table has {len(records)}")
    stored = [entry[key] for entry in entries for key in ("field", "length", "valid") if entry.get(key)]
    names = records.dtype.names
    if names is None or set(stored) != set(names) or records.dtype != np.dtype([(n, records.dtype[n]) for n in names]):
        raise CorruptObjectError("the table's fields do not match the header")
    arrays = [_decode_column(entry, field, records) for entry, field in zip(entries, schema, strict=True)]
    first = schema.field(0)
    if not pa.types.is_timestamp(first.type):
        raise CorruptObjectError(f"the first column has type {first.type}, not a timestamp")
    if timestamp_column in schema.names[1:]:
        raise CorruptObjectError(
            f"the file's data column {timestamp_column!r} clashes with the store's timestamp column"
        )
    times = arrays[0].cast(pa.timestamp("ns", tz=first.type.tz))
    arrays[0] = times.view(pa.timestamp("ns", tz="UTC"))
    fields = [pa.field(timestamp_column, arrays[0].type, nullable=first.nullable), *list(schema)[1:]]
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields, metadata=schema.metadata))


def _decode_column(entry: dict[str, Any], field: pa.Field, records: np.ndarray) -> pa.Array:
    kind = _kind(field)
    if kind == "null":
        return pa.nulls(len(records))
    values = records[entry["field"]]
    valid = records[entry["valid"]] if entry.get("valid") else None
    mask = None if valid is None else ~valid
    if kind == "string":
        lengths = records[entry["length"]] if entry.get("length") else None
        return _strings_from_fixed(values, lengths, valid).cast(field.type)
    if kind == "dictionary":
        _expect(entry, values, pa.array([], type=field.type.index_type).to_numpy().dtype)
        indices = pa.array(values, mask=mask, type=field.type.index_type)
        categories = pa.array(entry["dictionary"], type=field.type.value_type)
        return pa.DictionaryArray.from_arrays(indices, categories, ordered=field.type.ordered, safe=True)
    storage = field.type if kind == "primitive" else (pa.int32() if field.type.bit_width == 32 else pa.int64())
    _expect(entry, values, pa.array([], type=storage).to_numpy(zero_copy_only=False).dtype)
    array = pa.array(values, mask=mask, type=storage)
    return array if kind == "primitive" else array.view(field.type)


def _expect(entry: dict[str, Any], values: np.ndarray, dtype: np.dtype[Any]) -> None:
    if values.dtype != dtype:
        raise CorruptObjectError(f"column {entry['name']!r} is stored as {values.dtype}, expected {dtype}")


def _strings_from_fixed(values: np.ndarray, lengths: np.ndarray | None, valid: np.ndarray | None) -> pa.Array:
    """Fixed-width UTF-8 bytes back to a string array; invalid UTF-8 means a damaged file."""
    if values.dtype.kind != "S":
        raise CorruptObjectError(f"a string column is stored as {values.dtype}")
    values, mask = np.ascontiguousarray(values), None if valid is None else ~valid
    if lengths is None:  # Arrow drops the padding, as NumPy does
        return pa.array(values, mask=mask, type=pa.large_binary()).cast(pa.large_string())
    count = len(values)
    matrix = values.view(np.uint8).reshape(count, values.dtype.itemsize)
    lengths = np.asarray(lengths, dtype=np.int64)
    if count and (lengths.min() < 0 or lengths.max() > values.dtype.itemsize):
        raise CorruptObjectError("a string column's lengths are out of range")
    offsets = np.zeros(count + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    data = matrix[np.arange(values.dtype.itemsize) < lengths[:, None]]
    bitmap = None if valid is None else pa.py_buffer(np.packbits(valid, bitorder="little"))
    nulls = 0 if valid is None else int(count - np.count_nonzero(valid))
    array = pa.Array.from_buffers(
        pa.large_string(), count, [bitmap, pa.py_buffer(offsets), pa.py_buffer(data)], null_count=nulls
    )
    array.validate(full=True)
    return array
