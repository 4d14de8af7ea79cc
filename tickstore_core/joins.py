"""As-of joins in the store: each left tick with the latest right tick at or before it, as known at one time.

Both sides are read as of the same transaction time (``as_of=None`` is resolved to one "now" for
both, so a commit landing between the two reads cannot mix old and new). The right side's last tick
before the range (on an earlier day, across any number of days without ticks) is carried in, so the
first left ticks of a day see the previous day's last quote, as ``pd.merge_asof`` over the whole
history would. The join itself is a binary search on Arrow/numpy, no pandas.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa

from .errors import InvalidInputError
from .outputs import check_output, convert, empty_table
from .schema import unify_tables
from .symbols import check_symbol
from .times import TIME_MIN, now_ns, to_utc_ns

if TYPE_CHECKING:
    from .index import Version
    from .store import Tickstore, _Query

__all__ = ["asof_join", "carried_version", "join_tables"]

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


def carried_version(store: Tickstore, symbol: str, before: int, as_of: int) -> Version | None:
    """The version (valid at ``as_of``) of the latest day of ``symbol`` with a tick before ``before``."""
    index = store._index(symbol)
    days = index.days()
    if not days or before == TIME_MIN:
        return None
    last = store._day_of(before, index, first=False)
    for version in reversed(index.lookup(days[0], last, as_of)):
        if version.may_have_rows and (version.min_time is None or version.min_time < before):
            return version
    return None


def join_tables(left: pa.Table, right: pa.Table, tolerance: int | None) -> pa.Table:
    """``left`` with, per row, the columns of ``right``'s last row at or before its time (within ``tolerance``).

    Both are sorted by their first (timestamp) column; a left row without such a right row gets nulls.
    """
    left_times = left.column(0).combine_chunks().cast(pa.int64()).to_numpy()
    right_times = right.column(0).combine_chunks().cast(pa.int64()).to_numpy()
    position = np.searchsorted(right_times, left_times, side="right") - 1
    found = position >= 0
    if tolerance is not None and len(right_times):
        found &= left_times - right_times[np.maximum(position, 0)] <= tolerance
    taken = right.drop_columns([right.column_names[0]]).take(pa.array(np.maximum(position, 0), mask=~found))
    joined = left
    for name, column in zip(taken.column_names, taken.columns, strict=True):
        joined = joined.append_column(pa.field(name, column.type), column)
    return joined


def asof_join(
    store: Tickstore,
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
    from .store import _trim

    output = check_output(output)
    check_symbol(left)
    check_symbol(right)
    tolerance_ns = _tolerance_ns(tolerance)
    as_of_ns = now_ns() if as_of is None else to_utc_ns(as_of, "as_of")
    left_query = store._query(left, start, end, as_of_ns, None)
    right_query = store._query(right, start, end, as_of_ns, on_columns)
    carried = carried_version(store, right, right_query.start, as_of_ns)
    if carried is not None and carried in right_query.versions:
        carried = None  # the start's own day, already read; its ticks before start are carried below
    jobs: list[tuple[_Query, Version, int, int]] = [
        (left_query, v, left_query.start, left_query.end) for v in left_query.versions
    ]
    whole_right = [(right_query, v, TIME_MIN, right_query.end) for v in right_query.versions]
    jobs += whole_right
    if carried is not None:
        jobs.append((right_query, carried, TIME_MIN, right_query.start - 1))
    tables = store._map(
        lambda job: _trim(store._read_version(job[0].symbol, job[1], job[0].columns), job[2], job[3]),
        jobs,
        f"asof_join {left} {right}",
    )
    left_tables = tables[: len(left_query.versions)]
    right_tables = tables[len(left_query.versions) :]
    if carried is not None:  # the carried day comes first in time
        right_tables = [right_tables[-1], *right_tables[:-1]]
    right_tables = _before_and_in_range(right_tables, right_query.start)
    ts, tz = store.timestamp_column, store.tz
    left_table = _one(left_tables, ts, [f"{left} {v.day}" for v in left_query.versions])
    right_table = _one(right_tables, ts, [f"{right} part {i}" for i in range(len(right_tables))], right_query.columns)
    right_table = _rename_clashes(right_table, left_table.column_names)
    return convert(join_tables(left_table, right_table, tolerance_ns), output, ts, tz)


def _before_and_in_range(tables: list[pa.Table], start: int) -> list[pa.Table]:
    """The right side: only its last tick before ``start``, then every tick from ``start`` on."""
    before: pa.Table | None = None
    kept = []
    for table in tables:
        times = table.column(0).combine_chunks().cast(pa.int64()).to_numpy()
        cut = int(np.searchsorted(times, start, side="left"))
        if cut:
            before = table.slice(cut - 1, 1)
        if cut < table.num_rows:
            kept.append(table.slice(cut))
    return [before, *kept] if before is not None else kept


def _one(tables: list[pa.Table], ts: str, labels: list[str], columns: Sequence[str] | None = None) -> pa.Table:
    if not tables:
        return empty_table(ts, "UTC", columns or ())
    if len(tables) > 1:
        tables = unify_tables(tables, labels)
    table = tables[0] if len(tables) == 1 else pa.concat_tables(tables, promote_options="permissive")
    return table.select([ts, *columns]) if columns is not None else table


def _rename_clashes(right: pa.Table, left_names: Sequence[str]) -> pa.Table:
    clashing = set(left_names[1:])
    names = [right.column_names[0], *(f"{n}{RIGHT_SUFFIX}" if n in clashing else n for n in right.column_names[1:])]
    return right.rename_columns(names)
