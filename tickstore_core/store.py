"""The bitemporal tick store.

:class:`Tickstore` partitions ticks by symbol and day, keeps every version of every partition in
transaction time, and stores them through any :class:`~tickstore_core.backend.Backend`.

Commit protocol (the only place that writes an index): a writer uploads the data object under a
new key first, then swaps the symbol's index with a conditional put on the ETag it read. A writer
that loses the race re-reads the index and retries, so no version is lost or numbered twice. A
crash between the two steps leaves only an orphan object, never a broken index. With the
``behemoth`` layout the data key carries the version number, so the writers of a symbol hold the
backend's lock around the whole insert instead.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import functools
import json
import logging
import os
import random
import threading
import time
import uuid
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
from .codecs import Codec, codec_for
from .errors import (
    BackendError,
    ColumnNotFoundError,
    CommitConflictError,
    ConfigError,
    CorruptObjectError,
    InvalidInputError,
    InvalidTicksError,
    InvalidTimeError,
    ObjectExistsError,
    ObjectNotFoundError,
    OfflineError,
    OfflineWarning,
    PreconditionFailedError,
    StoreClosedError,
    StoreNotFoundError,
    TickstoreError,
    TransactionTimeError,
)
from .frames import empty_frame, frame_from_tables, schema_fingerprint, split_days, ticks_to_table
from .index import SymbolIndex, Version
from .integrity import checksum, matches
from .layout import INDEX_PREFIX, MANIFEST_KEY, SUMMARY_KEY, Layout, layout_for
from .progress import progress_bar
from .symbols import check_symbol
from .times import TIME_MAX, TIME_MIN, BiTimestamp, DayLike, format_ns, now_ns, to_day, to_utc_end_ns, to_utc_ns

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


@dataclass(frozen=True)
class _LoadedIndex:
    index: SymbolIndex
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

    Open one with :func:`tickstore_core.open_store`; use it as a context manager or call
    :meth:`close`. Ticks are DataFrames indexed by timestamp; they are partitioned by symbol and
    day (the calendar day in the store's time zone, UTC by default), and every insert of a day
    creates a new immutable version. Reads pick, per day, the version valid at ``as_of``.

    Guarantees: an insert or delete is atomic per symbol (all its days or none become visible);
    concurrent writers never lose a version; readers never see a partial version; every object read
    is verified against the checksum recorded at commit. A store object may be shared by threads.

    >>> import tickstore_core as ts
    >>> with ts.open_store("memory://doctest") as store:          # doctest: +SKIP
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
        self.codec: Codec = codec_for(backend.encoding, allow_pickle=allow_pickle)
        self.index_ttl = float(index_ttl)
        self.max_workers = max_workers or (4 if backend.is_local else 16)
        self.progress = progress
        self._owns_backend = owns_backend
        self._indexes: dict[str, _LoadedIndex] = {}
        self._lock = threading.RLock()
        self._pool: ThreadPoolExecutor | None = None
        self._closed = False
        self._manifest_written = False
        self._exists = False
        manifest = self._read_manifest()
        self.timestamp_column, self.tz = self._settings(manifest, timestamp_column, tz)
        if manifest is None and self.layout.version_named:
            self._rebuild_missing_indexes()

    # --- opening ---------------------------------------------------------------------------

    def _open_cache(
        self, cache: ObjectCache | bool | None, directory: str | Path | None, size: int | str | None
    ) -> ObjectCache | None:
        """The store's cache: on by default for remote backends, off for local ones."""
        self._owns_cache = False
        if isinstance(cache, ObjectCache):
            return cache
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
        try:
            pd.Timestamp(0, tz=zone)
        except Exception as exc:
            raise ConfigError(f"tz={zone!r} is not a time zone; use an IANA name such as 'UTC'") from exc
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

    def insert(self, symbol: str, ticks: pd.DataFrame, day: DayLike | None = None) -> list[Version]:
        """Store ``ticks`` as a new version of each day they fall on, and return those versions.

        ``ticks`` is a DataFrame indexed by timestamp (naive means UTC; unsorted input is sorted
        stably, duplicate timestamps are kept). With ``day`` (a date, ``"YYYY-MM-DD"`` or a
        :class:`BiTimestamp` carrying an explicit transaction time) every tick must fall on that
        day, and an empty frame records that the day has no ticks. All days of one insert are
        committed atomically. Nothing is written if the input is invalid.
        """
        self._check_open()
        check_symbol(symbol)
        table = ticks_to_table(ticks, self.timestamp_column)
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
        explicit = self._explicit_as_of(day)
        encoded = [self._encode(symbol, d, t) for d, t in sorted(by_day.items())]
        self._ensure_manifest()
        return self._commit_insert(symbol, encoded, explicit)

    def delete(self, symbol: str, day: DayLike) -> Version | None:
        """End the current version of ``(symbol, day)``: the day reads as empty from now on.

        Older as-of queries still see it. Returns the ended version, or None when the day had no
        current version (nothing is written then).
        """
        self._check_open()
        check_symbol(symbol)
        wanted_day = to_day(day, self.tz)
        explicit = self._explicit_as_of(day)

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

        ``start``/``end`` are timestamps (naive means UTC; None means unbounded), both inclusive
        like ``df.loc[start:end]``: an end given as a date or date string covers that whole day
        (``"2024-03"`` the month, ``"2024-03-05 09:30"`` the minute). ``as_of=None`` reads the
        current versions. ``columns`` limits the data columns read. Returns a DataFrame indexed by
        the store's timestamp column (tz-aware, sorted, equal timestamps in inserted order); an
        unknown symbol or an empty range gives an empty DataFrame. Days are read concurrently.
        """
        query = self._query(symbol, start, end, as_of, columns)
        if not query.versions:
            return empty_frame(self.timestamp_column, self.tz, query.columns or ())
        versions = query.versions
        tables = self._map(
            lambda v: _trim(self._read_version(symbol, v, query.columns), query.start, query.end),
            versions,
            f"{symbol} {versions[0].day}..{versions[-1].day}",
        )
        return frame_from_tables(tables, self.timestamp_column, self.tz, query.columns)

    def to_dask(
        self,
        symbol: str,
        start: Any = None,
        end: Any = None,
        as_of: Any = None,
        columns: str | Sequence[str] | None = None,
    ) -> Any:
        """The ticks :meth:`select` would return, as a lazy dask DataFrame with one partition per day.

        Divisions are known (day boundaries), and each worker reads its days through the same
        backend and local cache, so a ``dask.distributed`` cluster reads them in parallel.
        Needs ``dask[dataframe]``.
        """
        from .daskframe import to_dask

        return to_dask(self, self._query(symbol, start, end, as_of, columns))

    def prefetch(self, symbol: str, start: Any = None, end: Any = None, as_of: Any = None) -> int:
        """Fetch the objects a select would read into the local cache (for offline work); returns their bytes."""
        if self.cache is None:
            raise ConfigError(f"the store {self.backend.url} has no cache; open it with cache=True to prefetch")
        query = self._query(symbol, start, end, as_of, None)
        self._map(lambda v: self._read_version(symbol, v, ()), query.versions, f"prefetch {symbol}")
        return sum(v.bytes for v in query.versions)

    def _query(self, symbol: str, start: Any, end: Any, as_of: Any, columns: str | Sequence[str] | None) -> _Query:
        """Check a select's arguments and find the versions it reads: those with ticks in range."""
        self._check_open()
        check_symbol(symbol)
        start_ns = TIME_MIN if start is None else to_utc_ns(start, "start")
        end_ns = TIME_MAX if end is None else to_utc_end_ns(end, "end")
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
            if v.rows and v.max_time is not None and v.min_time is not None
            if v.max_time >= start_ns and v.min_time <= end_ns
        ]
        if wanted is not None and versions:
            known = {c for v in versions for c in v.columns}
            missing = [c for c in wanted if c not in known]
            if missing:
                raise ColumnNotFoundError(
                    f"{symbol} has no column {', '.join(map(repr, missing))} in the selected range; "
                    f"columns there: {', '.join(sorted(known))}"
                )
        return _Query(symbol, start_ns, end_ns, wanted, versions)

    def history(self, symbol: str, day: DayLike | None = None) -> pd.DataFrame:
        """Every version of ``symbol`` (or of one day), oldest first, with its times and statistics.

        ``start_time``/``end_time`` bound the transaction times at which the version is the
        truth; the first version starts at the beginning of time (shown as ``Timestamp.min``) and
        the current one ends at ``Timestamp.max``.
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
                "columns": ",".join(v.columns),
                "schema": v.schema,
                "checksum": v.checksum,
                "key": v.key,
            }
            for v in versions
        ]
        frame: pd.DataFrame = pd.DataFrame(rows, columns=list(_HISTORY_COLUMNS))
        for name in ("start_time", "end_time", "recorded_at", "min_time", "max_time"):
            frame[name] = pd.to_datetime(frame[name].astype("Int64"), unit="ns", utc=True)
        return frame

    def symbols(self) -> list[str]:
        """Every symbol that has an index (inserted at least once), sorted."""
        self._check_open()
        found = (self.layout.symbol_of_index_key(meta.key) for meta in self.backend.list(INDEX_PREFIX))
        symbols = sorted(s for s in found if s)
        if not symbols:
            self._check_exists()
        return symbols

    def days(self, symbol: str, as_of: Any = None) -> list[dt.date]:
        """The days of ``symbol`` that have ticks (a version with rows) at ``as_of`` (None: now)."""
        self._check_open()
        check_symbol(symbol)
        as_of_ns = None if as_of is None else to_utc_ns(as_of, "as_of")
        index = self._index(symbol)
        days = index.days()
        if not days:
            self._check_exists()
            return []
        return [v.day for v in index.lookup(days[0], days[-1], as_of_ns) if v.rows]

    def summary(self, symbols: Sequence[str] | None = None) -> pd.DataFrame:
        """One row per symbol (default: every symbol): its current data and its number of versions.

        Columns: ``days`` with ticks now, ``first_day``, ``last_day``, ``rows`` and ``bytes`` of the
        current versions, and ``versions`` (all of them, ended ones included), indexed by ``symbol``.

        Thousands of symbols take about a second: one listing of the indexes and one read of the
        summary object (``_summary.json``), whose entry for a symbol is used only while the
        symbol's index still has the ETag the entry was computed from. Indexes without a valid
        entry are read concurrently, and the summary object is then updated (best effort: a lost
        race or a read-only credential only leaves it for the next call).
        """
        self._check_open()
        listed = {
            symbol: meta.etag
            for meta in self.backend.list(INDEX_PREFIX)
            if (symbol := self.layout.symbol_of_index_key(meta.key))
        }
        if not listed:
            self._check_exists()
        wanted = sorted(listed) if symbols is None else [check_symbol(s) for s in symbols]
        summary_etag, data = self._read_revalidated(SUMMARY_KEY)
        stored = _summary_entries(data)
        entries = {s: stored[s] for s in wanted if s in stored and stored[s].get("etag") == listed.get(s)}
        stale = [s for s in wanted if s not in entries and s in listed]
        fresh = self._map(self._summarise, [(s, listed[s]) for s in stale], "summary")
        for symbol, entry in zip(stale, fresh, strict=True):
            if entry is not None:
                entries[symbol] = entry
        if stale or set(stored) - set(listed):
            kept = {s: e for s, e in {**stored, **entries}.items() if s in listed and e.get("etag") == listed[s]}
            self._write_summary(kept, summary_etag)
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

    def _summarise(self, listed: tuple[str, str]) -> dict[str, Any] | None:
        """The summary entry of one symbol's index, tagged with the ETag it was listed with.

        The bytes read are that version of the index or a newer one; a newer one only makes the
        entry look stale to the next call, never wrong. None if the index vanished meanwhile.
        """
        symbol, etag = listed
        key = self.layout.index_key(symbol)
        try:
            index = SymbolIndex.from_bytes(self.backend.get(key), where=f"{self.backend.url}/{key}")
        except ObjectNotFoundError:
            return None
        current = [v for v in (index.latest(d) for d in index.days()) if v is not None and v.current and v.rows]
        return {
            "etag": etag,
            "days": len(current),
            "first_day": current[0].day.isoformat() if current else None,
            "last_day": current[-1].day.isoformat() if current else None,
            "rows": sum(v.rows for v in current),
            "bytes": sum(v.bytes for v in current),
            "versions": len(index),
        }

    def _write_summary(self, entries: dict[str, dict[str, Any]], etag: str | None) -> None:
        data = json.dumps({"format": SUMMARY_FORMAT, "symbols": entries}, separators=(",", ":")).encode()
        try:
            self.backend.put(SUMMARY_KEY, data, mode="create" if etag is None else IfMatch(etag))
        except TickstoreError as exc:  # another reader won, or no right to write: the next call tries again
            log.debug("summary of %s not updated: %s", self.backend.url, exc)

    # --- lifecycle -------------------------------------------------------------------------

    def flush(self) -> None:
        """Forget the indexes held in memory, so the next read sees every other writer's commits.

        Inserts and deletes are durable when they return; there is nothing to write back.
        """
        with self._lock:
            self._indexes.clear()

    def cache_stats(self) -> dict[str, Any]:
        """This store's cache counters (hits, misses, bytes, evictions, ...) and the cache's size."""
        if self.cache is None:
            return {"enabled": False}
        return {
            "enabled": True,
            **self.cache.stats.as_dict(),
            "entries": self.cache.entries(),
            "volume": self.cache.volume(),
            "size_limit": self.cache.size_limit,
            "directory": str(self.cache.directory),
        }

    def close(self) -> None:
        """Release threads, connections and the cache; the store cannot be used afterwards."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)
        if self._owns_backend:
            self.backend.close()
        if self.cache is not None and self._owns_cache:
            self.cache.close()

    def destroy(self) -> None:
        """Delete every object of the store (all symbols, versions and indexes), then close it."""
        self._check_open()
        keys = [meta.key for meta in self.backend.list("")]
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

    def _explicit_as_of(self, day: DayLike | None) -> int | None:
        if not isinstance(day, BiTimestamp) or day.as_of is None:
            return None
        as_of = int(day.as_of.value)
        if as_of > now_ns() + FUTURE_TOLERANCE_NS:
            raise TransactionTimeError(
                f"as_of {format_ns(as_of)} is in the future; transaction times record when the store "
                "learned something, so they cannot be later than now"
            )
        return as_of

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
        )
        return _Encoded(day, payload, version)

    def _read_version(self, symbol: str, version: Version, columns: Sequence[str] | None) -> pa.Table:
        """The version's ticks (timestamp and ``columns``; all if None): from the cache, else fetched and decoded."""
        if self.cache is not None:
            cached = self.cache.get_table(self.backend.url, version.key, columns)
            if cached is not None:
                return cached
        data = self._fetch(symbol, version)
        fetched = len(data)
        try:  # the cache keeps every column, so later selects of other columns hit it too
            table = self.codec.decode(
                data, timestamp_column=self.timestamp_column, columns=columns if self.cache is None else None
            )
        except TickstoreError as exc:
            raise type(exc)(f"{symbol} {version.day} version {version.version} ({version.key}): {exc}") from exc
        del data  # while many days are in flight, every copy held counts
        if self.cache is not None:
            self.cache.put_table(self.backend.url, version.key, table, fetched=fetched)
            if columns is not None:
                table = table.select([self.timestamp_column, *(c for c in columns if c in table.column_names)])
        return table

    def _fetch(self, symbol: str, version: Version) -> bytes:
        """The version's object from the backend, verified against the checksum in the index."""
        try:
            data = self.backend.get(version.key)
        except ObjectNotFoundError as exc:
            raise ObjectNotFoundError(
                f"{symbol} {version.day} version {version.version}: object {version.key} is missing from "
                f"{self.backend.url} although the index references it; run `tickstore fsck`"
            ) from exc
        if not matches(data, version.checksum):
            raise CorruptObjectError(
                f"{symbol} {version.day} version {version.version}: object {version.key} in "
                f"{self.backend.url} does not match its checksum; it was changed or damaged after commit"
            )
        return data

    def _check_columns(self, columns: str | Sequence[str] | None) -> list[str] | None:
        if columns is None:
            return None
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
        with self._lock:
            loaded = self._indexes.get(symbol)
        if loaded is not None and time.monotonic() - loaded.loaded_at < self.index_ttl:
            return loaded.index
        return self._load_index(symbol).index

    def _load_index(self, symbol: str, *, offline_ok: bool = True) -> _LoadedIndex:
        """Read the symbol's index from the backend, or revalidate the cached copy."""
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
                return result
        raise CommitConflictError(
            f"gave up committing {symbol} to {self.backend.url} after {MAX_COMMIT_ATTEMPTS} lost races "
            "with other writers; nothing was committed, try again"
        )

    def _commit_insert(self, symbol: str, encoded: list[_Encoded], explicit: int | None) -> list[Version]:
        if explicit is not None:  # fail before uploading anything when the order is already wrong
            self._plan_insert(self._index(symbol), encoded, [""] * len(encoded), explicit)
        return self._write_versions(
            symbol,
            encoded,
            number=lambda index, e: next_version_number(index, e.day),
            finish=lambda index, keys: (
                _already_committed(index, encoded, keys) or self._plan_insert(index, encoded, keys, explicit)
            ),
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
        token = f"{now_ns():x}-{uuid.uuid4().hex[:12]}"
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
                self.backend.put(key, e.payload, mode="overwrite")
                keys.append(key)
            return finish(index, keys)

        try:
            return self._commit(symbol, change)
        except (CommitConflictError, InvalidInputError):
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
            if not matches(self.backend.get(key), encoded.version.checksum):
                raise

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

    # --- internals: rebuilding the index of an existing HDF5 store -------------------------

    def _rebuild_missing_indexes(self) -> None:
        """Index the data files of symbols that have none (an existing store in the behemoth layout)."""
        found: dict[str, list[tuple[ObjectMeta, int, dt.date]]] = {}
        indexed = set()
        for meta in self.backend.list(""):
            symbol = self.layout.symbol_of_index_key(meta.key)
            if symbol is not None:
                indexed.add(symbol)
                continue
            parsed = self.layout.parse_data_key(meta.key)
            if parsed is not None and parsed.version is not None:
                found.setdefault(parsed.symbol, []).append((meta, parsed.version, parsed.day))
        missing = {s: files for s, files in found.items() if s not in indexed}
        if not missing:
            return
        total = sum(len(files) for files in missing.values())
        log.info("indexing %d files of %d symbols in %s", total, len(missing), self.backend.url)
        for symbol, files in sorted(missing.items()):
            versions = self._map(functools.partial(self._version_from_file, symbol), files, f"index {symbol}")
            index = _timeline(SymbolIndex(symbol), versions)
            with contextlib.suppress(ObjectExistsError):  # another process rebuilt it first
                self.backend.put(self.layout.index_key(symbol), index.to_bytes(), mode="create")
        self._ensure_manifest()

    def _version_from_file(self, symbol: str, found: tuple[ObjectMeta, int, dt.date]) -> Version:
        meta, number, day = found
        data = self.backend.get(meta.key)
        table = self.codec.decode(data, timestamp_column=self.timestamp_column, columns=None)
        times = table.column(0)
        rows = table.num_rows
        modified = meta.last_modified or dt.datetime.now(dt.timezone.utc)
        recorded = int(pd.Timestamp(modified).as_unit("ns").value)
        return Version(
            day=day,
            version=number,
            key=meta.key,
            start_time=recorded,
            end_time=TIME_MAX,
            recorded_at=recorded,
            rows=rows,
            bytes=len(data),
            min_time=int(times[0].value) if rows else None,
            max_time=int(times[rows - 1].value) if rows else None,
            columns=tuple(table.column_names[1:]),
            schema=schema_fingerprint(table.schema),
            checksum=checksum(data),
        )


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


def _timeline(index: SymbolIndex, versions: list[Version]) -> SymbolIndex:
    """Chain rebuilt versions of each day in transaction time, from their file modification times.

    The first version starts at the beginning of time; each later one starts when its file was
    written (kept strictly increasing) and ends the previous one.
    """
    by_day: dict[dt.date, list[Version]] = {}
    for version in versions:
        by_day.setdefault(version.day, []).append(version)
    chained = []
    for day_versions in by_day.values():
        day_versions.sort(key=lambda v: v.version)
        previous_start = TIME_MIN
        starts = []
        for i, version in enumerate(day_versions):
            start = TIME_MIN if i == 0 else max(version.recorded_at, previous_start + 1)
            starts.append(start)
            previous_start = start
        for i, version in enumerate(day_versions):
            end = starts[i + 1] if i + 1 < len(day_versions) else TIME_MAX
            chained.append(dataclasses.replace(version, start_time=starts[i], end_time=end))
    return index.replace(chained)


def _trim(table: pa.Table, start_ns: int, end_ns: int) -> pa.Table:
    """The rows of a sorted partition with ``start_ns <= time <= end_ns`` (a zero-copy slice)."""
    if table.num_rows == 0:
        return table
    times = table.column(0).combine_chunks().cast(pa.int64()).to_numpy()
    lo = int(np.searchsorted(times, start_ns, side="left")) if start_ns != TIME_MIN else 0
    hi = int(np.searchsorted(times, end_ns, side="right")) if end_ns != TIME_MAX else len(times)
    if lo == 0 and hi == len(times):
        return table
    return table.slice(lo, hi - lo)
