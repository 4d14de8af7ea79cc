"""Between pandas and Arrow: checking ticks on the way in, building DataFrames on the way out.

Inside the core a partition is a :class:`pyarrow.Table` whose first column is the timestamp
column (``timestamp[ns, UTC]``, sorted) followed by the data columns; the schema carries the pandas
metadata so dtypes (categoricals, nullable integers, strings) survive the round trip.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import itertools
from collections.abc import Mapping, Sequence
from typing import Any, Literal, cast

import numpy as np
import pandas as pd
import pyarrow as pa

from .errors import InvalidTicksError
from .schema import NULLABLE_INTEGERS, common_type, unify_tables
from .times import NS_PER_DAY

__all__ = [
    "column_frame",
    "empty_frame",
    "frame_from_tables",
    "schema_fingerprint",
    "split_days",
    "table_to_frame",
    "ticks_to_table",
    "time_position",
    "with_gaps",
]

_EPOCH = dt.date(1970, 1, 1)


def _utc_index(ticks: pd.DataFrame) -> pd.DatetimeIndex:
    """The ticks' index as a nanosecond UTC DatetimeIndex, or a clear error."""
    index = ticks.index
    if isinstance(index, pd.MultiIndex):
        raise InvalidTicksError("ticks must have a single DatetimeIndex, not a MultiIndex; reset the extra levels")
    if not isinstance(index, pd.DatetimeIndex):
        if len(index) and index.dtype == object:
            if len({getattr(value, "tzinfo", None) is None for value in index}) > 1:
                raise InvalidTicksError(
                    "the ticks' index mixes naive and time-zone-aware timestamps, so some times are ambiguous; "
                    "tz_localize the naive ones first"
                )
            if any(isinstance(value, (int, float, np.number)) for value in index):  # bool is an int too
                raise InvalidTicksError(
                    "ticks must be indexed by timestamp; the index holds numbers, which could be seconds or "
                    "nanoseconds: convert them first, e.g. pd.to_datetime(values, unit='s', utc=True)"
                )
            try:  # e.g. timestamps with mixed UTC offsets: each one is unambiguous
                index = pd.DatetimeIndex(pd.to_datetime(index, utc=True))
            except (ValueError, TypeError) as exc:
                raise InvalidTicksError(
                    "ticks must be indexed by timestamp; the index holds values that are not timestamps"
                ) from exc
        elif len(index) == 0:
            index = pd.DatetimeIndex([], tz="UTC")
        else:
            raise InvalidTicksError(
                f"ticks must be indexed by timestamp (a DatetimeIndex), got a {type(index).__name__} "
                f"of {index.dtype}; use ticks.set_index('<time column>')"
            )
    if index.hasnans:
        raise InvalidTicksError("the ticks' index contains NaT; drop or fill those rows first")
    index = index.tz_localize("UTC") if index.tz is None else index.tz_convert("UTC")
    try:
        return cast(pd.DatetimeIndex, index.as_unit("ns"))
    except (ValueError, OverflowError) as exc:
        raise InvalidTicksError(
            f"tick timestamps must lie within {pd.Timestamp.min} .. {pd.Timestamp.max} (nanoseconds)"
        ) from exc


def _check_columns(ticks: pd.DataFrame, timestamp_column: str) -> None:
    columns = ticks.columns
    if isinstance(columns, pd.MultiIndex):
        raise InvalidTicksError("ticks must have flat column names, not a MultiIndex; join the levels first")
    names = list(columns)  # plain lists: an Index would build a hash table for each question
    not_str = [c for c in names if not isinstance(c, str)]
    if not_str:
        raise InvalidTicksError(f"column names must be strings, got {not_str[:5]!r}; rename them")
    if len(set(names)) != len(names):
        raise InvalidTicksError(f"duplicate column names: {sorted(set(columns[columns.duplicated()]))}")
    if not names and len(ticks):
        raise InvalidTicksError(
            "the ticks have no columns; a tick needs at least one data column besides its timestamp "
            "(for example price or size); an empty frame with day= records a day without ticks"
        )
    if timestamp_column in names:
        raise InvalidTicksError(
            f"column {timestamp_column!r} clashes with the store's timestamp column; the timestamps must "
            "be the index (ticks.set_index(...)) or the column renamed"
        )


def ticks_to_table(ticks: object, timestamp_column: str, *, containers: bool = False) -> pa.Table:
    """Check ``ticks`` and convert it to the canonical table, sorted stably by time; ``containers``: let
    columns of dicts, lists or sets through (a legacy file's, read as they are), else refuse them."""
    if not isinstance(ticks, pd.DataFrame):
        raise InvalidTicksError(f"ticks must be a pandas DataFrame, got {type(ticks).__name__}")
    _check_columns(ticks, timestamp_column)
    index = _utc_index(ticks)
    order = None if index.is_monotonic_increasing else np.argsort(index.asi8, kind="stable")
    data = ticks  # its index is left out of the table (preserve_index=False), so never reset: a copy
    if order is not None:
        data = data.take(order)
        index = index.take(order)
    try:
        table = _small_table(data) or pa.Table.from_pandas(data, preserve_index=False)
    except (
        pa.ArrowInvalid,
        pa.ArrowTypeError,
        pa.ArrowNotImplementedError,
        TypeError,
        ValueError,
        OverflowError,
    ) as exc:
        raise InvalidTicksError(f"{_bad_column(data)}: {exc}") from exc
    nested = [] if containers else [f.name for f in table.schema if pa.types.is_nested(f.type)]
    if nested:  # dicts read back with every key of every row, lists as arrays, sets as lists: not what was given
        raise InvalidTicksError(
            f"column {nested[0]!r} holds containers (dicts, lists or sets), which would not read back as they were "
            "given; store them as text, e.g. ticks[name].map(json.dumps)"
        )
    _refuse_coerced_mixes(data, table)
    times = pa.array(index.asi8, type=pa.timestamp("ns", tz="UTC"))
    return table.add_column(0, timestamp_column, times)


def _missing(value: object) -> bool:
    return value is None or value is pd.NaT or value is pd.NA or (isinstance(value, float) and value != value)


def _refuse_coerced_mixes(data: pd.DataFrame, table: pa.Table) -> None:
    """Refuse object columns of mixed kinds that Arrow converts without a word but changes: text with bytes
    (the text becomes bytes), dates with datetimes (the times of day are dropped), aware timestamps with
    naive ones (the naive taken as UTC), numbers among dates, times or durations (read as days or
    microseconds since 1970, or microseconds). Only columns converted to those types are looked at."""
    for (name, column), field in zip(data.items(), table.schema, strict=True):
        kind = field.type
        if column.dtype != object or not (
            pa.types.is_binary(kind) or pa.types.is_temporal(kind) or pa.types.is_duration(kind)
        ):
            continue
        values = [value for value in column if not _missing(value)]
        if pa.types.is_binary(kind):
            mixed = any(not isinstance(value, (bytes, bytearray, memoryview)) for value in values)
        elif pa.types.is_date(kind):
            mixed = any(not isinstance(value, dt.date) or isinstance(value, dt.datetime) for value in values)
        elif pa.types.is_timestamp(kind):
            mixed = not all(isinstance(value, (dt.datetime, np.datetime64)) for value in values) or (
                len({getattr(value, "tzinfo", None) is None for value in values}) > 1
            )
        else:
            mixed = not all(isinstance(value, (dt.timedelta, np.timedelta64, dt.time)) for value in values)
        if mixed:
            raise InvalidTicksError(
                f"column {name!r} mixes kinds of values that would not read back as given (text and bytes, dates "
                "and times, timestamps with and without a time zone, numbers and times); convert it to one kind, e.g. "
                f"ticks[{name!r}].astype(str) or pd.to_datetime(ticks[{name!r}], utc=True)"
            )


SMALL_FRAME_ROWS = 4096
"""Frames up to this many rows (an append's) are converted by `_small_table`."""
_SCHEMAS: dict[tuple[Any, ...], pa.Schema] = {}
_SCHEMAS_HELD = 256


def _small_table(data: pd.DataFrame) -> pa.Table | None:
    """``pa.Table.from_pandas(data, preserve_index=False)`` for a small frame, without its planning.

    For a one-row append ``from_pandas`` spends ~0.3 ms planning and writing the pandas metadata;
    the columns themselves convert in microseconds. The columns are converted as it converts them
    (``pa.array(column, from_pandas=True)``), and the schema with its metadata is the one
    ``from_pandas`` made for the same column names, dtypes and Arrow types, kept per process. Only
    dtypes whose metadata follows from those qualify (no categoricals: theirs records the
    categories); else None, and the caller uses ``from_pandas``.
    """
    if len(data) > SMALL_FRAME_ROWS:
        return None
    columns = [column for _, column in data.items()]
    dtypes = [column.dtype for column in columns]
    if not all(isinstance(dtype, _PLAIN_DTYPES) for dtype in dtypes):
        return None
    arrays = [  # pa.array takes a numpy-backed Series through pandas; its values directly, 10x quicker
        pa.array(c.to_numpy() if isinstance(t, np.dtype) else c, from_pandas=True)
        for c, t in zip(columns, dtypes, strict=True)
    ]
    key = (
        tuple(data.columns),
        str(data.columns.dtype),
        data.columns.name,
        tuple(map(str, dtypes)),
        tuple(a.type for a in arrays),
    )
    schema = _SCHEMAS.get(key)
    if schema is None:
        table = pa.Table.from_pandas(data, preserve_index=False)
        if len(_SCHEMAS) >= _SCHEMAS_HELD:
            _SCHEMAS.clear()
        _SCHEMAS[key] = table.schema
        return table
    return pa.Table.from_arrays(arrays, schema=schema)


_PLAIN_DTYPES = (np.dtype, pd.DatetimeTZDtype, pd.StringDtype)


def _bad_column(data: pd.DataFrame) -> str:
    """Name the first column Arrow cannot convert, for the error message."""
    for name in data.columns:
        try:
            pa.Table.from_pandas(data[[name]], preserve_index=False)
        except Exception:  # noqa: BLE001 - any failure identifies the column
            return (
                f"column {name!r} ({data[name].dtype}) cannot be stored; give it one type "
                "(for example .astype(str) or .astype(float))"
            )
    return "the ticks cannot be converted to Arrow"


def split_days(table: pa.Table, tz: str) -> dict[dt.date, pa.Table]:
    """Split a sorted canonical table into the days (in ``tz``) its ticks fall on.

    In UTC a day's first tick is found by binary search for its midnight, so no array as long as
    the ticks is made (a day of millions of ticks: each such array costs more in fresh pages than
    the arithmetic). Elsewhere each tick's local day is computed, as a local midnight may be
    skipped or repeated by a clock change.
    """
    if table.num_rows == 0:
        return {}
    times = table.column(0)
    if tz == "UTC":
        first, last = times[0].value // NS_PER_DAY, times[-1].value // NS_PER_DAY
        midnights = range((first + 1) * NS_PER_DAY, (last + 1) * NS_PER_DAY, NS_PER_DAY)
        bounds = [0, *(time_position(times, midnight, "left") for midnight in midnights), len(times)]
        return {
            _EPOCH + dt.timedelta(days=first + i): table.slice(start, end - start)
            for i, (start, end) in enumerate(itertools.pairwise(bounds))
            if end > start
        }
    ns = times.to_numpy().astype("datetime64[ns]").view("int64")
    day_numbers = pd.DatetimeIndex(ns, tz="UTC").tz_convert(tz).tz_localize(None).asi8 // NS_PER_DAY
    starts = np.flatnonzero(np.diff(day_numbers, prepend=day_numbers[0] - 1))
    ends = [*starts[1:], len(ns)]
    return {
        _EPOCH + dt.timedelta(days=int(day_numbers[s])): table.slice(int(s), int(e) - int(s))
        for s, e in zip(starts, ends, strict=True)
    }


def time_position(column: pa.ChunkedArray, value: int, side: Literal["left", "right"]) -> int:
    """Where ``value`` goes in the sorted time ``column`` (as `numpy.searchsorted`), searching only the
    chunk it falls in, without copying the column."""
    offset = 0
    for chunk in column.chunks:
        last = chunk[-1].value if len(chunk) else None
        if last is not None and (last >= value if side == "left" else last > value):
            return offset + int(np.searchsorted(chunk.view(pa.int64()).to_numpy(), value, side=side))
        offset += len(chunk)
    return offset


def schema_fingerprint(schema: pa.Schema) -> str:
    """A short stable hash of the column names and types (metadata ignored)."""
    text = ";".join(f"{field.name}:{field.type}" for field in schema)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def empty_frame(timestamp_column: str, tz: str, columns: Sequence[str] = ()) -> pd.DataFrame:
    """An empty result with the right index, for unknown symbols and empty ranges."""
    index = pd.DatetimeIndex([], dtype=f"datetime64[ns, {tz}]", name=timestamp_column)
    frame: pd.DataFrame = pd.DataFrame({name: pd.Series([], dtype=object) for name in columns}, index=index)
    return frame


def _read_only(values: object) -> bool:
    if isinstance(values, pd.arrays.NumpyExtensionArray):
        return not np.asarray(values).flags.writeable
    if isinstance(values, (pd.arrays.DatetimeArray, pd.arrays.TimedeltaArray)):
        return not cast(Any, values).asi8.flags.writeable  # the stubs lack asi8
    return False


_NULLABLE_OF: dict[pa.DataType, Any] = {
    **{pa.type_for_alias(numpy): pd.api.types.pandas_dtype(nullable) for numpy, nullable in NULLABLE_INTEGERS.items()},
    pa.bool_(): pd.BooleanDtype(),
}
"""pandas' nullable dtype of each Arrow integer and boolean type: what such a column with missing values
reads as (a day without the column, or where it was all missing), exact, as pandas' concat of a
nullable day gives it; NumPy's would be float64 (ids beyond 2**53 rounded) or object."""


def with_gaps(days: Sequence[Sequence[tuple[str, pa.DataType | None]]]) -> dict[str, Any]:
    """The integer and bool columns that some of ``days`` (each its columns' names and Arrow types; a type
    None or ``null``: all missing) lacks, with pandas' nullable dtype (``Int64``, ``boolean``): what they
    read as, exactly, whatever rows a select keeps (a filter may keep none of a day's), as `to_dask`
    decides them before reading. NumPy's dtypes would be float64 (ids beyond 2**53 rounded) or object."""
    held = [dict(day) for day in days]
    found: dict[str, Any] = {}
    for name in {name for day in held for name in day}:
        kinds = [day.get(name) for day in held]
        present = [kind for kind in kinds if kind is not None and not pa.types.is_null(kind)]
        dtype = _NULLABLE_OF.get(present[0]) if present and len(present) < len(kinds) else None
        if dtype is not None and all(_NULLABLE_OF.get(kind) is not None for kind in present):
            widest = functools.reduce(_wider, present)
            found[name] = _NULLABLE_OF.get(widest, dtype)
    return found


def _wider(first: pa.DataType, other: pa.DataType) -> pa.DataType:
    common = common_type(first, other)
    return common if common is not None else first


def column_frame(holder: list[pa.Table], *, gap: bool = False) -> pd.DataFrame:
    """The one-column table in ``holder`` (taken out of it) as a one-column DataFrame, its dtype as the
    table's pandas metadata says (``gap``: an integer or bool column some day lacks, as pandas' nullable
    dtype). Passed in a list the callee empties, so that once this holds the only reference, the
    column's Arrow memory is returned as it is converted."""
    one = holder.pop()
    kind = one.schema.field(0).type
    nullable = _NULLABLE_OF.get(kind) if gap else None
    part: pd.DataFrame = one.to_pandas(self_destruct=True, split_blocks=True, types_mapper={kind: nullable}.get)
    del one
    name = part.columns[0]
    if _read_only(part[name].array):  # a zero-copy view of read-only Arrow memory: give the user their own
        part[name] = part[name].copy()
    pa.default_memory_pool().release_unused()
    return part


def table_to_frame(table: pa.Table, timestamp_column: str, tz: str) -> pd.DataFrame:
    """The canonical table as a DataFrame indexed by the timestamp column, in time zone ``tz``."""
    return frame_from_tables([table], timestamp_column, tz)


def frame_from_tables(
    tables: list[pa.Table],
    timestamp_column: str,
    tz: str,
    columns: Sequence[str] | None = None,
    labels: Sequence[str] | None = None,
    gaps: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """Canonical tables (the days of a select, in order) as one DataFrame; empties ``tables``.

    Integer and bool columns some table lacks (``gaps``, by default found in ``tables``: `with_gaps`)
    read as pandas' nullable dtypes.

    Days may have different columns (missing ones read as nulls); ``columns`` picks and orders them.
    A column whose type changes between days is unified (:func:`tickstore_core.schema.unify_tables`;
    ``labels`` name the tables in its errors).

    Conversion goes column by column, and each column's Arrow memory is returned before the next
    one is converted, so memory peaks near the size of the result rather than twice it.
    """
    if gaps is None:
        gaps = with_gaps([[(f.name, f.type) for f in t.schema] for t in tables]) if len(tables) > 1 else {}
    if len(tables) > 1:
        tables[:] = unify_tables(tables, labels or [f"part {i}" for i in range(len(tables))])
    table = tables[0] if len(tables) == 1 else pa.concat_tables(tables, promote_options="permissive")
    tables.clear()
    if columns is not None:
        table = table.select([timestamp_column, *columns])
    if not table.num_rows:  # nothing to hold twice: one conversion, much quicker than one per column
        frame: pd.DataFrame = table.drop_columns([timestamp_column]).to_pandas()
        frame = frame.astype({name: dtype for name, dtype in gaps.items() if name in frame.columns})
        frame.index = pd.DatetimeIndex([], dtype=pd.DatetimeTZDtype(tz="UTC"), name=timestamp_column)
    else:
        metadata, parts = table.schema.metadata, []
        while table.num_columns:
            schema = pa.schema([table.schema.field(0)], metadata=metadata)
            holder = [pa.Table.from_arrays([table.column(0)], schema=schema)]
            gap = table.schema.field(0).name in gaps
            table = table.remove_column(0)
            parts.append(column_frame(holder, gap=gap))
        frame = pd.concat(parts, axis=1).set_index(timestamp_column)
    if tz != "UTC":
        frame.index = cast(pd.DatetimeIndex, frame.index).tz_convert(tz)
    return frame
