"""The bitemporal tick store.

:class:`Tickstore` partitions ticks by symbol and day, keeps every version of every partition in
transaction time, and stores them through any :class:`~tickstore_core.backend.Backend`.

Commit protocol (the only place that writes an index): a writer uploads the data object under a
new key first, then swaps the symbol's index with a conditional put on the ETag it read. A writer
that loses the race re-reads the index and retries, so no version is lost or numbered twice. A
crash between the two steps leaves only an orphan object, never a broken index. With the
``behemoth`` layout the data key carries the version number, so the writers of a symbol hold the
backend's lock around the whole insert instead, and create each file without ever overwriting one.

A location without a manifest that holds serenity's ``index.h5`` (or ``index`` blob) is a serenity
store: its index is read into memory (:mod:`tickstore_core.serenity_index`) and is the truth for
every read; nothing is written into it. Without that index, versions are derived from the data
files' names and modification times, with a :class:`LegacyIndexWarning`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import itertools
import json
import logging
import os
import random
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import pyarrow as pa

from .backend import Backend, IfMatch, ObjectMeta, PutMode
from .bitemporal import next_version_number, plan_delete, plan_insert
from .cache import DEFAULT_CACHE_SIZE, ObjectCache
from .encoding import ARROW_ENCODINGS, Codec, codec_for, decode_by_content, write_codec
from .encoding.arrow import ArrowObject
from .errors import (
    BackendError,
    ColumnNotFoundError,
    CommitConflictError,
    ConfigError,
    CorruptObjectError,
    InvalidInputError,
    InvalidTicksError,
    InvalidTimeError,
    LegacyIndexWarning,
    LegacyStoreError,
    MissingDependencyError,
    ObjectExistsError,
    ObjectNotFoundError,
    OfflineError,
    OfflineWarning,
    PreconditionFailedError,
    SchemaError,
    StoreClosedError,
    StoreNotFoundError,
    TickstoreError,
    TransactionTimeError,
    UnknownLayoutError,
    UnreadableIndexWarning,
)
from .fills import BackgroundFills
from .frames import empty_frame, frame_from_tables, schema_fingerprint, split_days, ticks_to_table
from .index import SymbolIndex, Version
from .integrity import checksum, matches
from .layout import INDEX_PREFIX, MANIFEST_KEY, Layout, layout_for, summary_key, writer_token
from .progress import progress_bar
from .schema import check_compatible, type_code, unify_tables
from .serenity_index import INDEX_KEYS, index_from_listing, read_serenity_index
from .symbols import check_symbol
from .times import (
    FIRST_DAY,
    LAST_DAY,
    TIME_MAX,
    TIME_MIN,
    BiTimestamp,
    DayLike,
    TimeLike,
    check_tz,
    format_ns,
    now_ns,
    tick_range_ns,
    to_day,
    to_utc_end_ns,
    to_utc_ns,
)

__all__ = ["Tickstore"]

log = logging.getLogger("tickstore")

MANIFEST_FORMAT = "tickstore/1"
SUMMARY_FORMAT = "tickstore-summary/1"
_SUMMARY_COLUMNS = ("days", "first_day", "last_day", "rows", "bytes", "versions")
_DAY_COLUMNS = ("first_day", "last_day")
DEFAULT_TIMESTAMP_COLUMN = "time"
DEFAULT_TZ = "UTC"
MAX_COMMIT_ATTEMPTS = 60
FUTURE_TOLERANCE_NS = 60 * 1_000_000_000
_T = TypeVar("_T")
_N = TypeVar("_N", int, float)


@dataclass(frozen=True)
class _LoadedIndex:
    index: SymbolIndex
    etag: str | None
    loaded_at: float


@dataclass(frozen=True)
class _Legacy:
    """A serenity store's indexes, held in memory: read from ``key`` (None: derived from the files)."""

    key: str | None
    indexes: dict[str, SymbolIndex]
    etag: str | None
    loaded_at: float


@dataclass(frozen=True)
class _Query:
    """A checked select: the symbol, UTC bounds, columns and the versions to read."""

    symbol: str
    start: int
    end: int
    columns: list[str] | None
    versions: list[Version]


@dataclass(frozen=True)
class _Encoded:
    """One day of an insert, encoded and summarised before anything is written."""

    day: dt.date
    payload: bytes
    version: Version


class Tickstore:
    """A bitemporal store of tick DataFrames over one backend.

    Open one with `tickstore_core.open_store`; use it as a context manager or call `close`.
    Ticks are DataFrames indexed by timestamp; they are partitioned by symbol and day (the
    calendar day in the store's time zone, UTC by default), and every insert of a day creates a
    new immutable version. Reads pick, per day, the version valid at ``as_of``.

    Guarantees: an insert or delete is atomic per symbol (all its days or none become visible);
    concurrent writers never lose a version; readers never see a partial version; every object read
    is verified against what was recorded at commit (its checksum, or the CRC-32 of each part of a
    ``tickstore-arrow`` object). A store object may be shared by threads.

    Examples
    --------
    >>> import tickstore_core as ts
    >>> with ts.open_store("memory://doctest") as store:  # doctest: +SKIP
    ...     store.insert("BTCUSD", ticks)
    ...     df = store.select("BTCUSD", "2024-01-02", "2024-01-03 12:00")
    """

    def __init__(
        self,
        backend: Backend,
        *,
        timestamp_column: str | None = None,
        tz: str | None = None,
        cache: ObjectCache | bool | None = None,
        cache_dir: str | Path | None = None,
        cache_size: int | str | None = None,
        index_ttl: float = 5.0,
        max_workers: int | None = None,
        progress: bool | None = None,
        allow_pickle: bool = False,
        owns_backend: bool = True,
    ) -> None:
        self.backend = backend
        self.cache = self._open_cache(cache, cache_dir, cache_size)
        self.layout: Layout = layout_for(backend.layout)
        self.codec: Codec = write_codec(backend.encoding, allow_pickle=allow_pickle)
        self._previous_codec: Codec = codec_for(backend.encoding, allow_pickle=allow_pickle)  # 0.1's objects
        self._fills = BackgroundFills()
        self.index_ttl = _number_option("index_ttl", index_ttl, float, minimum=0) or 0.0
        self.max_workers = _number_option("max_workers", max_workers, int, minimum=1) or (4 if backend.is_local else 16)
        self.progress = progress
        self._owns_backend = owns_backend
        self._indexes: dict[str, _LoadedIndex] = {}
        self._lock = threading.RLock()
        self._pool: ThreadPoolExecutor | None = None
        self._closed = False
        self._manifest_written = False
        self._allow_pickle = allow_pickle
        self._legacy: _Legacy | None = None
        self._unknown_layout: str | None = None
        self._exists = False
        manifest = self._read_manifest()
        self.timestamp_column, self.tz = self._settings(manifest, timestamp_column, tz)
        if manifest is None:
            self._detect_legacy()
        elif self.layout.version_named and self._read_legacy_index(INDEX_KEYS[:1]):
            message = (
                f"{self.backend.url} holds serenity's index.h5 and also the indexes an older tickstore built "
                "from the files; index.h5 is the truth (exact times and deletes), the _index/ files are ignored"
            )
            log.warning(message)
            warnings.warn(message, LegacyIndexWarning, stacklevel=3)

    # --- opening ---------------------------------------------------------------------------

    def _open_cache(
        self, cache: ObjectCache | bool | None, directory: str | Path | None, size: int | str | None
    ) -> ObjectCache | None:
        """The store's cache: on by default for remote backends, off for local ones."""
        self._owns_cache = False
        if isinstance(cache, ObjectCache):
            return cache
        if cache is not None and not isinstance(cache, bool):
            raise ConfigError(f"cache must be True, False or an ObjectCache, got {type(cache).__name__}")
        if directory is not None and not isinstance(directory, (str, os.PathLike)):
            raise ConfigError(f"cache_dir must be a directory path, got {type(directory).__name__}")
        if cache is False or (cache is None and self.backend.is_local):
            return None
        size = size if size is not None else os.environ.get("TICKSTORE_CACHE_SIZE", DEFAULT_CACHE_SIZE)
        self._owns_cache = True
        return ObjectCache(directory, size)

    def _read_manifest(self) -> dict[str, Any] | None:
        _, data = self._read_revalidated(MANIFEST_KEY)
        if data is None:
            return None
        try:
            manifest = json.loads(data)
            if manifest.get("format") != MANIFEST_FORMAT:
                raise ValueError(f"unknown format {manifest.get('format')!r}")
        except (ValueError, AttributeError) as exc:
            raise CorruptObjectError(f"{self.backend.url}/{MANIFEST_KEY} is not a tickstore manifest: {exc}") from exc
        self._manifest_written = True
        return dict(manifest)

    def _settings(
        self, manifest: dict[str, Any] | None, timestamp_column: str | None, tz: str | None
    ) -> tuple[str, str]:
        stored = manifest or {}
        if tz is not None:
            tz = check_tz(tz)
        if "tz" in stored:
            check_tz(stored["tz"], f"recorded in {self.backend.url}/{MANIFEST_KEY}, which you may correct")
        for name, asked in (("timestamp_column", timestamp_column), ("tz", tz)):
            if asked is not None and name in stored and stored[name] != asked:
                raise ConfigError(
                    f"the store at {self.backend.url} uses {name}={stored[name]!r}, not {asked!r}; "
                    f"omit {name} to use the store's setting"
                )
        column = stored.get("timestamp_column") or timestamp_column or DEFAULT_TIMESTAMP_COLUMN
        zone = stored.get("tz") or tz or DEFAULT_TZ
        if not isinstance(column, str) or not column:
            raise ConfigError(f"timestamp_column must be a non-empty string, got {column!r}")
        return column, zone

    def _ensure_manifest(self) -> None:
        if self._manifest_written:
            return
        manifest = {
            "format": MANIFEST_FORMAT,
            "timestamp_column": self.timestamp_column,
            "tz": self.tz,
            "layout": self.layout.name,
            "encoding": self.codec.name,
        }
        data = json.dumps(manifest, indent=1).encode()
        try:
            written = self.backend.put(MANIFEST_KEY, data, mode="create")
        except ObjectExistsError:
            stored = self._read_manifest() or {}
            self._settings(stored, self.timestamp_column, self.tz)
        else:
            if self.cache is not None:  # so that this machine can open the store offline
                self.cache.put_tagged(self.backend.url, MANIFEST_KEY, written.etag, data)
        self._manifest_written = True

    # --- public API: writing ---------------------------------------------------------------

    def insert(
        self, symbol: str, ticks: pd.DataFrame, day: DayLike | None = None, *, as_of: TimeLike | None = None
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
        self._check_open()
        check_symbol(symbol)
        self._check_writable()
        explicit = self._explicit_as_of(day, as_of)
        table = ticks_to_table(ticks, self.timestamp_column)
        self._check_tick_range(table)
        by_day = split_days(table, self.tz)
        if day is not None:
            wanted_day = to_day(day, self.tz)
            other_days = sorted(set(by_day) - {wanted_day})
            if other_days:
                shown = ", ".join(map(str, other_days[:5]))
                raise InvalidTicksError(
                    f"day={wanted_day} was given but ticks also fall on {shown} ({self.tz}); "
                    "insert without day= to split them by day"
                )
            by_day = {wanted_day: by_day.get(wanted_day, table.slice(0, 0))}
        elif not by_day:
            raise InvalidTicksError("the ticks are empty; pass day= to record a day without ticks")
        days = sorted(by_day.items())
        encoded = self._map(lambda item: self._encode(symbol, *item), days, f"encode {symbol}") if days else []
        _check_schema(symbol, self._index_to_check(symbol), encoded)  # before anything is written
        self._ensure_manifest()
        return self._commit_insert(symbol, encoded, explicit)

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
        self._check_open()
        check_symbol(symbol)
        self._check_writable()
        wanted_day = to_day(day, self.tz)
        explicit = self._explicit_as_of(day, as_of)

        def change(index: SymbolIndex) -> tuple[SymbolIndex | None, Version | None]:
            ended = plan_delete(
                index,
                wanted_day,
                wanted=now_ns() if explicit is None else explicit,
                explicit=explicit is not None,
            )
            return (None, None) if ended is None else (index.replace([ended]), ended)

        return self._commit(symbol, change)

    # --- public API: reading ---------------------------------------------------------------

    def select(
        self,
        symbol: str,
        start: Any = None,
        end: Any = None,
        as_of: Any = None,
        columns: str | Sequence[str] | None = None,
    ) -> pd.DataFrame:
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
        as_of : timestamp, optional
            The transaction time to read at: per day, the version valid then. None reads the current
            versions.
        columns : str or list of str, optional
            Only these data columns (the time index is always there).

        Returns
        -------
        pandas.DataFrame
            Indexed by the store's timestamp column (tz-aware, sorted, equal timestamps in inserted
            order). An unknown symbol or an empty range gives an empty DataFrame.

        Raises
        ------
        InvalidTimeError
            A bound cannot be read as a time, or ``start`` is after ``end``.
        ColumnNotFoundError
            A column asked for exists on none of the selected days.
        StoreNotFoundError
            The store's directory, bucket or container does not exist.

        Examples
        --------
        >>> store.select("BTCUSD", "2024-03-04", "2024-03-08")  # doctest: +SKIP
        >>> store.select("BTCUSD", "2024-03-04", "2024-03-08", as_of="2024-03-09")  # doctest: +SKIP
        >>> store.select("BTCUSD", "2024-03", columns=["price"])  # doctest: +SKIP
        """
        query = self._query(symbol, start, end, as_of, columns)
        if not query.versions:
            return empty_frame(self.timestamp_column, self.tz, query.columns or ())
        versions = query.versions
        tables = self._map(
            lambda v: _trim(self._read_version(symbol, v, query.columns, query.start, query.end), query.start, query.end),
            versions,
            f"{symbol} {versions[0].day}..{versions[-1].day}",
        )
        labels = [str(v.day) if as_of is None else f"{v.day} (version {v.version})" for v in versions]
        if not all(v.stats_known for v in versions):  # serenity's files: columns known only now, days may spill
            _check_read_columns(symbol, tables, query.columns)
            tables = _in_time_order(unify_tables(tables, labels))
            if len(tables) != len(labels):
                labels = [f"{versions[0].day}..{versions[-1].day}"]
        return frame_from_tables(tables, self.timestamp_column, self.tz, query.columns, labels)

    def to_dask(
        self,
        symbol: str,
        start: Any = None,
        end: Any = None,
        as_of: Any = None,
        columns: str | Sequence[str] | None = None,
    ) -> Any:
        """The ticks `select` would return, as a lazy dask DataFrame with one partition per day.

        Divisions are known (day boundaries), and each worker reads its days through the same backend
        and local cache, so a ``dask.distributed`` cluster reads them in parallel.

        Parameters
        ----------
        symbol, start, end, as_of, columns
            As for `select`.

        Returns
        -------
        dask.dataframe.DataFrame

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

        return to_dask(self, self._query(symbol, start, end, as_of, columns))

    def prefetch(self, symbol: str, start: Any = None, end: Any = None, as_of: Any = None) -> int:
        """Fetch the objects a select would read into the local cache, for offline work.

        Parameters
        ----------
        symbol : str
            The instrument.
        start, end, as_of : optional
            As for `select`.

        Returns
        -------
        int
            The bytes of the objects now in the cache.

        Raises
        ------
        ConfigError
            The store has no cache, or the cache cannot be written.

        Examples
        --------
        >>> store.prefetch("BTCUSD", "2024-03-01", "2024-03-31")  # doctest: +SKIP
        """
        if self.cache is None:
            raise ConfigError(f"the store {self.backend.url} has no cache; open it with cache=True to prefetch")
        if not self.cache.writable:
            raise ConfigError(f"cannot prefetch: {self.cache.problem}")
        query = self._query(symbol, start, end, as_of, None)
        self._map(lambda v: self._read_version(symbol, v, ()), query.versions, f"prefetch {symbol}")
        return sum(v.bytes or 0 for v in query.versions)

    def _query(self, symbol: str, start: Any, end: Any, as_of: Any, columns: str | Sequence[str] | None) -> _Query:
        """Check a select's arguments and find the versions it reads: those with ticks in range."""
        self._check_open()
        check_symbol(symbol)
        start_ns = TIME_MIN if start is None else to_utc_ns(start, "start", self.tz)
        end_ns = TIME_MAX if end is None else to_utc_end_ns(end, "end", self.tz)
        if start_ns > end_ns:
            raise InvalidTimeError(f"start {format_ns(start_ns)} is after end {format_ns(end_ns)}")
        as_of_ns = None if as_of is None else to_utc_ns(as_of, "as_of")
        wanted = self._check_columns(columns)
        index = self._index(symbol)
        if not len(index):
            self._check_exists()
        first, last = self._day_of(start_ns, index, first=True), self._day_of(end_ns, index, first=False)
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
        if wanted is not None and versions and all(v.columns is not None for v in versions):
            known = {c for v in versions for c in v.columns or ()}
            missing = [c for c in wanted if c not in known]
            if missing:
                raise ColumnNotFoundError(
                    f"{symbol} has no column {', '.join(map(repr, missing))} in the selected range; "
                    f"columns there: {', '.join(sorted(known))}"
                )
        return _Query(symbol, start_ns, end_ns, wanted, versions)

    def history(self, symbol: str, day: DayLike | None = None) -> pd.DataFrame:
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
            ``min_time``, ``max_time``, ``columns``, ``schema``, ``checksum`` and ``key``. Versions of
            a serenity store have no statistics: those columns are NA.

        Examples
        --------
        >>> store.history("BTCUSD", "2024-03-06")[["version", "start_time", "end_time", "rows"]]  # doctest: +SKIP
        """
        self._check_open()
        check_symbol(symbol)
        index = self._index(symbol)
        if not len(index):
            self._check_exists()
        versions: Iterable[Version] = index if day is None else index.versions(to_day(day, self.tz))
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
        self._check_open()
        self._check_layout()
        if self._legacy is not None:
            return sorted(self._legacy_indexes())
        found = (self.layout.symbol_of_index_key(meta.key) for meta in self.backend.list(INDEX_PREFIX))
        symbols = sorted(s for s in found if s)
        if not symbols:
            self._check_exists()
        return symbols

    def days(self, symbol: str, as_of: Any = None) -> list[dt.date]:
        """The days of ``symbol`` that have ticks at transaction time ``as_of``.

        Parameters
        ----------
        symbol : str
            The instrument.
        as_of : timestamp, optional
            The transaction time; None means now.

        Returns
        -------
        list of datetime.date
            Sorted trading days with a version that has ticks.

        Examples
        --------
        >>> store.days("BTCUSD")  # doctest: +SKIP
        """
        self._check_open()
        check_symbol(symbol)
        as_of_ns = None if as_of is None else to_utc_ns(as_of, "as_of")
        index = self._index(symbol)
        days = index.days()
        if not days:
            self._check_exists()
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
        self._check_open()
        self._check_layout()
        if self._legacy is not None:  # read-only: summarised from serenity's index, nothing written
            indexes = self._legacy_indexes()
            chosen = sorted(indexes) if symbols is None else [check_symbol(s) for s in symbols]
            return _summary_frame({s: _summary_entry(indexes[s]) for s in chosen if s in indexes}, chosen)
        listed = {
            symbol: meta.etag
            for meta in self.backend.list(INDEX_PREFIX)
            if (symbol := self.layout.symbol_of_index_key(meta.key))
        }
        if not listed:
            self._check_exists()
        wanted = sorted(listed) if symbols is None else [check_symbol(s) for s in symbols]
        shards = sorted({summary_key(s) for s in wanted})
        read = dict(zip(shards, self._map(self._read_summary, shards, "summary"), strict=True))
        stored = {s: e for _, shard in read.values() for s, e in shard.items()}
        entries = {s: stored[s] for s in wanted if s in stored and stored[s].get("etag") == listed.get(s)}
        stale = [s for s in wanted if s not in entries and s in listed]
        fresh = self._map(self._summarise, [(s, listed[s]) for s in stale], "summary")
        for symbol, entry in zip(stale, fresh, strict=True):
            if isinstance(entry, str):  # an unreadable index: say so, summarise the others
                log.warning(entry)
                warnings.warn(entry, UnreadableIndexWarning, stacklevel=2)
            elif entry is not None:
                entries[symbol] = entry
        for key, (etag, shard) in read.items():  # keep what was computed, drop what is stale or gone
            kept = {
                s: e
                for s, e in {**shard, **entries}.items()
                if summary_key(s) == key and s in listed and e.get("etag") == listed[s]
            }
            if kept != shard:
                self._write_summary(key, kept, etag)
        return _summary_frame(entries, wanted)

    def _read_summary(self, key: str, *, offline_ok: bool = True) -> tuple[str | None, dict[str, dict[str, Any]]]:
        """(ETag, entries) of one summary shard; no entries if it is missing or unreadable."""
        etag, data = self._read_revalidated(key, offline_ok=offline_ok)
        return etag, _summary_entries(data)

    def _update_summary(self, symbol: str, index: SymbolIndex, index_etag: str) -> None:
        """After a commit, record the symbol's new statistics in its summary shard (best effort).

        A listing then reads the shards instead of every index. A lost race or a failure only
        leaves the entry stale: a listing sees its ETag differ from the index's and recomputes it.
        """
        key = summary_key(symbol)
        try:
            etag, entries = self._read_summary(key, offline_ok=False)
        except TickstoreError as exc:
            log.debug("summary of %s not updated: %s", self.backend.url, exc)
            return
        entries[symbol] = {"etag": index_etag, **_summary_entry(index)}
        self._write_summary(key, entries, etag)

    def _summarise(self, listed: tuple[str, str]) -> dict[str, Any] | str | None:
        """The summary entry of one symbol's index, tagged with the ETag it was listed with.

        The bytes read are that version of the index or a newer one; a newer one only makes the
        entry look stale to the next call, never wrong. None if the index vanished meanwhile, and
        what is wrong (a message) if it cannot be read.
        """
        symbol, etag = listed
        key = self.layout.index_key(symbol)
        try:
            index = SymbolIndex.from_bytes(self.backend.get(key), where=f"{self.backend.url}/{key}")
        except ObjectNotFoundError:
            return None
        except CorruptObjectError as exc:
            return f"{symbol}: {exc}"
        return {"etag": etag, **_summary_entry(index)}

    def _write_summary(self, key: str, entries: dict[str, dict[str, Any]], etag: str | None) -> None:
        data = json.dumps({"format": SUMMARY_FORMAT, "symbols": entries}, separators=(",", ":")).encode()
        try:
            self.backend.put(key, data, mode="create" if etag is None else IfMatch(etag))
        except TickstoreError as exc:  # another reader won, or no right to write: the next call tries again
            log.debug("summary of %s not updated: %s", self.backend.url, exc)

    # --- lifecycle -------------------------------------------------------------------------

    def refresh(self) -> None:
        """Forget the indexes held in memory, so the next read sees every other writer's commits.

        A store re-reads an index anyway once it is older than ``index_ttl`` seconds. For a serenity
        store this re-reads its ``index.h5`` (if it changed) on the next read, so days, versions and
        deletes serenity wrote meanwhile are seen.

        Examples
        --------
        >>> store.refresh()  # doctest: +SKIP
        """
        with self._lock:
            self._indexes.clear()
            if self._legacy is not None:
                self._legacy = dataclasses.replace(self._legacy, loaded_at=-float("inf"))

    def flush(self) -> None:
        """Like :meth:`refresh`, after writing the cache fills still pending (inserts and deletes are
        durable when they return); what is held in memory is forgotten."""
        self._fills.wait_all()
        self.refresh()

    def cache_stats(self) -> dict[str, Any]:
        """This store's cache counters and the cache's size.

        Returns
        -------
        dict
            ``enabled``, and when it is: ``hits``, ``misses``, ``bytes_from_cache``, ``bytes_fetched``,
            ``evictions`` and the other counters, ``entries``, ``volume``, ``size_limit``,
            ``directory`` (and ``problem`` when the cache cannot be used).

        Examples
        --------
        >>> store.cache_stats()["hits"]  # doctest: +SKIP
        """
        self._fills.wait_all()  # the counters include the fills written behind earlier selects
        if self.cache is None:
            return {"enabled": False}
        return {
            "enabled": True,
            **self.cache.stats.as_dict(),
            "entries": self.cache.entries(),
            "volume": self.cache.volume(),
            "size_limit": self.cache.size_limit,
            "directory": str(self.cache.directory),
            **({"problem": self.cache.problem} if self.cache.problem else {}),
        }

    def close(self) -> None:
        """Release threads, connections and the cache; the store cannot be used afterwards.

        Examples
        --------
        >>> store.close()  # doctest: +SKIP
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)
        self._fills.close()
        if self._owns_backend:
            self.backend.close()
        if self.cache is not None and self._owns_cache:
            self.cache.close()

    def destroy(self) -> None:
        """Delete every object of the store (all symbols, versions and indexes), then close it.

        Objects the backend does not own (on the local store, files behind a symbolic link) stay.

        Raises
        ------
        LegacyStoreError
            A serenity store, which tickstore does not write into.

        Examples
        --------
        >>> store.destroy()  # doctest: +SKIP
        """
        self._check_open()
        self._check_writable()
        keys = [meta.key for meta in self.backend.list("") if self.backend.owns(meta.key)]
        self._map(self.backend.delete, keys, "destroy")
        self.flush()
        self.close()

    def __enter__(self) -> Tickstore:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _repr_html_(self) -> str:
        """A summary for Jupyter: backend, settings, symbols with their days, cache counters."""
        from .notebook import store_summary_html

        return store_summary_html(self)

    def __repr__(self) -> str:
        state = " closed" if self._closed else ""
        return (
            f"<Tickstore {self.backend.url} ({self.codec.name}, tz={self.tz}, "
            f"timestamp_column={self.timestamp_column!r}){state}>"
        )

    # --- internals: encoding and reading ---------------------------------------------------

    def _explicit_as_of(self, day: DayLike | None, given: TimeLike | None) -> int | None:
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

    def _check_tick_range(self, table: pa.Table) -> None:
        """Refuse ticks whose day a select or delete could not name (the extremes of pandas' range)."""
        if table.num_rows == 0:
            return
        first, last = tick_range_ns(self.tz)
        times = table.column(0)
        outside = [t for t in (int(times[0].value), int(times[-1].value)) if not first <= t <= last]
        if outside:
            raise InvalidTicksError(
                f"a tick at {pd.Timestamp(outside[0], tz='UTC')} is outside the supported range: ticks must "
                f"fall on the days {FIRST_DAY} .. {LAST_DAY} in the store's time zone ({self.tz}), i.e. "
                f"{pd.Timestamp(first, tz='UTC')} .. {pd.Timestamp(last, tz='UTC')}; drop or correct such ticks"
            )

    def _encode(self, symbol: str, day: dt.date, table: pa.Table) -> _Encoded:
        payload = self.codec.encode(table)
        times = table.column(0)
        rows = table.num_rows
        version = Version(
            day=day,
            version=-1,
            key="",
            start_time=0,
            end_time=0,
            recorded_at=0,
            rows=rows,
            bytes=len(payload),
            min_time=int(times[0].value) if rows else None,
            max_time=int(times[rows - 1].value) if rows else None,
            columns=tuple(table.column_names[1:]),
            schema=schema_fingerprint(table.schema),
            checksum=checksum(payload),
            types=tuple(type_code(field.type) for field in table.schema)[1:],
            encoding=self.codec.encoding,
        )
        return _Encoded(day, payload, version)

    def _read_version(
        self,
        symbol: str,
        version: Version,
        columns: Sequence[str] | None,
        start_ns: int | None = None,
        end_ns: int | None = None,
    ) -> pa.Table:
        """The version's ticks (timestamp and ``columns``; all if None): from the cache, else fetched and decoded.

        Objects in the ``tickstore-arrow`` format decode only the chunks with ticks in
        ``[start_ns, end_ns]`` (the caller trims the edges) and only ``columns``.
        """
        if version.encoding is not None:
            if version.encoding not in ARROW_ENCODINGS:
                raise CorruptObjectError(
                    f"{symbol} {version.day} version {version.version} ({version.key}) is encoded as "
                    f"{version.encoding!r}, which this tickstore cannot read; upgrade tickstore"
                )
            return self._read_arrow(symbol, version, columns, start_ns, end_ns)
        if self.cache is not None:
            cached = self.cache.get_table(self.backend.url, version.key, columns, checksum=_identity(version))
            if cached is not None:
                return cached
        data = self._fetch(symbol, version)
        fetched = len(data)
        wanted = columns if self.cache is None else None  # the cache keeps every column, for later selects
        try:
            if version.stats_known:
                table = self._previous_codec.decode(data, timestamp_column=self.timestamp_column, columns=wanted)
            else:  # a serenity object: HDF5 (local) or Parquet (Azure), whatever the backend's encoding
                table = decode_by_content(
                    data, timestamp_column=self.timestamp_column, columns=wanted, allow_pickle=self._allow_pickle
                )
        except TickstoreError as exc:
            raise type(exc)(f"{symbol} {version.day} version {version.version} ({version.key}): {exc}") from exc
        del data  # while many days are in flight, every copy held counts
        if self.cache is not None:
            self.cache.put_table(self.backend.url, version.key, table, checksum=_identity(version), fetched=fetched)
            if columns is not None:
                table = table.select([self.timestamp_column, *(c for c in columns if c in table.column_names)])
        return table

    def _read_arrow(
        self, symbol: str, version: Version, columns: Sequence[str] | None, start_ns: int | None, end_ns: int | None
    ) -> pa.Table:
        """A version in the ``tickstore-arrow`` format: from the cache's copy of the fetched bytes, else from
        the backend (memory-mapped where it offers a local file), decoding only what the select needs.

        Every part read is checked by its CRC-32 and the object's header against the index entry, so
        no whole-object checksum is computed on the way; a fetched object goes into the cache after the
        select returns (:class:`~tickstore_core.fills.BackgroundFills`), once its SHA-256 matches.
        """
        identity = _identity(version)
        url = self.backend.url
        if self.cache is not None:
            self._fills.wait_all()  # earlier fills first: the cache's LRU order is the order of the reads
            cached = self.cache.get_object(url, version.key, checksum=identity)
            if cached is not None:
                try:
                    table = self._decode_arrow(symbol, version, cached, columns, start_ns, end_ns)
                except CorruptObjectError:
                    self.cache.drop_object(url, version.key, checksum=identity)
                else:
                    self.cache.count(hits=1, bytes_from_cache=cached.size)
                    return table
        buffer = self._fetch_buffer(symbol, version)
        table = self._decode_arrow(symbol, version, buffer, columns, start_ns, end_ns)
        cache = self.cache
        if cache is not None and cache.writable:
            cache.count(bytes_fetched=buffer.size)

            def fill() -> None:
                try:
                    if matches(memoryview(buffer), version.checksum or ""):
                        cache.put_object(url, version.key, buffer, checksum=identity)
                finally:
                    cache.release_connection()

            self._fills.submit(version.key, fill)
        return table

    def _decode_arrow(
        self,
        symbol: str,
        version: Version,
        buffer: pa.Buffer,
        columns: Sequence[str] | None,
        start_ns: int | None,
        end_ns: int | None,
    ) -> pa.Table:
        """Decode a ``tickstore-arrow`` object (or the HDF5 file holding one), checked against ``version``."""
        where = f"{symbol} {version.day} version {version.version} ({version.key})"
        try:
            if version.encoding == "hdf5-arrow":
                from .encoding.hdf5 import payload_span

                span = payload_span(memoryview(buffer))
                if span is None or span[0] + span[1] > buffer.size:
                    raise CorruptObjectError("not an HDF5 file holding a tickstore-arrow object, or truncated")
                buffer = buffer.slice(*span)
            found = ArrowObject(buffer)
            first, last = found.chunks[0], found.chunks[-1]
            if (
                found.rows != version.rows
                or tuple(found.schema.names[1:]) != version.columns
                or (found.rows and (first.get("min"), last.get("max")) != (version.min_time, version.max_time))
            ):
                raise CorruptObjectError("it is not the object its index entry describes (rows, columns or times differ)")
            return found.read(self.timestamp_column, columns, start_ns, end_ns)
        except CorruptObjectError as exc:
            raise CorruptObjectError(f"{where} in {self.backend.url}: {exc}") from exc

    def _fetch_buffer(self, symbol: str, version: Version) -> pa.Buffer:
        """The version's object, memory-mapped when the backend offers a local file, else fetched."""
        path = self.backend.local_path(version.key)
        if path is not None:
            try:
                return pa.memory_map(path, "r").read_buffer()
            except (OSError, pa.ArrowException):
                pass  # missing or unreadable: the backend's get says so in its own words
        try:
            return pa.py_buffer(self.backend.get(version.key))
        except ObjectNotFoundError as exc:
            raise ObjectNotFoundError(
                f"{symbol} {version.day} version {version.version}: object {version.key} is missing from "
                f"{self.backend.url} although the index references it; run `tickstore fsck`"
            ) from exc

    def _fetch(self, symbol: str, version: Version) -> bytes:
        """The version's object from the backend, verified against the checksum in the index."""
        try:
            data = self.backend.get(version.key)
        except ObjectNotFoundError as exc:
            raise ObjectNotFoundError(
                f"{symbol} {version.day} version {version.version}: object {version.key} is missing from "
                f"{self.backend.url} although the index references it; run `tickstore fsck`"
            ) from exc
        if version.checksum is not None and not matches(data, version.checksum):
            raise CorruptObjectError(
                f"{symbol} {version.day} version {version.version}: object {version.key} in "
                f"{self.backend.url} does not match its checksum; it was changed or damaged after commit"
            )
        return data

    def _check_columns(self, columns: str | Sequence[str] | None) -> list[str] | None:
        if columns is None:
            return None
        if not isinstance(columns, str) and not isinstance(columns, Iterable):
            raise InvalidInputError(f"columns must be a column name or a list of names, got {type(columns).__name__}")
        wanted = [columns] if isinstance(columns, str) else list(columns)
        bad = [c for c in wanted if not isinstance(c, str)]
        if bad:
            raise InvalidInputError(f"columns must be column names (strings), got {bad!r}")
        if self.timestamp_column in wanted:
            raise InvalidInputError(f"{self.timestamp_column!r} is the index of every result; leave it out of columns")
        if len(set(wanted)) != len(wanted):
            raise InvalidInputError(f"columns lists a name twice: {wanted!r}")
        return wanted

    def _day_of(self, ns: int, index: SymbolIndex, *, first: bool) -> dt.date:
        if ns in (TIME_MIN, TIME_MAX):
            days = index.days()
            if not days:
                return dt.date(1970, 1, 1)
            return days[0] if first else days[-1]
        return to_day(pd.Timestamp(ns, tz="UTC"), self.tz)

    def _map(self, work: Callable[[Any], _T], items: Sequence[Any], description: str) -> list[_T]:
        """``work`` over ``items`` on the store's thread pool, in order, with a progress bar."""
        if len(items) <= 1:
            return [work(item) for item in items]
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.max_workers, thread_name_prefix="tickstore")
            pool = self._pool
        futures = [pool.submit(work, item) for item in items]
        enabled = self.progress if self.progress is not None else (None if len(items) >= 8 else False)
        results = []
        try:
            with progress_bar(len(items), description, enabled) as bar:
                for future in futures:
                    results.append(future.result())
                    bar.update(1)
        except BaseException:
            for future in futures:
                future.cancel()
            raise
        return results

    # --- internals: the index and the commit protocol --------------------------------------

    def _index(self, symbol: str) -> SymbolIndex:
        """The symbol's index, from memory if loaded less than ``index_ttl`` seconds ago."""
        self._check_layout()
        if self._legacy is not None:
            return self._legacy_indexes().get(symbol) or SymbolIndex(symbol)
        with self._lock:
            loaded = self._indexes.get(symbol)
        if loaded is not None and time.monotonic() - loaded.loaded_at < self.index_ttl:
            return loaded.index
        return self._load_index(symbol).index

    def _index_to_check(self, symbol: str) -> SymbolIndex:
        """The symbol's index for checks before a write: as :meth:`_index`, never from the offline cache.

        If the backend cannot be reached, the index held in memory (or none) is used: the commit,
        which needs the backend anyway, checks again against the index it swaps.
        """
        with self._lock:
            loaded = self._indexes.get(symbol)
        if loaded is not None and time.monotonic() - loaded.loaded_at < self.index_ttl:
            return loaded.index
        try:
            return self._load_index(symbol, offline_ok=False).index
        except BackendError:
            return loaded.index if loaded is not None else SymbolIndex(symbol)

    def _load_index(self, symbol: str, *, offline_ok: bool = True) -> _LoadedIndex:
        """Read the symbol's index from the backend, or revalidate the cached copy."""
        if self._legacy is not None:
            index = self._legacy_indexes().get(symbol) or SymbolIndex(symbol)
            return _LoadedIndex(index, self._legacy.etag, self._legacy.loaded_at)
        key = self.layout.index_key(symbol)
        etag, data = self._read_revalidated(key, offline_ok=offline_ok)
        if data is None:
            loaded = _LoadedIndex(SymbolIndex(symbol), None, time.monotonic())
        else:
            index = SymbolIndex.from_bytes(data, where=f"{self.backend.url}/{key}")
            loaded = _LoadedIndex(index, etag, time.monotonic())
        self._remember(symbol, loaded)
        return loaded

    def _read_revalidated(self, key: str, *, offline_ok: bool = True) -> tuple[str | None, bytes | None]:
        """(ETag, bytes) of a mutable object, or (None, None) if it does not exist.

        HEAD comes before GET, so the ETag is never newer than the bytes (a compare-and-swap on a
        stale pair fails safely). A cached copy with the current ETag saves the GET; when the
        backend cannot be reached, the cached copy is used with an :class:`OfflineWarning`, unless
        ``offline_ok`` is false (a commit needs the backend anyway).
        """
        cached = self.cache.get_tagged(self.backend.url, key) if self.cache is not None else None
        try:
            meta = self.backend.head(key)
        except ObjectNotFoundError:
            if self.cache is not None and cached is not None:
                self.cache.forget_tagged(self.backend.url, key)
            return None, None
        except BackendError as exc:
            if not offline_ok:
                raise
            if self.cache is None or cached is None:
                raise OfflineError(
                    f"{self.backend.url} cannot be reached and {key} is not in the local cache ({exc}); "
                    "check the connection, or warm the cache while online"
                ) from exc
            self.cache.count(offline_reads=1)
            message = f"{self.backend.url} cannot be reached ({exc}); using the cached copy of {key}"
            log.warning(message)
            warnings.warn(message, OfflineWarning, stacklevel=4)
            return cached
        if cached is not None and cached[0] == meta.etag:
            assert self.cache is not None
            self.cache.count(revalidations=1)
            return cached
        data = self.backend.get(key)
        if self.cache is not None:
            self.cache.put_tagged(self.backend.url, key, meta.etag, data)
        return meta.etag, data

    def _remember(self, symbol: str, loaded: _LoadedIndex) -> None:
        with self._lock:
            self._indexes[symbol] = loaded

    def _commit(
        self,
        symbol: str,
        change: Callable[[SymbolIndex], tuple[SymbolIndex | None, _T]],
    ) -> _T:
        """Apply ``change`` to the symbol's index with compare-and-swap, retrying lost races.

        ``change`` returns the new index (None: nothing to commit) and the caller's result.
        """
        try:
            return self._commit_with_retries(symbol, change)
        except BaseException:
            with self._lock:  # the outcome may be unknown (a lost response): read the index afresh next time
                self._indexes.pop(symbol, None)
            raise

    def _commit_with_retries(
        self,
        symbol: str,
        change: Callable[[SymbolIndex], tuple[SymbolIndex | None, _T]],
    ) -> _T:
        key = self.layout.index_key(symbol)
        lock = self.backend.lock(f"symbol-{symbol}") if self.layout.version_named else contextlib.nullcontext()
        with lock:
            for attempt in range(MAX_COMMIT_ATTEMPTS):
                loaded = self._load_index(symbol, offline_ok=False)
                new_index, result = change(loaded.index)
                if new_index is None:
                    return result
                mode: PutMode = IfMatch(loaded.etag) if loaded.etag is not None else "create"
                data = new_index.to_bytes()
                try:
                    meta: ObjectMeta = self.backend.put(key, data, mode=mode)
                except (PreconditionFailedError, ObjectExistsError):
                    log.debug("commit of %s lost a race (attempt %d); retrying", symbol, attempt + 1)
                    time.sleep(random.uniform(0, min(0.5, 0.005 * 2**attempt)))
                    continue
                except BackendError as exc:  # the request may have reached the backend before the failure
                    raise type(exc)(
                        f"{exc}; the commit to {symbol}'s index may or may not have happened: check "
                        f"store.history({symbol!r}) before inserting again"
                    ) from exc
                if self.cache is not None:  # offline, this machine still reads what it committed
                    self.cache.put_tagged(self.backend.url, key, meta.etag, data)
                self._remember(symbol, _LoadedIndex(new_index, meta.etag, time.monotonic()))
                self._update_summary(symbol, new_index, meta.etag)
                return result
        raise CommitConflictError(
            f"gave up committing {symbol} to {self.backend.url} after {MAX_COMMIT_ATTEMPTS} lost races "
            "with other writers; nothing was committed, try again"
        )

    def _commit_insert(self, symbol: str, encoded: list[_Encoded], explicit: int | None) -> list[Version]:
        if explicit is not None:  # fail before uploading anything when the order is already wrong
            self._plan_insert(self._index(symbol), encoded, [""] * len(encoded), explicit)

        def finish(index: SymbolIndex, keys: list[str]) -> tuple[SymbolIndex | None, list[Version]]:
            done = _already_committed(index, encoded, keys)
            if done is not None:
                return done
            _check_schema(symbol, index, encoded)  # other writers may have committed other types meanwhile
            return self._plan_insert(index, encoded, keys, explicit)

        return self._write_versions(
            symbol, encoded, number=lambda index, e: next_version_number(index, e.day), finish=finish
        )

    def _write_versions(
        self,
        symbol: str,
        encoded: list[_Encoded],
        number: Callable[[SymbolIndex, _Encoded], int],
        finish: Callable[[SymbolIndex, list[str]], tuple[SymbolIndex | None, _T]],
    ) -> _T:
        """Store the encoded objects, then commit the index change ``finish`` makes for their keys.

        With unique data keys the objects are uploaded once, before the commit loop. With
        version-named keys (``number`` gives each object's version) they are written inside it,
        under the symbol's lock, where an existing file can only be an orphan of a crashed writer.
        """
        token = writer_token()
        suffix = self.codec.suffix
        uploaded: list[str] = []
        if not self.layout.version_named:
            uploaded = [self.layout.data_key(symbol, e.day, -1, f"{token}-{i}", suffix) for i, e in enumerate(encoded)]
            self._map(lambda pair: self._upload(*pair), list(zip(uploaded, encoded, strict=True)), f"upload {symbol}")

        def change(index: SymbolIndex) -> tuple[SymbolIndex | None, _T]:
            if not self.layout.version_named:
                return finish(index, uploaded)
            keys = []
            for e in encoded:
                numbered = number(index, e)
                if any(v.version == numbered for v in index.versions(e.day)):
                    raise CommitConflictError(
                        f"{symbol} {e.day} version {numbered} was committed by another writer meanwhile; "
                        "nothing was written"
                    )
                key = self.layout.data_key(symbol, e.day, numbered, token, suffix)
                self._create_numbered(key, e.payload)
                keys.append(key)
            return finish(index, keys)

        try:
            return self._commit(symbol, change)
        except (CommitConflictError, InvalidInputError, SchemaError):
            for key in uploaded:  # certainly not committed: do not leave orphans behind
                with contextlib.suppress(TickstoreError):
                    self.backend.delete(key)
            raise

    def _upload(self, key: str, encoded: _Encoded) -> None:
        """Create the object under its new unique ``key``.

        If it exists already, only an earlier attempt of this very upload can have written it (a
        retry by the SDK after a lost response): fine if the bytes are ours.
        """
        try:
            self.backend.put(key, encoded.payload, mode="create")
        except ObjectExistsError:
            if not matches(self.backend.get(key), encoded.version.checksum or ""):
                raise

    def _create_numbered(self, key: str, payload: bytes) -> None:
        """Create a version-named file, under the symbol's lock; never overwrite one that is not our orphan.

        Under the lock, a file already at the next version's name can only be replaced when it is
        provably what a writer of this store left: a file tickstore wrote, owned by the backend. A
        file behind a symbolic link (another store's) or one tickstore did not write (serenity's, or
        a legacy file copied in) is left untouched.
        """
        try:
            self.backend.put(key, payload, mode="create")
            return
        except ObjectExistsError:
            pass
        if not self.backend.owns(key):
            reason = "it lies behind a symbolic link, so it belongs to another directory"
        elif not self.codec.wrote(self.backend.get(key)):
            reason = "tickstore did not write it"
        else:
            self.backend.put(key, payload, mode="overwrite")
            return
        raise ObjectExistsError(
            f"{self.backend.url}/{key} already exists and is not an orphan of this store ({reason}); "
            "nothing was committed: move that file away, then insert again"
        )

    def _plan_insert(
        self, index: SymbolIndex, encoded: list[_Encoded], keys: list[str], explicit: int | None
    ) -> tuple[SymbolIndex, list[Version]]:
        """The index after inserting ``encoded`` (one object per day) under ``keys``."""
        wanted = explicit if explicit is not None else now_ns()
        recorded_at = now_ns()
        changed: list[Version] = []
        new_versions = []
        for e, key in zip(encoded, keys, strict=True):
            planned = plan_insert(
                index,
                dataclasses.replace(e.version, key=key, recorded_at=recorded_at),
                wanted=wanted,
                explicit=explicit is not None,
            )
            changed.extend(planned)
            new_versions.append(planned[-1])
        return index.replace(changed), new_versions

    def _check_exists(self) -> None:
        """Refuse to read a store whose root is missing: a typo must not look like an empty store.

        Asked of the backend once, when a read finds nothing in a store without a manifest; a
        store this object wrote to, or whose manifest it read, exists.
        """
        if self._manifest_written or self._exists:
            return
        if not self.backend.exists():
            raise StoreNotFoundError(f"{self.backend.url} does not exist; check the name, or insert to create it")
        self._exists = True

    def _check_open(self) -> None:
        if self._closed:
            raise StoreClosedError(f"the store {self.backend.url} is closed; open it again with open_store()")

    # --- internals: serenity stores --------------------------------------------------------

    def _detect_legacy(self) -> None:
        """For a location without a manifest: find serenity's index, else data files, else foreign objects.

        Costs one HEAD (plus a GET of the index when there is one) per index name; without an
        index, one listing (which stops at the first object when the location is empty).
        """
        if self._read_legacy_index(INDEX_KEYS):
            return
        listing = self.backend.list("")
        first = next(listing, None)
        if first is None:
            return  # a new, empty store
        metas = [first, *listing]
        ours = [m.key for m in metas if m.key.startswith(INDEX_PREFIX) or m.key == MANIFEST_KEY]
        version_named = [m for m in metas if layout_for("behemoth").parse_data_key(m.key) is not None]
        if ours:
            return
        if version_named:
            message = (
                f"{self.backend.url} has no serenity index (index.h5 / index) and no tickstore manifest: "
                "versions were derived from the data files' names and modification times (the first version "
                "of a day valid from the beginning of time, each later one from its file's mtime) and deletes "
                "cannot be known; restore the index to read the store exactly as serenity does"
            )
            log.warning(message)
            warnings.warn(message, LegacyIndexWarning, stacklevel=4)
            self._legacy = _Legacy(None, index_from_listing(metas, layout_for("behemoth")), None, time.monotonic())
            return
        if not self.layout.parse_data_key(metas[0].key):
            sample = ", ".join(m.key for m in metas[:3])
            self._unknown_layout = (
                f"{self.backend.url} holds objects (e.g. {sample}) but is neither a tickstore store "
                "(no _tickstore.json) nor a serenity store (no index.h5 / index, no YYYY/MM/DD/SYMBOL_VVVV.h5 "
                "files); check the URL"
            )

    def _read_legacy_index(self, keys: Sequence[str]) -> bool:
        """Read serenity's index from the first of ``keys`` that exists; whether one did."""
        for key in keys:
            etag, data = self._read_revalidated(key)
            if data is not None:
                indexes = read_serenity_index(data, where=f"{self.backend.url}/{key}")
                self._legacy = _Legacy(key, indexes, etag, time.monotonic())
                return True
        return False

    def _legacy_indexes(self) -> dict[str, SymbolIndex]:
        """The serenity store's indexes; re-read when ``index_ttl`` passed and the index changed."""
        legacy = self._legacy
        assert legacy is not None
        if time.monotonic() - legacy.loaded_at < self.index_ttl:
            return legacy.indexes
        if legacy.key is None:
            indexes = index_from_listing(self.backend.list(""), layout_for("behemoth"))
            legacy = _Legacy(None, indexes, None, time.monotonic())
        else:
            key = legacy.key
            with contextlib.suppress(BackendError, ObjectNotFoundError):  # then _read_revalidated decides
                if self.backend.head(key).etag == legacy.etag:  # unchanged: no GET, no parse
                    legacy = dataclasses.replace(legacy, loaded_at=time.monotonic())
                    with self._lock:
                        self._legacy = legacy
                    return legacy.indexes
            etag, data = self._read_revalidated(key)
            if data is None:
                raise ObjectNotFoundError(
                    f"{self.backend.url}/{key}, the serenity store's index, has disappeared; open the store again"
                )
            same = etag is not None and etag == legacy.etag
            indexes = legacy.indexes if same else read_serenity_index(data, where=f"{self.backend.url}/{key}")
            legacy = _Legacy(key, indexes, etag, time.monotonic())
        with self._lock:
            self._legacy = legacy
        return legacy.indexes

    @property
    def is_serenity_store(self) -> bool:
        """True when the store was written by serenity's tick store (read-only here; see :func:`copy_store`)."""
        return self._legacy is not None

    def _check_writable(self) -> None:
        if self._legacy is not None:
            raise LegacyStoreError(
                f"{self.backend.url} is a serenity store: tickstore reads it but does not write into it, so "
                "serenity's index stays the one truth. Copy it to a tickstore store "
                f"(`tickstore copy {self.backend.url} DESTINATION`) and write there"
            )
        self._check_layout()

    def _check_layout(self) -> None:
        if self._unknown_layout is not None:
            raise UnknownLayoutError(self._unknown_layout)


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
)


def _already_committed(
    index: SymbolIndex, encoded: list[_Encoded], keys: list[str]
) -> tuple[None, list[Version]] | None:
    """(None, versions) if ``index`` already holds the objects under ``keys``, else None.

    A commit whose response was lost (a reset connection) may have succeeded: the SDK's retry of the
    conditional put then fails its precondition, and the commit loop sees the index again. Data
    keys are unique, so finding them there means the insert is done, not to be committed twice.
    """
    committed = {v.key: v for day in {e.day for e in encoded} for v in index.versions(day)}
    if not keys or keys[0] not in committed:
        return None
    return None, [committed[key] for key in keys]


def _summary_entry(index: SymbolIndex) -> dict[str, Any]:
    """A symbol's current days, their rows and bytes (None where a serenity store does not know), and its versions."""
    current = [v for v in (index.latest(d) for d in index.days()) if v is not None and v.current and v.may_have_rows]
    known = all(v.stats_known for v in current)
    return {
        "days": len(current),
        "first_day": current[0].day.isoformat() if current else None,
        "last_day": current[-1].day.isoformat() if current else None,
        "rows": sum(v.rows or 0 for v in current) if known else None,
        "bytes": sum(v.bytes or 0 for v in current) if known else None,
        "versions": len(index),
    }


def _summary_frame(entries: dict[str, dict[str, Any]], wanted: Sequence[str]) -> pd.DataFrame:
    """The summary of the ``wanted`` symbols that have an entry, indexed by symbol."""
    rows = [
        {
            "symbol": s,
            **{c: entries[s][c] for c in _SUMMARY_COLUMNS},
            **{c: None if entries[s][c] is None else dt.date.fromisoformat(entries[s][c]) for c in _DAY_COLUMNS},
        }
        for s in wanted
        if s in entries
    ]
    frame: pd.DataFrame = pd.DataFrame(rows, columns=["symbol", *_SUMMARY_COLUMNS]).set_index("symbol")
    return frame


def _summary_entries(data: bytes | None) -> dict[str, dict[str, Any]]:
    """The entries of a summary object; nothing if it is missing or unreadable (it is only a shortcut)."""
    if data is None:
        return {}
    try:
        document = json.loads(data)
        entries = document["symbols"] if document.get("format") == SUMMARY_FORMAT else {}
        return {s: e for s, e in entries.items() if isinstance(e, dict) and set(_SUMMARY_COLUMNS) <= set(e)}
    except (ValueError, KeyError, TypeError, AttributeError):
        return {}


def _check_schema(symbol: str, index: SymbolIndex, encoded: list[_Encoded]) -> None:
    """Refuse column types no select could combine with those of the other days' current versions.

    The days being inserted are replaced, so only the other days count; versions of tickstore 0.1
    (no recorded types) and days without ticks are not checked (a select checks what it reads).
    """
    inserted = {e.day for e in encoded}
    days = index.days()
    existing: dict[str, dict[str, list[dt.date]]] = {}
    for version in index.lookup(days[0], days[-1]) if days else []:
        if version.day in inserted or not version.rows or version.types is None or version.columns is None:
            continue
        for name, code in zip(version.columns, version.types, strict=True):
            existing.setdefault(name, {}).setdefault(code, []).append(version.day)
    if not existing:
        return
    for e in encoded:
        if e.version.rows and e.version.types is not None and e.version.columns is not None:
            check_compatible(symbol, existing, dict(zip(e.version.columns, e.version.types, strict=True)), [e.day])


def _identity(version: Version) -> str:
    """What a cache entry of ``version`` must have been decoded from: the checksum in the index.

    A serenity store records no checksums; its files are never rewritten (a new version is a new
    file), so their entries are tied to the version's number and start time instead.
    """
    return version.checksum or f"serenity-{version.version}-{version.start_time}"


def _in_time_order(tables: list[pa.Table]) -> list[pa.Table]:
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


def _check_read_columns(symbol: str, tables: list[pa.Table], columns: list[str] | None) -> None:
    """A column asked for that none of the read days has is an error, as for a tickstore store."""
    if columns is None or not tables:
        return
    known = {name for t in tables for name in t.column_names[1:]}
    missing = [c for c in columns if c not in known]
    if missing:
        raise ColumnNotFoundError(
            f"{symbol} has no column {', '.join(map(repr, missing))} in the selected range; "
            f"columns there: {', '.join(sorted(known))}"
        )


def _number_option(name: str, value: Any, kind: type[_N], *, minimum: float) -> _N | None:
    """A numeric store option (None passes), or a :class:`ConfigError` saying what is allowed."""
    if value is None:
        return None
    wrong = (
        isinstance(value, bool) or not isinstance(value, (int, float)) or (kind is int and not isinstance(value, int))
    )
    if wrong or value < minimum or value != value:
        raise ConfigError(f"{name} must be {'an integer' if kind is int else 'a number'} >= {minimum:g}, got {value!r}")
    return kind(value)


def _trim(table: pa.Table, start_ns: int, end_ns: int) -> pa.Table:
    """The rows of a sorted partition with ``start_ns <= time <= end_ns`` (a zero-copy slice)."""
    if table.num_rows == 0:
        return table
    column = table.column(0)
    if column[0].value >= start_ns and column[-1].value <= end_ns:  # the usual whole day: nothing to copy
        return table
    times = column.combine_chunks().cast(pa.int64()).to_numpy()
    lo = int(np.searchsorted(times, start_ns, side="left")) if start_ns != TIME_MIN else 0
    hi = int(np.searchsorted(times, end_ns, side="right")) if end_ns != TIME_MAX else len(times)
    if lo == 0 and hi == len(times):
        return table
    return table.slice(lo, hi - lo)
