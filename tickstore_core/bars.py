"""OHLCV bars computed day by day on Arrow/numpy, without materialising the ticks.

Each task of the store's pool reads one symbol-day (only the price and size columns) chunk by
chunk (:meth:`~tickstore_core.engine.Engine.iter_chunks`): each chunk of ticks is reduced to
partial bars and dropped before the next is decoded, and the day's partial bars are merged where a
bar spans chunks. So at any moment at most ``max_workers`` chunks of ticks are in memory besides
the bars (a whole day for a version that cannot stream: one made by appends, or a 0.1 object).

Bars are aligned to the store's time zone: each trading day's bars start at its local midnight
and are ``freq`` long, so ``freq`` must divide a day (``"5min"``, ``"1h"``, ``"1D"``). A bar is
labelled by its left edge and holds the ticks with ``label <= time < label + freq``, as
``resample(freq)`` does. Ticks whose price is missing are left out. Bars without ticks are absent
unless ``fill="ffill"``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .engine import Engine
from .errors import ColumnNotFoundError, InvalidInputError
from .many import SYMBOL_COLUMN, check_symbols, plan_many, read_all, refuse_clash, with_symbol
from .outputs import check_output, convert
from .query import Query, check_read_columns, in_time_order, read_day, read_in_turn, trim
from .schema import unify_tables
from .times import NS_PER_DAY, day_start_ns

if TYPE_CHECKING:
    from .index import Version

__all__ = ["BAR_COLUMNS", "bars", "day_bars", "parse_freq"]

BAR_COLUMNS = ("open", "high", "low", "close", "volume", "trades", "vwap")
FILLS = (None, "ffill")


def parse_freq(freq: Any) -> int:
    """The bar length in nanoseconds; it must divide a day, so that every day's bars start at midnight."""
    try:
        length = pd.Timedelta(freq)
    except (ValueError, TypeError) as exc:
        raise InvalidInputError(f"freq={freq!r} is not a bar length; use e.g. '1s', '5min', '1h', '1D'") from exc
    ns = int(length.value)
    if ns <= 0 or NS_PER_DAY % ns:
        raise InvalidInputError(
            f"freq={freq!r} must be a positive length that divides a day (e.g. '5min', '15min', '1h', '1D'), "
            "so that every trading day's bars start at its midnight"
        )
    return ns


def _numbers(column: pa.ChunkedArray, name: str) -> np.ndarray:
    if not (pa.types.is_integer(column.type) or pa.types.is_floating(column.type) or pa.types.is_decimal(column.type)):
        raise InvalidInputError(f"bars need a numeric {name} column; it holds {column.type}")
    if pa.types.is_decimal(column.type):
        column = column.cast(pa.float64())
    return np.asarray(column.combine_chunks().to_numpy(zero_copy_only=False))


def _summable(amounts: np.ndarray) -> np.ndarray:
    """Sizes in the type their sums are kept in: float64 for floats (a float16 sum overflows at 65504),
    int64 for integers (uint64 stays: int64 would wrap its large values), so that no sum overflows early."""
    if amounts.dtype == np.uint64:
        return amounts
    return amounts.astype(np.float64 if amounts.dtype.kind == "f" else np.int64, copy=False)


@dataclass(frozen=True)
class Partial:
    """Bars of some of a day's ticks, before VWAP: what :func:`merge_partials` combines across chunks."""

    labels: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    trades: np.ndarray
    volume: np.ndarray | None  # None without a size column, as is notional
    notional: np.ndarray | None  # the sum of price * size, for the VWAP


def partial_bars(table: pa.Table, day_start: int, freq_ns: int, price: str, size: str | None) -> Partial | None:
    """The bars of sorted ticks of the day starting at ``day_start`` (None without ticks with a price)."""
    has_price = price in table.column_names
    if not has_price:
        table = table.slice(0, 0)
    elif table.column(price).null_count:
        table = table.filter(pc.is_valid(table.column(price)))
    times = table.column(0).combine_chunks().cast(pa.int64()).to_numpy()
    if len(times) == 0:
        return None
    prices = _numbers(table.column(price), price).astype(np.float64, copy=False)
    labels, starts = _bar_starts(times, day_start, freq_ns)
    ends = np.append(starts[1:], len(times))
    volume = notional = None
    if size is not None:
        sizes = table.column(size) if size in table.column_names else pa.chunked_array([pa.nulls(len(times))])
        if pa.types.is_null(sizes.type):  # no size that day: zeros of the type that takes the other days'
            sizes = sizes.cast(pa.int64())
        if sizes.null_count:
            sizes = pc.fill_null(sizes, 0)
        amounts = _summable(_numbers(sizes, size))
        volume = np.add.reduceat(amounts, starts)
        notional = np.add.reduceat(prices * amounts, starts)
    return Partial(
        labels,
        prices[starts],
        np.maximum.reduceat(prices, starts),
        np.minimum.reduceat(prices, starts),
        prices[ends - 1],
        (ends - starts).astype(np.int64),
        volume,
        notional,
    )


def _bar_starts(times: np.ndarray, day_start: int, freq_ns: int) -> tuple[np.ndarray, np.ndarray]:
    """The labels of the bars that sorted ``times`` fall in, and the position of each bar's first tick."""
    first, last = (int(times[0]) - day_start) // freq_ns, (int(times[-1]) - day_start) // freq_ns
    if last - first < len(times):  # fewer bars than ticks: find where each bar starts by bisection
        labels = day_start + np.arange(first, last + 1, dtype=np.int64) * freq_ns
        starts = np.searchsorted(times, labels)
        filled = starts < np.append(starts[1:], len(times))
        return labels[filled], starts[filled]
    slots = (times - day_start) // freq_ns
    starts = np.flatnonzero(np.diff(slots, prepend=slots[0] - 1))
    return day_start + slots[starts] * freq_ns, starts


def merge_partials(parts: Sequence[Partial | None]) -> Partial | None:
    """The bars of consecutive runs of ticks (in time order) from theirs: a bar in several runs opens with the
    first's open and closes with the last's close, its high and low the extremes, its sums summed."""
    found = [p for p in parts if p is not None]
    if len(found) <= 1:
        return found[0] if found else None

    def joined(name: str) -> np.ndarray:
        return np.concatenate([getattr(p, name) for p in found])

    labels = joined("labels")
    starts = np.flatnonzero(np.diff(labels, prepend=labels[0] - 1))
    ends = np.append(starts[1:], len(labels))

    def summed(name: str) -> np.ndarray | None:
        return None if found[0].volume is None else np.add.reduceat(joined(name), starts)

    return Partial(
        labels[starts],
        joined("open")[starts],
        np.maximum.reduceat(joined("high"), starts),
        np.minimum.reduceat(joined("low"), starts),
        joined("close")[ends - 1],
        np.add.reduceat(joined("trades"), starts),
        summed("volume"),
        summed("notional"),
    )


def finished(bars: Partial | None, timestamp_column: str, size: str | None) -> pa.Table:
    """The bars as a table, with their VWAP (the notional over the volume)."""
    if bars is None:
        return _empty_bars(timestamp_column, size)
    vwap = None
    if bars.volume is not None and bars.notional is not None:
        with np.errstate(invalid="ignore", divide="ignore"):
            vwap = bars.notional / bars.volume
    return _bars_table(
        timestamp_column, bars.labels, bars.open, bars.high, bars.low, bars.close, bars.volume, bars.trades, vwap
    )


def day_bars(
    table: pa.Table, day_start: int, freq_ns: int, price: str, size: str | None, timestamp_column: str
) -> pa.Table:
    """The bars of one day's ticks (sorted by time, all within the day starting at ``day_start``)."""
    return finished(partial_bars(table, day_start, freq_ns, price, size), timestamp_column, size)


def _bars_table(
    timestamp_column: str,
    labels: np.ndarray,
    open_: np.ndarray,
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    volume: np.ndarray | None,
    trades: np.ndarray | None,
    vwap: np.ndarray | None,
) -> pa.Table:
    columns: dict[str, Any] = {
        timestamp_column: pa.array(labels.astype(np.int64), type=pa.int64()).cast(pa.timestamp("ns", tz="UTC")),
        "open": pa.array(open_, type=pa.float64()),
        "high": pa.array(high, type=pa.float64()),
        "low": pa.array(low, type=pa.float64()),
        "close": pa.array(close, type=pa.float64()),
    }
    if volume is not None:
        columns["volume"] = pa.array(volume)
    columns["trades"] = pa.array(trades if trades is not None else np.zeros(len(labels), np.int64), type=pa.int64())
    if vwap is not None:
        columns["vwap"] = pa.array(vwap, type=pa.float64(), from_pandas=False)
    return pa.table(columns)


def _grid(first: int, last: int, freq_ns: int, tz: str) -> np.ndarray:
    """Every bar label from ``first`` to ``last`` (UTC nanoseconds), day by day in ``tz``."""
    day = pd.Timestamp(first, tz="UTC").tz_convert(tz).date()
    parts = []
    while True:
        start = day_start_ns(day, tz)
        if start > last:
            break
        following = day_start_ns(day + dt.timedelta(days=1), tz)
        parts.append(np.arange(start, following, freq_ns, dtype=np.int64))
        day += dt.timedelta(days=1)
    grid = np.concatenate(parts)
    return grid[(grid >= first) & (grid <= last)]


def forward_fill(table: pa.Table, freq_ns: int, tz: str) -> pa.Table:
    """Bars for every slot from the first bar to the last: an empty one repeats the previous close as its
    open, high, low and close, with zero volume and trades and a missing vwap."""
    if table.num_rows < 2:
        return table
    labels = table.column(0).combine_chunks().cast(pa.int64()).to_numpy()
    grid = _grid(int(labels[0]), int(labels[-1]), freq_ns, tz)
    if len(grid) == len(labels):
        return table
    present = np.searchsorted(grid, labels)
    source = np.full(len(grid), -1, dtype=np.int64)
    source[present] = np.arange(len(labels))
    filled = np.maximum.accumulate(source)  # the last bar at or before each slot
    empty = source < 0
    close = table.column("close").to_numpy()[filled]
    columns: dict[str, Any] = {table.column_names[0]: pa.array(grid).cast(pa.timestamp("ns", tz="UTC"))}
    for name in table.column_names[1:]:
        values = table.column(name).combine_chunks().to_numpy(zero_copy_only=False)[filled]
        if name in ("open", "high", "low"):
            values = np.where(empty, close, values)
        elif name in ("volume", "trades"):
            values = np.where(empty, 0, values)
        elif name == "vwap":
            values = np.where(empty, np.nan, values)
        columns[name] = pa.array(values, type=table.schema.field(name).type, from_pandas=name == "vwap")
    return pa.table(columns)


def bars(
    engine: Engine,
    symbols: str | Sequence[str],
    start: Any,
    end: Any,
    freq: Any,
    price: str,
    size: str | None,
    as_of: Any,
    fill: str | None,
    output: Any,
) -> Any:
    """See :meth:`Tickstore.bars`."""
    output = check_output(output)
    freq_ns = parse_freq(freq)
    if fill not in FILLS:
        raise InvalidInputError(f"fill must be None or 'ffill', got {fill!r}")
    for name, value in (("price", price), ("size", size)):
        if value is not None and (not isinstance(value, str) or value == engine.timestamp_column):
            raise InvalidInputError(f"{name} must name a data column, got {value!r}")
    single = isinstance(symbols, str)
    wanted = check_symbols([symbols] if single else symbols)
    refuse_clash(engine.timestamp_column, BAR_COLUMNS if single else (SYMBOL_COLUMN, *BAR_COLUMNS), "bars")
    plan = plan_many(engine, wanted, start, end, as_of, None, None)
    needed = [price] if size is None else [price, size]
    versions = [v for q in plan.queries for v in q.versions]
    if versions and all(v.columns is not None for v in versions):
        present = {c for v in versions for c in v.columns or ()}
        missing = [c for c in needed if c not in present]
        if missing:
            raise ColumnNotFoundError(
                f"bars need column {', '.join(map(repr, missing))}, which the selected ticks do not have; "
                f"columns there: {', '.join(sorted(present))} (pass price= and size= to name yours)"
            )
    ts, tz = engine.timestamp_column, engine.tz

    def one_day(query: Query, version: Version) -> pa.Table:
        day_start, parts = day_start_ns(version.day, tz), []
        # closed on an error too, so the read returns its decoding permit at once, not when the traceback goes
        with contextlib.closing(engine.iter_chunks(query.symbol, version, needed, query.start, query.end)) as chunks:
            for chunk in chunks:
                parts.append(partial_bars(trim(chunk, query.start, query.end), day_start, freq_ns, price, size))
                del chunk  # dropped before the next chunk is decoded
        return finished(merge_partials(parts), ts, size)

    per_day = read_all(engine, plan, one_day, f"bars of {len(wanted)} symbol{'s' * (len(wanted) > 1)}")
    per_symbol = []
    for query, days in zip(plan.queries, per_day, strict=True):
        if not all(v.stats_known for v in query.versions):  # serenity: files may spill into other days
            days = [_bars_of_select(engine, query, freq_ns, price, size)]
        table = pa.concat_tables(_same_volume(days)) if days else _empty_bars(ts, size)
        per_symbol.append(forward_fill(table, freq_ns, tz) if fill == "ffill" else table)
    per_symbol = _same_volume(per_symbol) if per_symbol else [_empty_bars(ts, size)]
    if single:
        return convert(per_symbol[0], output, ts, tz)
    codes = [wanted.index(q.symbol) for q in plan.queries] or [0]  # categories: every symbol asked for, in order
    table = with_symbol(per_symbol, codes, wanted)
    if not plan.queries:
        table = table.slice(0, 0)
    return convert(table, output, ts, tz)


def _bars_of_select(engine: Engine, query: Query, freq_ns: int, price: str, size: str | None) -> pa.Table:
    """A serenity store's bars: its files may hold ticks of other days, so read the range, then split by day."""
    query = Query(query.symbol, query.start, query.end, [price] if size is None else [price, size], query.versions)
    turn = read_in_turn(engine, query.versions)
    tables = engine.map(lambda v: read_day(engine, query, v), query.versions, f"bars of {query.symbol}", in_turn=turn)
    check_read_columns(query.symbol, tables, query.columns)  # a serenity index records no columns
    tables = in_time_order(unify_tables(tables, [str(v.day) for v in query.versions]))
    ts = engine.timestamp_column
    if not tables:
        return _empty_bars(ts, size)
    ticks = pa.concat_tables(tables, promote_options="permissive")
    times = pd.DatetimeIndex(ticks.column(0).combine_chunks().cast(pa.int64()).to_numpy(), tz="UTC")
    local_days = times.tz_convert(engine.tz).normalize().tz_localize(None)
    parts = []
    for day in sorted(set(local_days)):
        day_ticks = ticks.filter(pa.array(np.asarray(local_days == day)))
        parts.append(day_bars(day_ticks, day_start_ns(day.date(), engine.tz), freq_ns, price, size, ts))
    return pa.concat_tables(_same_volume(parts)) if parts else _empty_bars(ts, size)


def _same_volume(tables: list[pa.Table]) -> list[pa.Table]:
    """The bars of days or symbols with one volume type, so they concatenate: float64 where theirs differ
    (integer sizes on one day, float or absent on another), as select promotes the sizes. Tables without
    bars take the others' type (their float64 is a placeholder)."""
    types = {t.schema.field("volume").type for t in tables if t.num_rows and "volume" in t.column_names}
    if not types:
        return tables
    target = types.pop() if len(types) == 1 else pa.float64()
    return [_volume_as(t, target) for t in tables]


def _volume_as(table: pa.Table, target: pa.DataType) -> pa.Table:
    position = table.schema.get_field_index("volume")
    if position < 0 or table.schema.field(position).type == target:
        return table
    return table.set_column(position, "volume", pc.cast(table.column(position), target, safe=False))


def _empty_bars(timestamp_column: str, size: str | None) -> pa.Table:
    none = np.empty(0)
    volume = none if size is not None else None
    return _bars_table(timestamp_column, np.empty(0, np.int64), none, none, none, none, volume, None, volume)
