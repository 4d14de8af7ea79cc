"""The objects a select reads, for reading a store without tickstore (see docs/format.md)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from .engine import Engine
from .lifecycle import segment_version
from .query import plan_query

__all__ = ["FILE_COLUMNS", "list_files"]

FILE_COLUMNS = (
    "url",
    "key",
    "day",
    "version",
    "encoding",
    "bytes",
    "rows",
    "min_time",
    "max_time",
    "start_time",
    "end_time",
    "checksum",
)


def list_files(engine: Engine, symbol: str, start: Any, end: Any, as_of: Any) -> pd.DataFrame:
    """See :meth:`Tickstore.files`. A version made by appends lists each of its objects (segments),
    in the order to concatenate them before a stable sort by time."""
    query = plan_query(engine, symbol, start, end, as_of, None)
    objects = [segment_version(v, part) if v.segments is not None else v for v in query.versions for part in v.parts]
    base = engine.backend.url.rstrip("/")
    rows = [
        {
            "url": f"{base}/{v.key}",
            "key": v.key,
            "day": v.day,
            "version": v.version,
            "encoding": (v.encoding or engine.previous_codec.name) if v.stats_known else "serenity",
            "bytes": v.bytes,
            "rows": v.rows,
            "min_time": v.min_time,
            "max_time": v.max_time,
            "start_time": v.start_time,
            "end_time": v.end_time,
            "checksum": v.checksum,
        }
        for v in objects
    ]
    frame: pd.DataFrame = pd.DataFrame(rows, columns=list(FILE_COLUMNS))
    for name in ("min_time", "max_time", "start_time", "end_time"):
        frame[name] = pd.to_datetime(frame[name].astype("Int64"), unit="ns", utc=True)
    frame = frame.astype({"version": "int64", "bytes": "Int64", "rows": "Int64"})
    return frame
