"""Parquet encoding of one partition version (the object stores), and serenity's pandas Parquet objects.

Parquet with zstd: compact, fast to decode, readable by any Arrow tool; the canonical table is
written as it is. serenity's Azure store holds Parquet too, written by ``pyarrow.Table.from_pandas``
from a DataFrame indexed by time: :func:`decode_pandas_parquet` reads those.
"""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import CorruptObjectError

__all__ = ["ParquetCodec", "decode_pandas_parquet"]


class ParquetCodec:
    """Parquet with zstd: compact, fast to decode, readable by any Arrow tool."""

    name = "parquet"
    suffix = "parquet"
    encoding = "parquet"

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


def decode_pandas_parquet(data: bytes, timestamp_column: str, columns: Sequence[str] | None) -> pa.Table:
    """A pandas DataFrame stored as Parquet (serenity's Azure objects) as the canonical table."""
    from ._columns import project
    from .legacy_hdf5 import legacy_table

    try:
        frame = pq.read_table(pa.BufferReader(data), use_threads=False).to_pandas()
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise CorruptObjectError(f"not a readable Parquet file: {exc}") from exc
    return project(legacy_table(frame, timestamp_column), columns)
