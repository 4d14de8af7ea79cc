"""Encodings of one partition version: Parquet (object stores) and HDF5 (the local store).

A codec turns the canonical Arrow table (timestamp column first, see :mod:`tickstore_core.frames`)
into the bytes of one immutable object and back, reading only the requested columns.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import ConfigError, CorruptObjectError

__all__ = ["Codec", "codec_for", "decode_by_content"]


class Codec(Protocol):
    name: str
    suffix: str

    def encode(self, table: pa.Table) -> bytes: ...

    def decode(self, data: bytes, *, timestamp_column: str, columns: Sequence[str] | None) -> pa.Table: ...

    def wrote(self, data: bytes) -> bool:
        """Whether ``data`` has the shape this codec writes (gc's proof that tickstore made an object)."""
        ...


class ParquetCodec:
    """Parquet with zstd: compact, fast to decode, readable by any Arrow tool."""

    name = "parquet"
    suffix = "parquet"

    def encode(self, table: pa.Table) -> bytes:
        sink = pa.BufferOutputStream()
        pq.write_table(table, sink, compression="zstd", compression_level=3)
        return bytes(sink.getvalue())

    def decode(self, data: bytes, *, timestamp_column: str, columns: Sequence[str] | None) -> pa.Table:
        try:
            source = pq.ParquetFile(pa.BufferReader(data))
            names = source.schema_arrow.names
            if not names or names[0] != timestamp_column:
                raise CorruptObjectError(f"expected the timestamp column {timestamp_column!r} first, found {names[:1]}")
            wanted = None if columns is None else [timestamp_column, *(c for c in columns if c in names)]
            return source.read(columns=wanted, use_threads=False)
        except (pa.ArrowException, OSError) as exc:
            raise CorruptObjectError(f"not a readable Parquet file: {exc}") from exc

    def wrote(self, data: bytes) -> bool:
        """A Parquet file: its magic at both ends."""
        return len(data) >= 8 and data[:4] == data[-4:] == b"PAR1"


class HDF5Codec:
    """HDF5 via PyTables, for the local HDF5/RAID store; see :mod:`tickstore_core.encoding.hdf5`."""

    name = "hdf5"
    suffix = "h5"

    def __init__(self, allow_pickle: bool = False) -> None:
        self.allow_pickle = allow_pickle

    def encode(self, table: pa.Table) -> bytes:
        from .hdf5 import encode_hdf5

        return encode_hdf5(table)

    def decode(self, data: bytes, *, timestamp_column: str, columns: Sequence[str] | None) -> pa.Table:
        from .hdf5 import decode_hdf5

        return decode_hdf5(data, timestamp_column=timestamp_column, columns=columns, allow_pickle=self.allow_pickle)

    def wrote(self, data: bytes) -> bool:
        """A file with tickstore's integrity line in its user block; the original store's files have none."""
        from .hdf5 import FORMAT

        return data.startswith(f"{FORMAT} ".encode("ascii"))


def codec_for(encoding: str, *, allow_pickle: bool = False) -> Codec:
    """The codec a backend asks for by name."""
    if encoding == "parquet":
        return ParquetCodec()
    if encoding == "hdf5":
        return HDF5Codec(allow_pickle=allow_pickle)
    raise ConfigError(f"unknown encoding {encoding!r}; backends may use: parquet, hdf5")


def decode_by_content(
    data: bytes, *, timestamp_column: str, columns: Sequence[str] | None, allow_pickle: bool = False
) -> pa.Table:
    """Decode an object of a serenity store by what its bytes are, not by the backend's encoding.

    serenity's local store holds pandas HDF5 files; its Azure store holds Parquet (written by
    ``pyarrow.Table.from_pandas``) under the same ``.h5`` names. Either becomes the canonical
    table: the DataFrame's DatetimeIndex is the timestamp column (naive times are UTC), sorted.
    """
    if data[:4] == b"PAR1":
        return _decode_pandas_parquet(data, timestamp_column, columns)
    if data[:8] == b"\x89HDF\r\n\x1a\n" or data[:15] == b"tickstore-hdf5 ":
        from .hdf5 import decode_hdf5

        return decode_hdf5(data, timestamp_column=timestamp_column, columns=columns, allow_pickle=allow_pickle)
    raise CorruptObjectError("neither an HDF5 nor a Parquet file")


def _decode_pandas_parquet(data: bytes, timestamp_column: str, columns: Sequence[str] | None) -> pa.Table:
    from .hdf5 import _legacy_table, _project

    try:
        frame = pq.read_table(pa.BufferReader(data), use_threads=False).to_pandas()
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise CorruptObjectError(f"not a readable Parquet file: {exc}") from exc
    return _project(_legacy_table(frame, timestamp_column), columns)
