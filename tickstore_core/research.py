"""The store's research reads: many symbols, bars, as-of joins, SQL and the files behind a select.

Part of `tickstore_core.store.Tickstore`. Each method checks its arguments and hands the work to
its own module (`tickstore_core.many`, `tickstore_core.bars`, `tickstore_core.joins`,
`tickstore_core.sql`, `tickstore_core.files`), which plans with `tickstore_core.query` and reads
every symbol-day through the engine, concurrently and through the cache.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from .engine import Engine
from .filters import FilterLike
from .outputs import Output

__all__ = ["ResearchAPI"]


class ResearchAPI:
    """Reads for research over the store (mixed into `Tickstore`)."""

    _engine: Engine

    def select_many(
        self,
        symbols: Sequence[str],
        start: Any = None,
        end: Any = None,
        *,
        columns: str | Sequence[str] | None = None,
        filters: FilterLike | None = None,
        as_of: Any = None,
        output: Output = "pandas",
    ) -> Any:
        """Ticks of many symbols in one time-sorted result, with a categorical ``symbol`` column.

        Every symbol-day is read at once on the store's thread pool (not symbol by symbol; small days
        already local or cached one after the other), through the local cache for remote stores,
        then the rows are merged by time: the merge, a pass over every column, is what 50 symbols
        of a day cost beyond one symbol with the same rows.

        Parameters
        ----------
        symbols : list of str
            The instruments; their order gives the categories of ``symbol`` and breaks ties between
            equal timestamps.
        start, end, as_of, filters, output
            As for `select`; every symbol is read as of the same ``as_of``.
        columns : str or list of str, optional
            Only these data columns; each must exist for at least one symbol (missing ones read as
            nulls for the others).

        Returns
        -------
        pandas.DataFrame, pyarrow.Table or polars.DataFrame
            Sorted by time (stably: equal timestamps in the order of ``symbols``, then inserted
            order), with ``symbol`` as the first data column (categorical / dictionary-encoded). The
            union of the symbols' columns; a symbol without a column has nulls there.

        Raises
        ------
        InvalidInputError
            ``symbols`` is a single string, empty, or lists a symbol twice; or a filter or
            ``output`` is invalid.
        ColumnNotFoundError
            No symbol has a column asked for (or filtered on) in the range.
        SchemaError
            Two symbols' columns have types no promotion combines (see the schema policy).

        Warns
        -----
        UnknownSymbolWarning
            Some symbols are not in the store (all listed in one warning); they read as empty.

        Examples
        --------
        >>> store.select_many(["BTCUSD", "ETHUSD", "SOLUSD"], "2024-03-04", "2024-03-04")  # doctest: +SKIP
        >>> store.select_many(universe, "2024-03", filters=[("size", ">", 10)], output="arrow")  # doctest: +SKIP
        """
        from .many import select_many

        return select_many(self._engine, symbols, start, end, columns, filters, as_of, output)

    def bars(
        self,
        symbol_or_symbols: str | Sequence[str],
        start: Any = None,
        end: Any = None,
        freq: Any = "5min",
        *,
        price: str = "price",
        size: str | None = "size",
        as_of: Any = None,
        fill: str | None = None,
        output: Output = "pandas",
    ) -> Any:
        """Open, high, low, close, volume, trades and VWAP per bar, computed day by day in the store.

        Each day is read (only ``price`` and ``size``) on the store's pool one chunk of 65,536
        ticks at a time: a chunk is reduced to bars and dropped before the next is decoded, so at
        most two chunks of ticks per core are in memory at once, besides the bars (a whole day for
        a day made by appends and not yet compacted, or written by tickstore 0.1).

        Parameters
        ----------
        symbol_or_symbols : str or list of str
            One instrument, or several (then with a categorical ``symbol`` column, as in
            `select_many`).
        start, end, as_of
            As for `select`.
        freq : str or timedelta
            The bar length; it must divide a day (``"1s"``, ``"5min"``, ``"1h"``, ``"1D"``). Bars
            are aligned to the store's time zone: each trading day's first bar starts at its local
            midnight. A bar is labelled by its left edge and holds ``label <= time < label + freq``.
        price, size : str
            The columns to aggregate; ``size=None`` leaves out ``volume`` and ``vwap``.
        fill : {None, "ffill"}
            None (default): bars without ticks are absent. ``"ffill"``: every bar from the first to
            the last is there; an empty bar repeats the previous close as its open, high, low and
            close, with zero ``volume`` and ``trades`` and a missing ``vwap``.
        output : {"pandas", "arrow", "polars"}
            As for `select`.

        Returns
        -------
        pandas.DataFrame, pyarrow.Table or polars.DataFrame
            Indexed by the bar's start (the store's timestamp column, tz-aware): ``open``, ``high``,
            ``low``, ``close`` (float), ``volume`` (the sum of ``size``, missing sizes as 0),
            ``trades`` (ticks with a price), ``vwap``. Ticks without a price are left out.

        Raises
        ------
        InvalidInputError
            ``freq`` does not divide a day, ``fill`` is unknown, or ``price``/``size`` is not numeric.
        ColumnNotFoundError
            The ticks have no ``price`` or ``size`` column.

        Examples
        --------
        >>> store.bars("BTCUSD", "2024-03-04", "2024-03-08", "5min")  # doctest: +SKIP
        >>> store.bars(["BTCUSD", "ETHUSD"], "2024-03", freq="1h", fill="ffill")  # doctest: +SKIP
        """
        from .bars import bars

        return bars(self._engine, symbol_or_symbols, start, end, freq, price, size, as_of, fill, output)

    def asof_join(
        self,
        left: str,
        right: str,
        start: Any = None,
        end: Any = None,
        *,
        on_columns: str | Sequence[str] | None = None,
        tolerance: Any = None,
        as_of: Any = None,
        output: Output = "pandas",
    ) -> Any:
        """Each tick of ``left`` with the latest tick of ``right`` at or before its time ("as known at ``as_of``").

        Like ``pd.merge_asof(left, right, direction="backward")`` over the whole history of
        ``right``: the last right tick of the previous day (or of the last earlier day with ticks) is
        carried across midnight to the first left ticks of a day. Both symbols are read as of the
        same transaction time; ``as_of=None`` is fixed to one "now" for both reads, so a correction
        committed meanwhile cannot pair old trades with new quotes.

        Parameters
        ----------
        left, right : str
            The symbols, e.g. trades and quotes.
        start, end : optional
            The range of ``left`` ticks, as for `select`.
        on_columns : str or list of str, optional
            The columns of ``right`` to attach (default: all). A right column whose name ``left``
            has too gets the suffix ``_right``.
        tolerance : str or timedelta, optional
            Attach only right ticks at most this much older than the left tick (``"1s"``);
            otherwise the right columns are missing.
        as_of, output
            As for `select`.

        Returns
        -------
        pandas.DataFrame, pyarrow.Table or polars.DataFrame
            The left ticks (their index and columns) followed by the right columns; missing where
            no right tick is at or before the left tick (within ``tolerance``).

        Raises
        ------
        InvalidInputError
            ``tolerance`` is not a non-negative duration.
        ColumnNotFoundError
            ``right`` has no column of ``on_columns`` in the range.

        Examples
        --------
        >>> store.asof_join("BTCUSD", "BTCUSD.quotes", "2024-03-04", "2024-03-08")  # doctest: +SKIP
        >>> store.asof_join("BTCUSD", "BTCUSD.q", "2024-03", on_columns=["bid"], tolerance="5s")  # doctest: +SKIP
        """
        from .joins import asof_join

        return asof_join(self._engine, left, right, start, end, on_columns, tolerance, as_of, output)

    def sql(self, query: str, *, as_of: Any = None, output: Output = "pandas") -> Any:
        """Run a DuckDB SQL query over the store: ``FROM ticks('BTCUSD', '2024-03-04', '2024-03-08')``.

        Each ``ticks(symbol[, start[, end]])`` in the query (string literals or NULL; bounds as for
        `select`) streams the selected versions to DuckDB as Arrow record batches, day by day, so
        DuckDB filters, aggregates and joins without the store materialising the range. Every
        ``ticks`` call of one query reads as of the same transaction time. The timestamp column is
        a ``TIMESTAMP WITH TIME ZONE``; the session's time zone is the store's.

        Parameters
        ----------
        query : str
            The SQL (DuckDB's dialect).
        as_of : timestamp, optional
            The transaction time every ``ticks`` call reads at (None: one "now" for the query).
        output : {"pandas", "arrow", "polars"}
            The kind of result.

        Returns
        -------
        pandas.DataFrame, pyarrow.Table or polars.DataFrame
            The query's result (not indexed: the columns as the query names them).

        Raises
        ------
        MissingDependencyError
            DuckDB is not installed: ``pip install "tickstore[sql]"``.
        InvalidInputError
            The query is empty, a ``ticks`` call's arguments are not literals, or DuckDB refused the
            query (its message is included).

        Examples
        --------
        >>> store.sql("SELECT side, sum(size) FROM ticks('BTCUSD', '2024-03-04') GROUP BY side")  # doctest: +SKIP
        >>> store.sql("SELECT count(*) FROM ticks('BTCUSD') t JOIN ticks('ETHUSD') e USING (time)")  # doctest: +SKIP
        """
        from .sql import run_sql

        return run_sql(self._engine, query, as_of, output)

    def files(
        self, symbol: str, start: Any = None, end: Any = None, as_of: Any = None, columns: Any = None
    ) -> pd.DataFrame:
        """The objects a `select` with these arguments reads, and the byte ranges of each it reads, so other
        tools can read them directly.

        Each object holds one version of one day (or one appended segment of it), specified in the
        format page (``docs/format.md``): ``tickstore-arrow`` on object stores and, inside an HDF5
        file, on the local store (tickstore 0.2); Parquet and ``tickstore-hdf5`` 1 from tickstore
        0.1. A ``tickstore-arrow`` object is read in parts (one column of one chunk of rows, each a
        compressed Arrow IPC stream); ``ranges`` lists those the select decodes: only the chunks
        with ticks in the range and only ``columns``. A select also trims each day's ticks to
        ``start <= time <= end``; a reader of these objects must do the same.

        Parameters
        ----------
        symbol, start, end, as_of, columns
            As for `select`.

        Returns
        -------
        pandas.DataFrame
            One row per object, in day order: ``url`` (the store's URL and the key), ``key``,
            ``day``, ``version``, ``encoding`` (``arrow``, ``hdf5-arrow``, ``parquet``, ``hdf5``,
            or ``serenity`` for a serenity store's files), ``bytes``, ``rows``, ``min_time``,
            ``max_time``, ``start_time`` and ``end_time`` (the transaction times it is the truth
            between), ``checksum`` (SHA-256 of the object) and ``ranges``: the ``(offset, length)``
            byte ranges of the object the select reads, by offset, or None for an object read
            whole (Parquet, ``tickstore-hdf5`` 1, serenity's files).

        Examples
        --------
        >>> files = store.files("BTCUSD", "2024-03-04T14:00", "2024-03-04T15:00", columns=["price"])  # doctest: +SKIP
        >>> offset, length = files.ranges[0][0]  # doctest: +SKIP
        >>> pyarrow.ipc.open_stream(store.backend.get_range(files.key[0], offset, length)).read_all()  # doctest: +SKIP
        """
        from .files import list_files

        return list_files(self._engine, symbol, start, end, as_of, columns)
