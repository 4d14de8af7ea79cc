"""The store's read API: select, history and the catalogue (symbols, days, summary).

Part of `tickstore_core.store.Tickstore`: queries are planned by `tickstore_core.query` and
their versions read by the engine (`tickstore_core.engine`), concurrently and through the cache.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

import pandas as pd

from .assembly import Assembly
from .engine import Engine
from .errors import ConfigError, MissingDependencyError
from .filters import FilterLike, check_filter, parse_filters
from .index import Version
from .layout import INDEX_PREFIX
from .lifecycle import segment_version
from .outputs import Output, check_output, to_output
from .query import (
    Query,
    assembled,
    check_read_columns,
    empty_read,
    in_time_order,
    plan_query,
    read_day,
    read_in_turn,
)
from .schema import unify_tables
from .summary import summary_entry, summary_frame
from .symbols import check_symbol
from .tags import tag_name_of
from .times import TIME_MAX, DayLike, TimeLike, to_day

__all__ = ["ReadAPI"]


class ReadAPI:
    """Reads of ticks, versions and the catalogue (mixed into `Tickstore`)."""

    _engine: Engine

    def select(
        self,
        symbol: str,
        start: TimeLike | None = None,
        end: TimeLike | None = None,
        as_of: TimeLike | None = None,
        columns: str | Sequence[str] | None = None,
        *,
        filters: FilterLike | None = None,
        output: Output = "pandas",
    ) -> Any:
        """Ticks of ``symbol`` with ``start <= time <= end``, as known at transaction time ``as_of``.

        Days are read concurrently (through the local cache for remote stores).

        Parameters
        ----------
        symbol : str
            The instrument.
        start, end : timestamp, date or str, optional
            Both inclusive, like ``df.loc[start:end]``; None means unbounded. A timestamp is that
            instant (naive means UTC). A date-only bound (a date, ``"2024-03-10"``, ``"2024-03"``,
            ``"2024"``) is that trading day, month or year in the store's time zone, from local
            midnight to local midnight; as ``end`` it covers the whole period (``"2024-03-05 09:30"``
            covers the minute).
        as_of : timestamp or "tag:NAME", optional
            The transaction time to read at: per day, the version valid then. None reads the current
            versions; ``"tag:NAME"`` reads at the time the tag pins (see `tag`).
        columns : str or list of str, optional
            Only these data columns (the time index is always there).
        filters : list of tuples, or list of lists of tuples, optional
            Keep only rows that pass, in the ``read_parquet`` form: ``[("side", "==", "buy"),
            ("size", ">", 1.0)]`` is an AND, a list of such lists an OR of ANDs. Operators ``==``
            (``=``), ``!=``, ``<``, ``<=``, ``>``, ``>=``, ``in``, ``not in``; the timestamp column
            may be filtered too. Applied to each day as it is decoded, before pandas; a comparison
            with a missing value is false (see `tickstore_core.filters`).
        output : {"pandas", "arrow", "polars"}
            The kind of result: a pandas DataFrame (default), a `pyarrow.Table` whose first column
            is the timestamp column in the store's time zone, or a polars DataFrame with a
            ``Datetime("ns", tz)`` column (needs ``pip install "tickstore[polars]"``). Neither of the
            last two is converted through pandas.

        Returns
        -------
        pandas.DataFrame, pyarrow.Table or polars.DataFrame
            Indexed by the store's timestamp column (tz-aware, sorted, equal timestamps in inserted
            order); for Arrow and polars, that column comes first. An unknown symbol or an empty
            range gives an empty result; for a known symbol, with the columns and types a read
            of its nearest day gives.

        Raises
        ------
        InvalidTimeError
            A bound cannot be read as a time, or ``start`` is after ``end``.
        ColumnNotFoundError
            A column asked for (or filtered on) exists on none of the selected days.
        InvalidInputError
            A filter is malformed, has an unknown operator, or compares a column with a value of
            another kind; or ``output`` is not one of the kinds above.
        MissingDependencyError
            ``output="polars"`` without polars installed.
        StoreNotFoundError
            The store's directory, bucket or container does not exist.
        PrunedError
            The versions valid at ``as_of`` were removed by `prune` (never other data instead).
        UnknownTagError
            ``as_of="tag:NAME"`` names no tag.

        Examples
        --------
        >>> store.select("BTCUSD", "2024-03-04", "2024-03-08")  # doctest: +SKIP
        >>> store.select("BTCUSD", "2024-03-04", "2024-03-08", as_of="2024-03-09")  # doctest: +SKIP
        >>> store.select("BTCUSD", "2024-03", columns=["price"])  # doctest: +SKIP
        >>> store.select("BTCUSD", "2024-03", filters=[("side", "==", "buy"), ("size", ">", 1.0)])  # doctest: +SKIP
        >>> store.select("BTCUSD", "2024-03-04", output="polars")  # doctest: +SKIP
        """
        output = check_output(output)
        row_filter = parse_filters(filters, self._engine.timestamp_column, self._engine.tz)
        query = self._plan(symbol, start, end, as_of, columns)
        check_filter(row_filter, symbol, query.versions)
        if not query.versions:
            empty = [empty_read(self._engine, query)]
            return to_output(empty, output, self._engine.timestamp_column, self._engine.tz, query.columns)
        versions = query.versions
        if Assembly.applies(versions, filtered=row_filter is not None or output != "pandas"):
            return assembled(self._engine, query, _describe(query))
        tables = self._engine.map(
            lambda v: read_day(self._engine, query, v, row_filter),
            versions,
            _describe(query),
            in_turn=read_in_turn(self._engine, versions),
        )
        labels = [str(v.day) if as_of is None else f"{v.day} (version {v.version})" for v in versions]
        if not all(v.stats_known for v in versions):  # serenity's files: columns known only now, days may spill
            check_read_columns(symbol, tables, query.columns)
            tables = in_time_order(unify_tables(tables, labels))
            if len(tables) != len(labels):
                labels = [f"{versions[0].day}..{versions[-1].day}"]
        return to_output(tables, output, self._engine.timestamp_column, self._engine.tz, query.columns, labels)

    def to_dask(
        self,
        symbol: str,
        start: TimeLike | None = None,
        end: TimeLike | None = None,
        as_of: TimeLike | None = None,
        columns: str | Sequence[str] | None = None,
        *,
        filters: FilterLike | None = None,
    ) -> Any:
        """The ticks `select` would return, as a lazy dask DataFrame with one partition per day.

        Divisions are known (day boundaries), and each worker reads its days through the same backend
        and local cache, so a ``dask.distributed`` cluster reads them in parallel.

        Parameters
        ----------
        symbol, start, end, as_of, columns, filters
            As for `select`; the filters are applied on the workers, to each day as it is decoded.

        Returns
        -------
        dask.dataframe.DataFrame
            Computed, the values `select` returns; string columns as dask makes them (with its default
            ``dataframe.convert-string``, ``string[pyarrow]``; ``dask.config.set({"dataframe.convert-string":
            False})`` keeps `select`'s dtype).

        Raises
        ------
        MissingDependencyError
            Dask is not installed: ``pip install "tickstore[dask]"``.
        LegacyStoreError
            A serenity store, whose files do not keep to their days.

        Examples
        --------
        >>> store.to_dask("BTCUSD", "2024-01", "2024-03")["price"].mean().compute()  # doctest: +SKIP
        """
        try:
            import dask.dataframe  # noqa: F401 - only to say which extra is missing, before any work
        except ImportError as exc:
            raise MissingDependencyError(
                f"to_dask needs dask[dataframe], which is not installed ({exc}); "
                'install it with: pip install "tickstore[dask]"'
            ) from exc
        from .daskframe import to_dask

        row_filter = parse_filters(filters, self._engine.timestamp_column, self._engine.tz)
        query = self._plan(symbol, start, end, as_of, columns)
        check_filter(row_filter, symbol, query.versions)
        return to_dask(self._engine, query, row_filter)

    def prefetch(
        self, symbol: str, start: TimeLike | None = None, end: TimeLike | None = None, as_of: TimeLike | None = None
    ) -> int:
        """Fetch the objects a select would read into the local cache, for offline work.

        With ``as_of="tag:NAME"`` the objects are pinned in the cache under that tag: exempt from
        LRU eviction until `unpin` (``tickstore cache unpin NAME``), so the tagged state of the
        store stays readable offline however much else is read meanwhile.

        Parameters
        ----------
        symbol : str
            The instrument.
        start, end, as_of : optional
            As for `select`.

        Returns
        -------
        int
            The bytes of the objects now in the cache, as the index records them (a serenity store's
            index records no sizes: its files count 0).

        Raises
        ------
        ConfigError
            The store has no cache, or the cache cannot be written.

        Examples
        --------
        >>> store.prefetch("BTCUSD", "2024-03-01", "2024-03-31")  # doctest: +SKIP
        """
        self._engine.check_open()  # a closed store has let go of its cache
        if self._engine.cache is None:
            raise ConfigError(f"the store {self._engine.backend.url} has no cache; open it with cache=True to prefetch")
        if not self._engine.cache.writable:
            raise ConfigError(f"cannot prefetch: {self._engine.cache.problem}")
        query = self._plan(symbol, start, end, as_of, None)
        tag = tag_name_of(as_of)
        if tag is None:
            self._engine.map(lambda v: self._engine.read_version(symbol, v, ()), query.versions, f"prefetch {symbol}")
        else:
            cache = self._engine.cache
            objects = [segment_version(v, p) if v.segments else v for v in query.versions for p in v.parts]

            def pin(version: Version) -> None:
                table = self._engine.read_object(symbol, version, None)
                cache.pin_table(
                    self._engine.backend.url, version.key, table, checksum=self._engine.cache_identity(version), pin=tag
                )

            self._engine.map(pin, objects, f"pin {symbol}")
        self._engine.fills.wait_all()  # in the cache when this returns, not only behind it
        return sum(v.bytes or 0 for v in query.versions)

    def _plan(
        self,
        symbol: str,
        start: TimeLike | None,
        end: TimeLike | None,
        as_of: TimeLike | None,
        columns: str | Sequence[str] | None,
    ) -> Query:
        return plan_query(self._engine, symbol, start, end, as_of, columns)

    def history(self, symbol: str, day: DayLike | None = None, as_of: TimeLike | None = None) -> pd.DataFrame:
        """Every version of ``symbol`` (or of one day), oldest first, with its times and statistics.

        Parameters
        ----------
        symbol : str
            The instrument.
        day : date or str, optional
            Only this trading day's versions.

        Returns
        -------
        pandas.DataFrame
            One row per version: ``day``, ``version``, ``start_time`` and ``end_time`` (the
            transaction times at which it is the truth; a first version starts at the beginning of
            time, shown as ``Timestamp.min``, or at the explicit ``as_of`` it was inserted with; the
            current one ends at ``Timestamp.max``), ``recorded_at``, ``current``, ``rows``, ``bytes``,
            ``min_time``, ``max_time``, ``columns``, ``schema``, ``checksum``, ``key``, ``kind``
            (``insert``, ``append`` or ``compaction``), ``segments`` (the objects it is made of) and
            ``metadata`` (the dict given to insert or append, or None). Versions of a serenity store
            have no statistics: those columns are NA.
        as_of : timestamp or "tag:NAME", optional
            The history as the store held it at that transaction time: the versions started by then,
            a version ended later shown current (``end_time`` the end of time).

        Examples
        --------
        >>> store.history("BTCUSD", "2024-03-06")[["version", "start_time", "end_time", "rows"]]  # doctest: +SKIP
        """
        self._engine.check_open()
        check_symbol(symbol)
        index = self._engine.index(symbol)
        if not len(index):
            self._engine.check_exists()
        versions: Iterable[Version] = index if day is None else index.versions(to_day(day, self._engine.tz))
        as_of_ns = self._engine.as_of_ns(as_of)
        if as_of_ns is not None:  # as then: an end that came later was not known
            versions = [v if v.end_time <= as_of_ns else replace(v, end_time=TIME_MAX) for v in versions]
            versions = [v for v in versions if v.start_time <= as_of_ns]
        rows = [
            {
                "day": v.day,
                "version": v.version,
                "start_time": v.start_time,
                "end_time": v.end_time,
                "recorded_at": v.recorded_at,
                "current": v.current,
                "rows": v.rows,
                "bytes": v.bytes,
                "min_time": v.min_time,
                "max_time": v.max_time,
                "columns": None if v.columns is None else ",".join(v.columns),
                "schema": v.schema,
                "checksum": v.checksum,
                "key": v.key,
                "kind": v.kind or "insert",
                "segments": len(v.keys),
                "metadata": v.user_metadata,
            }
            for v in versions
        ]
        frame: pd.DataFrame = pd.DataFrame(rows, columns=list(_HISTORY_COLUMNS))
        for name in ("start_time", "end_time", "recorded_at", "min_time", "max_time"):
            frame[name] = pd.to_datetime(frame[name].astype("Int64"), unit="ns", utc=True)
        if any(not v.stats_known for v in versions):
            frame = frame.astype({"rows": "Int64", "bytes": "Int64"})
        return frame

    def symbols(self) -> list[str]:
        """Every symbol of the store (inserted at least once), sorted.

        Returns
        -------
        list of str

        Raises
        ------
        StoreNotFoundError
            The store's directory, bucket or container does not exist.

        Examples
        --------
        >>> store.symbols()  # doctest: +SKIP
        ['BTCUSD', 'ETHUSD']
        """
        self._engine.check_open()
        self._engine.check_layout()
        if self._engine.serenity is not None:
            return sorted(self._engine.serenity_indexes())
        found = (self._engine.layout.symbol_of_index_key(key) for key in self._engine.backend.keys(INDEX_PREFIX))
        symbols = sorted(s for s in found if s)
        if not symbols:
            self._engine.check_exists()
        return symbols

    def days(self, symbol: str, as_of: TimeLike | None = None) -> list[dt.date]:
        """The days of ``symbol`` that have ticks at transaction time ``as_of``.

        Parameters
        ----------
        symbol : str
            The instrument.
        as_of : timestamp or "tag:NAME", optional
            The transaction time (or a tag's); None means now.

        Returns
        -------
        list of datetime.date
            Sorted trading days with a version that has ticks.

        Examples
        --------
        >>> store.days("BTCUSD")  # doctest: +SKIP
        """
        self._engine.check_open()
        check_symbol(symbol)
        as_of_ns = self._engine.as_of_ns(as_of)
        index = self._engine.index(symbol)
        days = index.days()
        if not days:
            self._engine.check_exists()
            return []
        return [v.day for v in index.lookup(days[0], days[-1], as_of_ns) if v.may_have_rows]

    def summary(self, symbols: Sequence[str] | None = None) -> pd.DataFrame:
        """One row per symbol (default: every symbol): its current data and its number of versions.

        Thousands of symbols take about a second: one listing of the indexes and a read of the
        summary shards (``_summary/NN.json``, updated after every commit), whose entry for a symbol
        is used only while the symbol's index still has the ETag the entry was computed from.
        Indexes without a valid entry are read concurrently, and their shards are then updated
        (best effort: a lost race or a read-only credential only leaves them for the next call).

        Parameters
        ----------
        symbols : list of str, optional
            Only these symbols, in this order (unknown ones are left out).

        Returns
        -------
        pandas.DataFrame
            Indexed by ``symbol``: ``days`` with ticks now, ``first_day``, ``last_day``, ``rows`` and
            ``bytes`` of the current versions (None where a serenity store does not know), and
            ``versions`` (all of them, ended ones included).

        Warns
        -----
        UnreadableIndexWarning
            A symbol's index cannot be read; the other symbols are summarised.

        Examples
        --------
        >>> store.summary().sort_values("rows").tail()  # doctest: +SKIP
        """
        self._engine.check_open()
        self._engine.check_layout()
        if self._engine.serenity is not None:  # read-only: summarised from serenity's index, nothing written
            indexes = self._engine.serenity_indexes()
            chosen = sorted(indexes) if symbols is None else [check_symbol(s) for s in symbols]
            return summary_frame({s: summary_entry(indexes[s]) for s in chosen if s in indexes}, chosen)
        wanted = None if symbols is None else [check_symbol(s) for s in symbols]
        frame, listed = self._engine.summaries.frame(wanted)
        if not listed:
            self._engine.check_exists()
        return frame


_HISTORY_COLUMNS = (
    "day",
    "version",
    "start_time",
    "end_time",
    "recorded_at",
    "current",
    "rows",
    "bytes",
    "min_time",
    "max_time",
    "columns",
    "schema",
    "checksum",
    "key",
    "kind",
    "segments",
    "metadata",
)


def _describe(query: Query) -> str:
    """What a select reads, for its progress bar."""
    return f"{query.symbol} {query.versions[0].day}..{query.versions[-1].day}"
