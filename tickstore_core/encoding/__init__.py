"""Encodings of one partition version: ``arrow`` (object stores), HDF5 (the local store), and Parquet (0.1).

A codec turns the canonical Arrow table (timestamp column first, see :mod:`tickstore_core.frames`)
into the bytes of one immutable object and back, reading only the requested columns. The formats:
:mod:`~tickstore_core.encoding.arrow` (``tickstore-arrow``: compressed Arrow IPC column chunks, read
in parts; what tickstore 0.2 writes), :mod:`~tickstore_core.encoding.parquet` (what 0.1 wrote to object
stores), :mod:`~tickstore_core.encoding.hdf5` (``tickstore-hdf5``; version 2 holds a ``tickstore-arrow`` object),
:mod:`~tickstore_core.encoding.legacy_hdf5` (the original tick store's pandas files), all read
under :mod:`~tickstore_core.encoding.pickle_guard` where HDF5 could unpickle.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import pyarrow as pa

from ..errors import ConfigError, CorruptObjectError
from .parquet import ParquetCodec, decode_pandas_parquet

__all__ = ["ARROW_ENCODINGS", "Codec", "codec_for", "decode_by_content", "write_codec"]

ARROW_ENCODINGS = ("arrow", "hdf5-arrow")
"""The encodings recorded per version (:attr:`~tickstore_core.index.Version.encoding`) whose objects are,
or hold, a ``tickstore-arrow`` object."""


class Codec(Protocol):
    name: str
    suffix: str
    encoding: str
    """What a version written by this codec records as its encoding."""

    def encode(self, table: pa.Table) -> bytes: ...

    def decode(self, data: bytes, *, timestamp_column: str, columns: Sequence[str] | None) -> pa.Table: ...

    def wrote(self, data: bytes) -> bool:
        """Whether ``data`` has the shape this codec writes (gc's proof that tickstore made an object)."""
        ...


def codec_for(encoding: str, *, allow_pickle: bool = False) -> Codec:
    """The codec a backend asks for by name."""
    if encoding == "parquet":
        return ParquetCodec()
    if encoding == "arrow":
        from .arrow import ArrowCodec

        return ArrowCodec()
    if encoding == "hdf5":
        from .hdf5 import HDF5Codec  # PyTables and NumPy load only for the HDF5 store

        return HDF5Codec(allow_pickle=allow_pickle)
    raise ConfigError(f"unknown encoding {encoding!r}; backends may use: parquet, hdf5")


def write_codec(encoding: str, *, allow_pickle: bool = False) -> Codec:
    """The codec new versions are written with, for a backend asking for ``encoding``.

    Object stores (``"parquet"``, as tickstore 0.1 wrote) get ``arrow`` objects, which still
    recognise 0.1's Parquet objects as tickstore's (:meth:`Codec.wrote`); the local store gets
    HDF5 version 2 files.
    """
    if encoding == "parquet":
        from .arrow import ArrowCodec

        return ArrowCodec(previous=ParquetCodec())
    return codec_for(encoding, allow_pickle=allow_pickle)


def decode_by_content(
    data: bytes, *, timestamp_column: str, columns: Sequence[str] | None, allow_pickle: bool = False
) -> pa.Table:
    """Decode an object of a serenity store by what its bytes are, not by the backend's encoding.

    serenity's local store holds pandas HDF5 files; its Azure store holds Parquet (written by
    ``pyarrow.Table.from_pandas``) under the same ``.h5`` names. Either becomes the canonical
    table: the DataFrame's DatetimeIndex is the timestamp column (naive times are UTC), sorted.
    """
    if data[:4] == b"PAR1":
        return decode_pandas_parquet(data, timestamp_column, columns)
    if data[:8] == b"\x89HDF\r\n\x1a\n" or data[:15] == b"tickstore-hdf5 ":
        from .hdf5 import decode_hdf5

        return decode_hdf5(data, timestamp_column=timestamp_column, columns=columns, allow_pickle=allow_pickle)
    raise CorruptObjectError("neither an HDF5 nor a Parquet file")
