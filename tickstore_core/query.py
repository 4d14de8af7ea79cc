"""Query planning: a select's arguments checked, and the versions it must read found in the index.

A plan is made once and read by any executor: the store's own select, Dask, prefetch.
Reading the planned versions, and trimming them to the bounds, is the engine's and frames' work.
"""

from __future__ import annotations

import bisect
import contextlib
import datetime as dt
import functools
import itertools
import os
from collections.abc import Generator, Iterable, Sequence
from dataclasses import dataclass
from typing import cast

import numpy as np
import pandas as pd
import pyarrow as pa

from .assembly import Assembly
from .encoding.direct import DirectColumns, PendingChunk, available
from .engine import READ_IN_TURN, Engine
from .errors import ColumnNotFoundError, CorruptObjectError, InvalidInputError, PrunedError, TickstoreError
from .filters import RowFilter, filter_day
from .frames import time_position
from .index import SymbolIndex, Version
from .outputs import empty_table
from .schema import parse_type
from .symbols import check_symbol
from .times import TIME_MAX, TIME_MIN, TimeLike, day_start_ns, format_ns, span_ns, to_day

__all__ = [
    "Query",
    "assembled",
    "check_read_columns",
    "empty_read",
    "in_time_order",
    "plan_query",
    "read_day",
    "read_in_turn",
    "trim",
]

_NEAREST = 8  # days each side of an empty range searched for the columns its result has


@dataclass(frozen=True)
class Query:
    """A checked select: the symbol, UTC bounds (inclusive), columns and the versions to read."""

    symbol: str
    start: int
    end: int
    columns: list[str] | None
    versions: list[Version]
    template: Version | None = None
    """When no version is read: the symbol's version nearest the range, whose columns an empty result has."""


def plan_query(
    engine: Engine,
    symbol: str,
    start: TimeLike | None,
    end: TimeLike | None,
    as_of: TimeLike | None,
    columns: str | Sequence[str] | None,
) -> Query:
    """Check a select's arguments and find the versions it reads: those with ticks in range."""
    engine.check_open()
    check_symbol(symbol)
    start_ns, end_ns = span_ns(start, end, engine.tz)
    as_of_ns = engine.as_of_ns(as_of)
    wanted = check_columns(columns, engine.timestamp_column)
    index = engine.index(symbol)
    if not len(index):
        engine.check_exists()
    first, last = _day_of(start_ns, index, engine.tz, first=True), _day_of(end_ns, index, engine.tz, first=False)
    versions = [
        v
        for v in index.lookup(first, last, as_of_ns)
        if not v.stats_known  # serenity's files: read the day's file and trim it
        or (
            v.rows
            and v.max_time is not None
            and v.min_time is not None
            and v.max_time >= start_ns
            and v.min_time <= end_ns
        )
    ]
    for version in versions:
        if version.min_time is not None and version.max_time is not None and not _on_its_day(version, engine.tz):
            raise CorruptObjectError(
                f"{symbol} {version.day} version {version.version}: its index entry records ticks of another day "
                f"({format_ns(version.min_time)} .. {format_ns(version.max_time)}); the index is damaged: "
                "`tickstore fsck --deep` lists what is wrong, restore the index file from a backup"
            )
    if wanted is not None and versions and all(v.columns is not None for v in versions):
        known = {c for v in versions for c in v.columns or ()}
        _refuse_missing(symbol, wanted, known)
    template = None if versions else _nearest_described(index, first, last, as_of_ns)
    return Query(symbol, start_ns, end_ns, wanted, versions, template)


def _on_its_day(version: Version, tz: str) -> bool:
    """Whether some of ``version``'s ticks are on its day (serenity's files, copied, may spill over into the
    next): an index entry moved to another day would otherwise read its ticks out of order, or not at all."""
    first, last, after = version.min_time or 0, version.max_time or 0, version.day + dt.timedelta(days=1)
    return last >= day_start_ns(version.day, tz) and first < day_start_ns(after, tz)


def check_columns(columns: str | Sequence[str] | None, timestamp_column: str) -> list[str] | None:
    """``columns`` as a list of distinct data column names (None: all), or a clear error."""
    if columns is None:
        return None
    if not isinstance(columns, str) and not isinstance(columns, Iterable):
        raise InvalidInputError(f"columns must be a column name or a list of names, got {type(columns).__name__}")
    wanted = [columns] if isinstance(columns, str) else list(columns)
    bad = [c for c in wanted if not isinstance(c, str)]
    if bad:
        raise InvalidInputError(f"columns must be column names (strings), got {bad!r}")
    if timestamp_column in wanted:
        raise InvalidInputError(f"{timestamp_column!r} is the index of every result; leave it out of columns")
    if len(set(wanted)) != len(wanted):
        raise InvalidInputError(f"columns lists a name twice: {wanted!r}")
    return wanted


def _day_of(ns: int, index: SymbolIndex, tz: str, *, first: bool) -> dt.date:
    if ns in (TIME_MIN, TIME_MAX):
        days = index.days()
        if not days:
            return dt.date(1970, 1, 1)
        return days[0] if first else days[-1]
    return to_day(pd.Timestamp(ns, tz="UTC"), tz)


def _nearest_described(index: SymbolIndex, first: dt.date, last: dt.date, as_of: int | None) -> Version | None:
    """The version (valid at ``as_of``) with known columns of a day in ``[first, last]``, else of the nearest of a
    few days before, else after: what an empty result takes its columns from. Pruned days are passed over."""
    days = index.days()
    lo, hi = bisect.bisect_left(days, first), bisect.bisect_right(days, last)
    inside, before, after = days[lo:hi][::-1], days[max(0, lo - _NEAREST) : lo][::-1], days[hi : hi + _NEAREST]
    for day in itertools.chain(inside, before, after):
        try:
            version = index.at(day, as_of)
        except PrunedError:
            continue
        if version is not None and version.columns:
            return version
    return None


def empty_read(engine: Engine, query: Query) -> pa.Table:
    """What a select that reads no day gives: no rows, but the timestamp and the columns asked for (all if None)
    with the types and pandas dtypes a read of the symbol's nearest version gives them (`Query.template`).

    Only the object's header is read (a ``tickstore-arrow`` object's chunks all lie outside the window asked
    for). If the object cannot be read (offline, pruned meanwhile), the types come from the index; a column the
    template lacks, or a symbol without one, has the null type.
    """
    template, ts = query.template, engine.timestamp_column
    table = empty_table(ts, "UTC")
    if template is not None:
        present = template.columns or ()
        wanted = list(present) if query.columns is None else [c for c in query.columns if c in present]
        try:
            read = engine.read_version(query.symbol, template, wanted, start_ns=TIME_MIN, end_ns=TIME_MIN)
            table = read.slice(0, 0).select([ts, *wanted])
        except TickstoreError:  # offline without the object: the types the index recorded
            types = dict(zip(present, template.types or (), strict=False))
            for name in wanted:
                parsed = parse_type(types[name]) if name in types else None
                table = table.append_column(pa.field(name, parsed or pa.null()), pa.nulls(0, parsed or pa.null()))
    for name in query.columns or ():
        if name not in table.column_names:
            table = table.append_column(pa.field(name, pa.null()), pa.nulls(0))
    return table if query.columns is None else table.select([ts, *query.columns])


def _refuse_missing(symbol: str, wanted: list[str], known: set[str]) -> None:
    missing = [c for c in wanted if c not in known]
    if missing:
        raise ColumnNotFoundError(
            f"{symbol} has no column {', '.join(map(repr, missing))} in the selected range; "
            f"columns there: {', '.join(sorted(known))}"
        )


def check_read_columns(symbol: str, tables: list[pa.Table], columns: list[str] | None) -> None:
    """A column asked for that none of the read days has is an error, as for a tickstore store."""
    if columns is None or not tables:
        return
    _refuse_missing(symbol, columns, {name for t in tables for name in t.column_names[1:]})


def read_day(engine: Engine, query: Query, version: Version, row_filter: RowFilter | None = None) -> pa.Table:
    """One planned version's ticks within the query's bounds that pass ``row_filter`` (on Arrow, before pandas).

    The filter's columns are decoded too, tested in the engine's read, then dropped again.
    """
    start, end = query.start, query.end  # tickstore-arrow objects decode only the chunks between them
    if row_filter is None:
        return trim(engine.read_version(query.symbol, version, query.columns, start_ns=start, end_ns=end), start, end)
    columns = row_filter.read_columns(query.columns)
    keep = functools.partial(filter_day, row_filter=row_filter, columns=query.columns, symbol=query.symbol)
    return trim(engine.read_version(query.symbol, version, columns, keep, start_ns=start, end_ns=end), start, end)


def assembled(engine: Engine, query: Query, description: str = "select") -> pd.DataFrame:
    """The frame of a select of ``query`` assembled in place (`tickstore_core.assembly`; check
    `Assembly.applies` first), its days read chunk by chunk."""
    versions = query.versions
    # fewer days than cores: each day's next chunks are decoded ahead on the pool's idle workers
    cores = min(engine.max_workers, os.cpu_count() or 1)
    ahead = cores // len(versions) if len(versions) < cores else 0

    direct = DirectColumns()  # the numeric columns, decompressed into the result once it exists

    def chunks(version: Version, reverse: bool = False) -> Generator[pa.Table | PendingChunk, None, None]:
        span = (query.start, query.end)
        how = {"reverse": reverse, "ahead": ahead, "direct": direct}
        for table in engine.iter_pending(query.symbol, version, query.columns, query.start, query.end, **how):
            yield trim_pending(table, *span) if isinstance(table, PendingChunk) else trim(table, *span)

    first = chunks(versions[0], reverse=Assembly.first_reversed(versions))
    reads = [first, *(chunks(v) for v in versions[1:])]
    made: list[Assembly] = []
    try:
        sample = cast(pa.Table, next(first))  # whole: no column is direct yet
        # the first day's pandas metadata decides the dtypes, as a conversion's would
        assembly = Assembly(versions, sample, engine.timestamp_column, engine.tz)
        made.append(assembly)
        direct.names, direct.times = assembly.direct_columns(), available()
        streams = [itertools.chain([sample], first), *reads[1:]]
        del sample

        def place(day: int) -> None:
            try:
                assembly.place(day, streams[day])
            finally:
                reads[day].close()  # a read given up on (an error) returns its decoding permit now

        turn = read_in_turn(engine, versions)
        engine.map(place, range(len(versions)), description, cpu=turn or _at_hand(engine, versions), in_turn=turn)
    except BaseException:
        for given_up in made:
            given_up.discard()
        raise
    finally:
        for read in reads:  # those not started, or given up on before they were placed
            with contextlib.suppress(ValueError):  # one still running on a worker closes itself
                read.close()
    return assembly.frame()


def read_in_turn(engine: Engine, versions: Sequence[Version]) -> bool:
    """Whether to read ``versions`` one after the other on the calling thread rather than on threads:
    every one is at hand (see `_at_hand`) and their objects are small on average (`READ_IN_TURN`
    bytes). Each then decodes in less time than threads lose handing Python's GIL to each other: 250
    local days of 1,000 ticks select in 70-100 ms in turn, 150-240 ms on two or four threads."""
    sizes = [v.bytes for v in versions if v.bytes is not None]
    if len(versions) < 2 or len(sizes) < len(versions) or sum(sizes) > READ_IN_TURN * len(sizes):
        return False
    return _at_hand(engine, versions)


def _at_hand(engine: Engine, versions: Sequence[Version]) -> bool:
    """Whether every version's object is local (a local store, or whole in the cache): reading them is
    decoding, bound by the CPU, so they go to the engine's smaller pool."""
    if engine.backend.is_local:
        return True
    cache, url = engine.cache, engine.backend.url
    return cache is not None and all(cache.has_object(url, v.key, checksum=engine.cache_identity(v)) for v in versions)


def trim(table: pa.Table, start_ns: int, end_ns: int) -> pa.Table:
    """The rows of a sorted partition with ``start_ns <= time <= end_ns`` (a zero-copy slice)."""
    if table.num_rows == 0:
        return table
    column = table.column(0)
    if column[0].value >= start_ns and column[-1].value <= end_ns:  # the usual whole day: nothing to copy
        return table
    lo = time_position(column, start_ns, "left") if start_ns != TIME_MIN else 0
    hi = time_position(column, end_ns, "right") if end_ns != TIME_MAX else table.num_rows
    if lo == 0 and hi == table.num_rows:
        return table
    return table.slice(lo, hi - lo)


def trim_pending(chunk: PendingChunk, start_ns: int, end_ns: int) -> PendingChunk:
    """`trim` of a chunk with columns still compressed (one whose times are too lies inside the bounds)."""
    if chunk.times:
        return chunk
    trimmed = trim(chunk.table, start_ns, end_ns)
    if trimmed.num_rows == chunk.table.num_rows:
        return chunk
    lo = time_position(chunk.table.column(0), start_ns, "left") if start_ns != TIME_MIN else 0
    return chunk.slice(lo, trimmed.num_rows)


def in_time_order(tables: list[pa.Table]) -> list[pa.Table]:
    """The days' tables, sorted by time (stably) across them if one spills into another's time.

    Each table is sorted; serenity's files may hold ticks outside their day, so days can overlap.
    """
    filled = [t for t in tables if t.num_rows]
    overlapping = any(
        earlier.column(0)[-1].value > later.column(0)[0].value for earlier, later in itertools.pairwise(filled)
    )
    if not overlapping:
        return tables
    table = pa.concat_tables(tables, promote_options="permissive")
    tables.clear()
    order = np.argsort(table.column(0).combine_chunks().cast(pa.int64()).to_numpy(), kind="stable")
    return [table.take(pa.array(order))]
