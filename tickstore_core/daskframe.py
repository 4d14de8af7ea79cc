"""Selects as dask DataFrames: one partition per day, read on the workers.

Each partition is a small picklable task holding the backend (backends pickle by URL and options)
and the version to read; a worker opens an engine for the store once per process and reads through its own
backend connection and the machine's disk cache, verifying checksums as a select does.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from .backend import Backend
from .cache import ObjectCache
from .engine import Engine
from .errors import LegacyStoreError
from .filters import RowFilter
from .frames import table_to_frame, with_gaps
from .index import Version
from .query import Query, empty_read, read_day
from .schema import conform_table, parse_type, recorded_targets
from .times import TIME_MAX, TIME_MIN, day_start_ns

__all__ = ["StoreSpec", "to_dask"]


@dataclass(frozen=True)
class StoreSpec:
    """Everything a worker needs to reopen a store."""

    backend: Backend
    timestamp_column: str
    tz: str
    cache: bool
    cache_dir: str | None
    cache_size: int | None
    allow_pickle: bool

    @classmethod
    def of(cls, engine: Engine) -> StoreSpec:
        cache = engine.cache
        return cls(
            engine.backend,
            engine.timestamp_column,
            engine.tz,
            cache is not None,
            str(cache.directory) if cache is not None else None,
            cache.size_limit if cache is not None else None,
            engine.allow_pickle,
        )

    def open_cache(self) -> ObjectCache | None:
        """The cache the spec names, opened in this process; None for a store without one."""
        if not self.cache or self.cache_dir is None:
            return None
        return ObjectCache(Path(self.cache_dir), self.cache_size or 0)


_OPEN: dict[StoreSpec, Engine] = {}
_OPEN_LOCK = threading.Lock()


def _engine_for(spec: StoreSpec) -> Engine:
    """The engine a worker process reads with, opened once per process (and kept open)."""
    with _OPEN_LOCK:
        engine = _OPEN.get(spec)
        if engine is None:
            engine = Engine(
                spec.backend,
                cache=spec.open_cache(),
                timestamp_column=spec.timestamp_column,
                tz=spec.tz,
                allow_pickle=spec.allow_pickle,
            )
            _OPEN[spec] = engine
        return engine


@dataclass(frozen=True)
class _Partition:
    spec: StoreSpec
    symbol: str
    version: Version
    columns: tuple[str, ...] | None
    start: int
    end: int
    all_columns: tuple[str, ...]
    targets: tuple[tuple[str, pa.DataType], ...] = ()
    row_filter: RowFilter | None = None
    nullable: tuple[tuple[str, Any], ...] = ()
    """Integer and bool columns some day lacks: pandas' nullable dtype in every partition, as `select` reads them."""


def read_partition(part: _Partition) -> pd.DataFrame:
    """One day's ticks, trimmed to the select's bounds, with the columns of the whole result."""
    engine = _engine_for(part.spec)
    columns = list(part.columns) if part.columns is not None else None
    query = Query(part.symbol, part.start, part.end, columns, [part.version])
    table = read_day(engine, query, part.version, part.row_filter)
    table = conform_table(table, dict(part.targets), str(part.version.day))
    frame = table_to_frame(table, part.spec.timestamp_column, part.spec.tz)
    reindexed: pd.DataFrame = frame.reindex(columns=list(part.all_columns))
    return reindexed.astype(dict(part.nullable)) if part.nullable else reindexed


def _with_gaps(versions: list[Version], names: tuple[str, ...]) -> tuple[tuple[str, Any], ...]:
    """The columns among ``names`` that read as pandas' nullable dtypes, as `select` decides them
    (`tickstore_core.frames.with_gaps`), from the versions' recorded types (tickstore 0.1's tell nothing)."""
    days = [[(c, parse_type(t)) for c, t in zip(v.columns or (), v.types, strict=False)] for v in versions if v.types]
    return tuple((name, dtype) for name, dtype in with_gaps(days).items() if name in names)


def to_dask(engine: Engine, query: Query, row_filter: RowFilter | None = None) -> Any:
    """A dask DataFrame over the query's versions (see `Tickstore.to_dask`)."""
    import dask.dataframe as dd

    spec = StoreSpec.of(engine)
    if not query.versions:
        empty = table_to_frame(empty_read(engine, query), engine.timestamp_column, engine.tz)
        return dd.from_pandas(empty, npartitions=1)
    if not all(v.stats_known for v in query.versions):  # serenity files may spill over day boundaries
        raise LegacyStoreError(
            f"{engine.backend.url} is a serenity store, whose files do not keep to their days, so it cannot be split "
            "into day partitions; use select(), or `tickstore copy` it to a tickstore store first"
        )
    all_columns = tuple(query.columns or dict.fromkeys(c for v in query.versions for c in v.columns or ()))
    columns = tuple(query.columns) if query.columns is not None else None
    unified = recorded_targets([(str(v.day), v.columns or (), v.types) for v in query.versions], only=all_columns)
    targets = tuple(unified.items())
    nullable = _with_gaps(query.versions, all_columns)
    parts = [
        _Partition(spec, query.symbol, v, columns, query.start, query.end, all_columns, targets, row_filter, nullable)
        for v in query.versions
    ]
    meta = read_partition(parts[0]).iloc[:0]
    lower = [max(query.start, day_start_ns(v.day, engine.tz)) for v in query.versions]
    last = query.versions[-1].max_time
    upper = min(query.end, last if last is not None else TIME_MAX)
    bounds = [*lower, max(upper, lower[-1])]
    divisions = [pd.Timestamp(ns, tz="UTC").tz_convert(engine.tz) if ns != TIME_MIN else None for ns in bounds]
    return dd.from_map(read_partition, parts, meta=meta, divisions=divisions, label=f"tickstore-{query.symbol}")
