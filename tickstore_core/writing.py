"""The store's write API: insert and delete, checked before anything is written.

Part of `tickstore_core.store.Tickstore`; the engine (`tickstore_core.engine`) writes and commits.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pyarrow as pa

from .bitemporal import plan_delete
from .engine import Engine
from .errors import InvalidInputError, InvalidTicksError, StoreNotFoundError, TransactionTimeError
from .frames import split_days, ticks_to_table
from .index import SymbolIndex, Version
from .lifecycle import check_metadata
from .symbols import check_symbol
from .times import (
    FIRST_DAY,
    LAST_DAY,
    BiTimestamp,
    DayLike,
    TimeLike,
    format_ns,
    now_ns,
    tick_range_ns,
    to_day,
    to_utc_ns,
)
from .writes import check_schema

__all__ = ["WriteAPI", "check_tick_range", "explicit_as_of"]

FUTURE_TOLERANCE_NS = 60 * 1_000_000_000


class WriteAPI:
    """Insert and delete (mixed into `Tickstore`)."""

    _engine: Engine

    def insert(
        self,
        symbol: str,
        ticks: pd.DataFrame,
        day: DayLike | None = None,
        *,
        as_of: TimeLike | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> list[Version]:
        """Store ``ticks`` as a new version of each day they fall on.

        All days of one insert are committed atomically; nothing is written if the input is invalid.

        Parameters
        ----------
        symbol : str
            The instrument, e.g. ``"BTCUSD"``: letters, digits and ``._-+=@^~#!``, at most 128.
        ticks : pandas.DataFrame
            Indexed by timestamp (naive means UTC). Unsorted input is sorted stably; duplicate
            timestamps are kept in their order.
        day : date, str or BiTimestamp, optional
            The one day every tick must fall on (``"YYYY-MM-DD"``, a date, or a `BiTimestamp`); an
            empty frame then records that the day has no ticks. By default each tick goes to its own
            trading day in the store's time zone.
        as_of : timestamp, optional
            Record the insert at this transaction time instead of now, for replaying history (times
            must move forward). A day's first version then starts at ``as_of``, not at the beginning
            of time.
        metadata : dict, optional
            JSON-serialisable notes with string keys, stored with each new version (at most 16 KiB
            as JSON) and shown by `history`, e.g. ``{"source": "vendor-x", "job": 42}``.

        Returns
        -------
        list of Version
            The new version of each day, in day order.

        Raises
        ------
        InvalidTicksError
            The frame is not indexed by time, has no columns, or has ticks outside ``day`` or outside
            the supported days (1677-09-22 .. 2262-04-10).
        SchemaError
            A column's type cannot be combined with the type other days hold.
        LegacyStoreError
            The store was written by serenity's tick store (it is read-only here).

        Examples
        --------
        >>> store.insert("BTCUSD", trades)  # doctest: +SKIP
        >>> store.insert("BTCUSD", corrected, day="2024-03-06")  # doctest: +SKIP
        """
        self._engine.check_open()
        check_symbol(symbol)
        self._engine.check_writable()
        explicit = explicit_as_of(day, as_of)
        note = check_metadata(metadata)
        table = ticks_to_table(ticks, self._engine.timestamp_column)
        check_tick_range(table, self._engine.tz)
        by_day = split_days(table, self._engine.tz)
        if day is not None:
            wanted_day = to_day(day, self._engine.tz)
            other_days = sorted(set(by_day) - {wanted_day})
            if other_days:
                shown = ", ".join(map(str, other_days[:5]))
                raise InvalidTicksError(
                    f"day={wanted_day} was given but ticks also fall on {shown} ({self._engine.tz}); "
                    "insert without day= to split them by day"
                )
            by_day = {wanted_day: by_day.get(wanted_day, table.slice(0, 0))}
        elif not by_day:
            raise InvalidTicksError("the ticks are empty; pass day= to record a day without ticks")
        days = sorted(by_day.items())
        encoded = self._engine.map(lambda item: self._engine.encode(item[0], item[1], note), days, f"encode {symbol}")
        check_schema(symbol, self._engine.index_for_write(symbol), encoded)  # before anything is written
        self._engine.ensure_manifest()
        return self._engine.insert(symbol, encoded, explicit)

    def delete(self, symbol: str, day: DayLike, *, as_of: TimeLike | None = None) -> Version | None:
        """End the current version of ``(symbol, day)``: the day reads as empty from now on.

        Older as-of queries still see it.

        Parameters
        ----------
        symbol : str
            The instrument.
        day : date, str or BiTimestamp
            The trading day to delete.
        as_of : timestamp, optional
            Record the delete at this transaction time instead of now (or give it in a `BiTimestamp`).

        Returns
        -------
        Version or None
            The ended version, or None when the day had no current version (nothing is written then).

        Examples
        --------
        >>> store.delete("BTCUSD", "2024-03-06")  # doctest: +SKIP
        """
        self._engine.check_open()
        check_symbol(symbol)
        self._engine.check_writable()
        wanted_day = to_day(day, self._engine.tz)
        explicit = explicit_as_of(day, as_of)
        try:
            self._engine.check_exists()
        except StoreNotFoundError:  # nothing to delete; and a mistyped path must not become an empty store
            return None

        def change(index: SymbolIndex) -> tuple[SymbolIndex | None, Version | None]:
            ended = plan_delete(
                index,
                wanted_day,
                wanted=now_ns() if explicit is None else explicit,
                explicit=explicit is not None,
            )
            return (None, None) if ended is None else (index.replace([ended]), ended)

        return self._engine.commit(symbol, change)


def explicit_as_of(day: DayLike | None, given: TimeLike | None) -> int | None:
    """The explicit transaction time of a change: ``as_of=``, or the ``BiTimestamp``'s (None: now)."""
    stamped = int(day.as_of.value) if isinstance(day, BiTimestamp) and day.as_of is not None else None
    keyword = None if given is None else to_utc_ns(given, "as_of")
    if stamped is not None and keyword is not None and stamped != keyword:
        raise InvalidInputError(
            f"as_of={format_ns(keyword)} and the BiTimestamp's as_of {format_ns(stamped)} differ; give one"
        )
    as_of = keyword if keyword is not None else stamped
    if as_of is None:
        return None
    if as_of > now_ns() + FUTURE_TOLERANCE_NS:
        raise TransactionTimeError(
            f"as_of {format_ns(as_of)} is in the future; transaction times record when the store "
            "learned something, so they cannot be later than now"
        )
    return as_of


def check_tick_range(table: pa.Table, tz: str) -> None:
    """Refuse ticks whose day a select or delete could not name (the extremes of pandas' range)."""
    if table.num_rows == 0:
        return
    first, last = tick_range_ns(tz)
    times = table.column(0)
    outside = [t for t in (int(times[0].value), int(times[-1].value)) if not first <= t <= last]
    if outside:
        raise InvalidTicksError(
            f"a tick at {pd.Timestamp(outside[0], tz='UTC')} is outside the supported range: ticks must "
            f"fall on the days {FIRST_DAY} .. {LAST_DAY} in the store's time zone ({tz}), i.e. "
            f"{pd.Timestamp(first, tz='UTC')} .. {pd.Timestamp(last, tz='UTC')}; drop or correct such ticks"
        )
