"""A select's days copied into the result's columns chunk by chunk as they are decoded, not converted at the end.

Before this, a select decoded every day into Arrow and then converted the lot to pandas: the Arrow
tables and the frame existed at once, and the conversion ran on one thread after the reads. Here
the frame's numeric columns (and the time index) are allocated once, and each worker decodes its
day one chunk of rows at a time (`Engine.iter_pending`) into its place and drops it before decoding
the next: a numeric part is decompressed straight into the column's rows where it can be
(`tickstore_core.encoding.direct`), else decoded by Arrow and copied. Memory then peaks near the
frame plus a chunk per worker (and the first day, below), and the copying runs on the workers, in
parallel. Columns of other kinds
(strings, categoricals, booleans, nullable-integer dtypes) keep their Arrow data and are converted
at the end, as before.

A day's place is known before it is read: every version records its rows, and only the first and
the last day of a select can be cut by its bounds. The first day is placed against the end of its
share (it is read last chunk first, so each chunk's place is known when it arrives) and the others
against the start of theirs, so the days read are contiguous and the result is a view of the
arrays (the unused rows of the two edge shares are never touched, so never resident). Used when
no filter drops rows and the days' versions record the same columns and types; other selects
convert as before (:func:`tickstore_core.frames.frame_from_tables`).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from .encoding.direct import PendingChunk, available
from .errors import CorruptObjectError
from .frames import column_frame
from .schema import nullable_integers
from .versions import Version

__all__ = ["MIN_ROWS", "Assembly"]

MIN_ROWS = 0
"""Selects of fewer rows (by the index) are converted at the end instead; none by default, as the two
ways cost the same on small selects (the tests raise it to compare them)."""


class Assembly:
    """The preallocated result of one select of ``versions`` (one per day, in order).

    ``sample`` is a table of the first day (its first chunk): its pandas metadata decides which
    columns are copied in place and as which dtype, as a conversion at the end would decide it.
    """

    def __init__(self, versions: Sequence[Version], sample: pa.Table, timestamp_column: str, tz: str) -> None:
        self.timestamp_column, self.tz = timestamp_column, tz
        sizes = [int(v.rows or 0) for v in versions]
        self._sizes = sizes
        self._starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64).tolist()
        self._first_cut = self.first_reversed(versions)  # the first day goes against the end of its share
        self._times = np.empty(sum(sizes), dtype=np.int64)
        self._schema: pa.Schema = sample.schema
        self._numbers = self._plan(sample)
        self._nulls: dict[str, list[tuple[int, np.ndarray]]] = {}  # integer columns' missing values, by place
        self._nullable: dict[str, str] = {}  # columns another day's metadata makes nullable (Int64, boolean...)
        self._kept: list[list[pa.Table]] = [[] for _ in versions]
        self._rows = [0] * len(versions)
        self._lock = threading.Lock()
        self._discarded = False

    @staticmethod
    def applies(versions: Sequence[Version], *, filtered: bool) -> bool:
        """Whether a select of ``versions`` is assembled in place (see the module's docstring)."""
        if filtered or not versions or any(not v.stats_known or v.rows is None for v in versions):
            return False
        signatures = {(v.columns, v.types) for v in versions}
        alike = len(signatures) == 1 and None not in next(iter(signatures))
        return alike and sum(v.rows or 0 for v in versions) >= MIN_ROWS

    @staticmethod
    def first_reversed(versions: Sequence[Version]) -> bool:
        """Whether the first day's chunks are given to :meth:`place` last first: when other days follow it."""
        return len(versions) > 1

    def direct_columns(self) -> frozenset[str]:
        """The columns whose parts can be decompressed straight into their place (`PendingChunk`)."""
        return frozenset(self._numbers) if available() else frozenset()

    def place(self, day: int, chunks: Iterable[pa.Table | PendingChunk]) -> None:
        """Copy day number ``day``'s ticks (canonical tables, trimmed to the select), chunk by chunk, into
        their place; each chunk can be dropped once this has taken the next. The chunks come in time
        order, but the first day's last first when `first_reversed`: it ends where the next day starts."""
        size, at = self._sizes[day], self._starts[day]
        backwards = day == 0 and self._first_cut
        rows = 0
        for chunk in chunks:
            if self._discarded:
                return  # the select was given up on
            count = (chunk.table if isinstance(chunk, PendingChunk) else chunk).num_rows
            if rows + count > size:
                raise CorruptObjectError(f"a day of the select holds more ticks than the {size} its index records")
            self._place(at + size - rows - count if backwards else at + rows, chunk, day)
            rows += count
        if backwards:
            self._kept[day].reverse()  # the columns converted at the end, in time order
        if 0 < day < len(self._sizes) - 1 and rows != size:
            raise CorruptObjectError(f"a day of the select holds {rows} ticks where its index records {size}")
        self._rows[day] = rows

    def _place(self, at: int, chunk: pa.Table | PendingChunk, day: int) -> None:
        table = chunk.table if isinstance(chunk, PendingChunk) else chunk
        rows = table.num_rows
        metadata = table.schema.metadata
        if metadata is not self._schema.metadata and metadata != self._schema.metadata:
            nullable = nullable_integers(self._schema.metadata, [metadata])
            with self._lock:
                self._nullable.update(nullable)
        kept = []  # only these columns: the chunk's times (8 bytes a row) are copied, not held to the end
        pending = chunk.fills if isinstance(chunk, PendingChunk) else {}
        untimed = isinstance(chunk, PendingChunk) and bool(chunk.times)  # the times are pending too
        try:
            if untimed:
                times = chunk.fill_times(self._times[at : at + rows])
                if times is not None:
                    _copy(pa.chunked_array([times]), self._times[at : at + rows])
            else:
                _copy(table.column(0), self._times[at : at + rows])
            for name in [*table.column_names[0 if untimed else 1 :], *pending]:
                target = self._numbers.get(name)
                if target is None:
                    kept.append(name)
                    continue
                values = chunk.fill(name, target[at : at + rows]) if name in pending else table.column(name)
                if isinstance(values, pa.Array):  # a part that could not be decompressed in place
                    values = pa.chunked_array([values])
                missing = None if values is None else _copy(values, target[at : at + rows])
                if missing is not None:
                    with self._lock:
                        self._nulls.setdefault(name, []).append((at, missing))
        finally:
            if isinstance(chunk, PendingChunk):
                chunk.release()
        if kept:
            self._kept[day].append(table.select(kept))

    def _plan(self, table: pa.Table) -> dict[str, np.ndarray]:
        """The arrays of the columns copied in place: those whose pandas dtype (by ``table``'s pandas
        metadata) is a plain NumPy integer or float."""
        recorded = _numpy_types(table.schema.metadata)
        numbers = {}
        for i, field in enumerate(table.schema):
            if i == 0 or not (pa.types.is_integer(field.type) or pa.types.is_floating(field.type)):
                continue
            own = np.dtype(field.type.to_pandas_dtype())
            if recorded.get(field.name, own.name) == own.name:  # as the metadata says, or what pandas makes
                dtype: Any = own
            else:  # another dtype (nullable, categorical...): as pandas' own conversion decides
                empty = [pa.table([table.column(i).slice(0, 0)], schema=pa.schema([field], table.schema.metadata))]
                dtype = column_frame(empty).dtypes.iloc[0]
            if isinstance(dtype, np.dtype) and dtype.kind in "iuf":
                numbers[field.name] = np.empty(len(self._times), dtype=dtype)
        return numbers

    def discard(self) -> None:
        """Let go of the columns of a select given up on (an error, Ctrl-C): a notebook keeps the last
        traceback, and with it this object, until the next error."""
        self._discarded = True
        self._times = np.empty(0, dtype=np.int64)
        self._numbers = {name: np.empty(0, dtype=values.dtype) for name, values in self._numbers.items()}
        self._nulls, self._kept = {}, [[] for _ in self._kept]

    def frame(self) -> pd.DataFrame:
        """The result: a view of the arrays over the days read, with the kept columns converted."""
        first = self._starts[0] + (self._sizes[0] - self._rows[0] if self._first_cut else 0)
        last = self._starts[-1] + self._rows[-1] if len(self._sizes) > 1 else first + self._rows[0]
        window = slice(first, last)
        index = pd.DatetimeIndex(
            self._times[window], dtype=pd.DatetimeTZDtype(tz="UTC"), name=self.timestamp_column, copy=False
        )
        if self.tz != "UTC":
            index = index.tz_convert(self.tz)
        kept = self._kept_columns()
        data: dict[str, Any] = {}
        for field in self._schema:
            name = field.name
            if name == self.timestamp_column:
                continue
            if name in self._numbers:
                as_pandas = self._nullable_array if name in self._nullable else self._with_nulls
                data[name] = as_pandas(name, self._numbers[name])[window]
            else:
                data[name] = kept.pop(name)
        frame: pd.DataFrame = pd.DataFrame(data, index=index, copy=False)
        return frame

    def _kept_columns(self) -> dict[str, Any]:
        """The columns not copied in place, converted (as `frame_from_tables` does) from the days' Arrow."""
        tables = [t for day in self._kept for t in day]
        self._kept = []
        if not tables:
            return {}
        names, metadata = tables[0].column_names, self._schema.metadata
        converted = {}
        for name in names:
            field = self._schema.field(name)
            column = pa.chunked_array([c for t in tables for c in t.column(name).chunks], type=field.type)
            tables = [t.drop_columns([name]) for t in tables]
            holder = [pa.Table.from_arrays([column], schema=pa.schema([field], metadata=metadata))]
            del column
            converted[name] = column_frame(holder, gap=name in self._nullable)[name].array  # boolean
        return converted

    def _nullable_array(self, name: str, values: np.ndarray) -> Any:
        """An integer column another day stored as pandas' nullable integers: that type, its values exact."""
        missing = np.zeros(len(values), dtype=bool)
        for at, mask in self._nulls.get(name, ()):
            missing[at : at + len(mask)] = mask
        return pd.arrays.IntegerArray(values, missing)

    def _with_nulls(self, name: str, values: np.ndarray) -> np.ndarray:
        """An integer column with missing values becomes float64 with NaN there, as pandas converts it."""
        nulls = self._nulls.get(name)
        if not nulls:
            return values
        floats = values.astype(np.float64)
        for at, missing in nulls:
            floats[at : at + len(missing)][missing] = np.nan
        return floats


def _numpy_types(metadata: dict[bytes, bytes] | None) -> dict[str, str]:
    """Each column's ``numpy_type`` in pyarrow's pandas metadata (``"float64"``, ``"Int64"``...), by field name."""
    try:
        columns = json.loads((metadata or {})[b"pandas"])["columns"]
        return {str(c["field_name"]): str(c["numpy_type"]) for c in columns}
    except (KeyError, ValueError, TypeError):
        return {}


def _copy(column: pa.ChunkedArray, target: np.ndarray) -> np.ndarray | None:
    """Copy ``column`` into ``target``; the mask of its missing values if it has any (stored as 0), else None."""
    at, missing = 0, None
    for chunk in column.chunks:
        n = len(chunk)
        if chunk.null_count and target.dtype.kind != "f":  # floats take NaN, as pandas converts them
            if missing is None:
                missing = np.zeros(len(target), dtype=bool)
            missing[at : at + n] = np.asarray(chunk.is_null().to_numpy(zero_copy_only=False))
            chunk = chunk.fill_null(0)
        if pa.types.is_timestamp(chunk.type):
            chunk = chunk.view(pa.int64())
        target[at : at + n] = chunk.to_numpy(zero_copy_only=False)
        at += n
    return missing
