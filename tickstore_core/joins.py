"""As-of joins in the store: each left tick with the latest right tick at or before it, as known at one time.

Both sides are read as of the same transaction time (``as_of=None`` is resolved to one "now" for
both, so a commit landing between the two reads cannot mix old and new). The right side's last tick
before the range (on an earlier day, across any number of days without ticks) is carried in, so the
first left ticks of a day see the previous day's last quote, as ``pd.merge_asof`` over the whole
history would. Into pandas, both sides are read as `select` reads them and joined by
``pd.merge_asof`` (a linear merge), so the columns have the dtypes a select gives; into Arrow or
Polars the join is a binary search on Arrow/numpy, no pandas.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from .assembly import Assembly
from .engine import Engine
from .errors import ColumnNotFoundError, InvalidInputError
from .frames import frame_from_tables
from .outputs import check_output, convert
from .query import Query, assembled, empty_read, plan_query, read_day, read_in_turn
from .schema import unify_tables
from .symbols import check_symbol
from .times import TIME_MIN, now_ns, to_day

__all__ = ["asof_join", "carried_tick", "join_tables"]

RIGHT_SUFFIX = "_right"


def _tolerance_ns(tolerance: Any) -> int | None:
    if tolerance is None:
        return None
    try:
        ns = int(pd.Timedelta(tolerance).value)
    except (ValueError, TypeError) as exc:
        raise InvalidInputError(f"tolerance={tolerance!r} is not a duration; use e.g. '1s', '500ms'") from exc
    if ns < 0:
        raise InvalidInputError(f"tolerance={tolerance!r} must not be negative")
    return ns


def carried_tick(
    engine: Engine, symbol: str, before: int, as_of: Any, columns: Sequence[str] | None
) -> pa.Table | None:
    """The last tick of ``symbol`` before ``before`` (on any earlier day), as known at ``as_of``; None if none.

    Days are looked at one by one, back from the day of ``before``, each planned as a select of it
    (so ``as_of`` means what it means for select), until one has a tick: a day further back, pruned
    or not, is never read.
    """
    if before == TIME_MIN:
        return None
    last = to_day(pd.Timestamp(before - 1, tz="UTC"), engine.tz)
    for day in reversed([d for d in engine.index(symbol).days() if d <= last]):
        end = before - 1 if day == last else day
        try:
            earlier = plan_query(engine, symbol, day, end, as_of, columns)
        except ColumnNotFoundError:  # the day lacks a column asked for: it is null in the carried tick
            earlier = plan_query(engine, symbol, day, end, as_of, None)
            earlier = dataclasses.replace(earlier, columns=[c for c in columns or () if c in _known(earlier)])
        for version in reversed(earlier.versions):  # serenity files may hold none in range
            table = read_day(engine, earlier, version)
            if table.num_rows:
                return table.slice(table.num_rows - 1, 1)
    return None


def _known(query: Query) -> set[str]:
    return {c for v in query.versions for c in v.columns or ()}


def join_tables(left: pa.Table, right: pa.Table, tolerance: int | None) -> pa.Table:
    """``left`` with, per row, the columns of ``right``'s last row at or before its time (within ``tolerance``).

    Both are sorted by their first (timestamp) column; a left row without such a right row gets nulls.
    """
    position, found = _positions(left.column(0).combine_chunks().cast(pa.int64()).to_numpy(), right, tolerance)
    taken = right.drop_columns([right.column_names[0]]).take(pa.array(position, mask=~found))
    joined = left
    for name, column in zip(taken.column_names, taken.columns, strict=True):
        joined = joined.append_column(pa.field(name, column.type), column)
    return joined


def asof_join(
    engine: Engine,
    left: str,
    right: str,
    start: Any,
    end: Any,
    on_columns: Sequence[str] | str | None,
    tolerance: Any,
    as_of: Any,
    output: Any,
) -> Any:
    """See :meth:`Tickstore.asof_join`."""
    output = check_output(output)
    check_symbol(left)
    check_symbol(right)
    tolerance_ns = _tolerance_ns(tolerance)
    as_of = now_ns() if as_of is None else as_of  # one transaction time for every read of the join
    left_query = plan_query(engine, left, start, end, as_of, None)
    right_query = plan_query(engine, right, start, end, as_of, on_columns)
    description = f"asof_join {left} {right}"
    carried = carried_tick(engine, right, right_query.start, as_of, right_query.columns)
    ts, tz = engine.timestamp_column, engine.tz
    if output == "pandas" and right_query.versions and Assembly.applies(left_query.versions, filtered=False):
        return _merged_frames(engine, left_query, right_query, carried, tolerance_ns, description)
    jobs = [(left_query, v) for v in left_query.versions] + [(right_query, v) for v in right_query.versions]
    turn = read_in_turn(engine, [v for _, v in jobs])
    tables = engine.map(lambda job: read_day(engine, *job), jobs, description, in_turn=turn)
    right_tables = tables[len(left_query.versions) :]
    if carried is not None:
        right_tables = [carried, *right_tables]
    left_tables = tables[: len(left_query.versions)] or [empty_read(engine, left_query)]
    right_tables = right_tables or [empty_read(engine, right_query)]
    left_table = _one(left_tables, ts, [f"{left} {v.day}" for v in left_query.versions])
    right_table = _one(right_tables, ts, [f"{right} part {i}" for i in range(len(right_tables))], right_query.columns)
    right_table = _rename_clashes(right_table, left_table.column_names)
    return convert(join_tables(left_table, right_table, tolerance_ns), output, ts, tz)


def _merged_frames(
    engine: Engine, left: Query, right: Query, carried: pa.Table | None, tolerance: int | None, description: str
) -> pd.DataFrame:
    """The join into pandas: both sides read as `select` reads them (in place), the carried tick put
    before the right side's, then ``pd.merge_asof`` (a linear merge, faster than a binary search per
    tick), so every column has the dtype a select gives it."""
    ts, tz = engine.timestamp_column, engine.tz
    left_frame = assembled(engine, left, description)
    if Assembly.applies(right.versions, filtered=False):
        right_frame = assembled(engine, right, description)
    else:
        turn = read_in_turn(engine, right.versions)
        days = engine.map(lambda version: read_day(engine, right, version), right.versions, description, in_turn=turn)
        labels = [f"{right.symbol} {v.day}" for v in right.versions]
        right_frame = frame_from_tables(days, ts, tz, right.columns, labels)
    if carried is not None:
        carried_frame = frame_from_tables([carried], ts, tz)
        if right.columns is not None:  # those asked for, in that order (missing: NaN)
            carried_frame = carried_frame.reindex(columns=right_frame.columns)
        right_frame = pd.concat([carried_frame, right_frame])  # all: those of either, as the Arrow join has
    clashing = {name: f"{name}{RIGHT_SUFFIX}" for name in right_frame.columns if name in left_frame.columns}
    joined: pd.DataFrame = pd.merge_asof(
        left_frame,
        right_frame.rename(columns=clashing),
        left_index=True,
        right_index=True,
        tolerance=None if tolerance is None else pd.Timedelta(tolerance, "ns"),
    )
    return joined


def _positions(left_times: np.ndarray, right: pa.Table, tolerance: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Per left time, the row of ``right`` (sorted by its first column) at or before it, and whether there is one."""
    right_times = right.column(0).combine_chunks().cast(pa.int64()).to_numpy()
    position = np.searchsorted(right_times, left_times, side="right") - 1
    found = position >= 0
    if tolerance is not None and len(right_times):
        found &= left_times - right_times[np.maximum(position, 0)] <= tolerance
    return np.maximum(position, 0), found


def _one(tables: list[pa.Table], ts: str, labels: list[str], columns: Sequence[str] | None = None) -> pa.Table:
    if len(tables) > 1:
        tables = unify_tables(tables, labels)
    table = tables[0] if len(tables) == 1 else pa.concat_tables(tables, promote_options="permissive")
    return table.select([ts, *columns]) if columns is not None else table


def _rename_clashes(right: pa.Table, left_names: Sequence[str]) -> pa.Table:
    clashing = set(left_names[1:])
    names = [right.column_names[0], *(f"{n}{RIGHT_SUFFIX}" if n in clashing else n for n in right.column_names[1:])]
    return right.rename_columns(names).replace_schema_metadata(right.schema.metadata)
