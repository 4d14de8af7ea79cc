"""Stores written by serenity's tick store (``LocalTickstore``, ``AzureBlobTickstore``), read as they are.

A serenity store has no ``_tickstore.json`` manifest. Beside its data objects
``{YYYY}/{MM}/{DD}/{SYMBOL}_{VVVV}.h5`` it keeps one index: ``index.h5`` in a local store's
directory, a blob named ``index`` holding the same bytes in an Azure container. That index is a
pandas DataFrame in HDF5 *fixed* format with the MultiIndex levels (symbol, date, version) and the
columns ``start_time``, ``end_time`` (naive UTC; the first version starts at ``Timestamp.min``, the
current one ends at ``Timestamp.max``, a delete ends the last version and is recorded only here)
and ``path`` (``local:<dirname>/2020/04/21/BTCUSD_0001.h5``, ``azure:<container>/...``, a bare
blob name, or an absolute file path when serenity rebuilt its index from the files).

:func:`read_serenity_index` turns those bytes into the core's per-symbol
:class:`~tickstore_core.index.SymbolIndex` objects, in memory. Its versions carry serenity's exact
transaction times but no statistics (rows, size, checksum, columns are None: unknown), so the store
reads the day's object and trims it. A version is the truth for ``start_time <= as_of <
end_time``; serenity's select also takes it at ``as_of == end_time``, so the two differ only at the
very instant of a correction or delete (where serenity returns both versions). The index's object
blocks are pickled by pandas; :func:`~tickstore_core.encoding.legacy_hdf5.read_index_frame` reads
them under :func:`~tickstore_core.encoding.pickle_guard.restricted_unpickling`, which admits only
the NumPy array, ``datetime`` and ``Timestamp`` values such an index holds.

:func:`index_from_listing` is the fallback for a store without an index: serenity's own rebuild,
with times taken from the objects' modification times.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from typing import Any

from .backend import ObjectMeta
from .encoding.legacy_hdf5 import read_index_frame
from .errors import CorruptObjectError, InvalidSymbolError
from .index import SymbolIndex, Version
from .layout import Layout
from .symbols import check_symbol
from .times import TIME_MAX, TIME_MIN

__all__ = ["INDEX_KEYS", "index_from_listing", "key_from_path", "read_serenity_index"]

INDEX_KEYS = ("index.h5", "index")
"""Where serenity keeps its index: ``index.h5`` in a local store, the ``index`` blob on Azure."""

_DATA_KEY = re.compile(r"\d{4}/\d{2}/\d{2}/[^/]+_\d{4,}\.h5")
_PREFIX = re.compile(r"(local|azure):[^/]*/")
_NAMED = re.compile(r"(?P<day>\d{4}/\d{2}/\d{2})/(?P<symbol>[^/]+)_(?P<version>\d{4,})\.h5")
_BOUND_SLACK_NS = 1_000  # serenity's bounds are Timestamp.min/max truncated to microseconds


def read_serenity_index(data: bytes, *, where: str) -> dict[str, SymbolIndex]:
    """Every symbol's versions in serenity's ``index.h5`` bytes, or :class:`CorruptObjectError`."""
    frame = read_index_frame(data, where)
    names = list(getattr(frame.index, "names", []))
    wanted = {"start_time", "end_time", "path"}
    if names != ["symbol", "date", "version"] or not wanted <= set(frame.columns):
        raise CorruptObjectError(
            f"{where} is not a serenity index: expected levels (symbol, date, version) and columns "
            f"start_time, end_time, path; found levels {names} and columns {list(frame.columns)}"
        )
    symbols = [str(s) for s in frame.index.get_level_values("symbol")]
    days = _days(frame.index.get_level_values("date"), where)
    numbers = [int(v) for v in frame.index.get_level_values("version")]
    starts = _bounds(frame["start_time"], where)
    ends = _bounds(frame["end_time"], where)
    by_symbol: dict[str, list[Version]] = {}
    for name, day, number, start, end, path in zip(symbols, days, numbers, starts, ends, frame["path"], strict=True):
        key = key_from_path(path, name, day, number)
        _check_row(name, day, number, key, where)
        by_symbol.setdefault(name, []).append(_legacy_version(day, number, key, start, end))
    return {name: SymbolIndex(name, versions) for name, versions in sorted(by_symbol.items())}


def index_from_listing(metas: Iterable[ObjectMeta], layout: Layout) -> dict[str, SymbolIndex]:
    """Serenity's rebuild of a missing index, from the data objects' names and modification times.

    For each (symbol, day) the first version is valid from the beginning of time; each later one
    from its object's modification time (kept strictly increasing), which ends the one before.
    Nothing is read but the listing.
    """
    found: dict[tuple[str, dt.date], list[tuple[int, ObjectMeta]]] = {}
    for meta in metas:
        parsed = layout.parse_data_key(meta.key)
        if parsed is not None and parsed.version is not None:
            found.setdefault((parsed.symbol, parsed.day), []).append((parsed.version, meta))
    by_symbol: dict[str, list[Version]] = {}
    for (symbol, day), files in sorted(found.items()):
        files.sort(key=lambda item: item[0])
        starts, previous = [], TIME_MIN
        for i, (_, meta) in enumerate(files):
            modified = meta.last_modified or dt.datetime.now(dt.timezone.utc)
            start = TIME_MIN if i == 0 else max(_ns(modified), previous + 1)
            starts.append(start)
            previous = start
        for i, (number, meta) in enumerate(files):
            end = starts[i + 1] if i + 1 < len(files) else TIME_MAX
            by_symbol.setdefault(symbol, []).append(_legacy_version(day, number, meta.key, starts[i], end))
    return {name: SymbolIndex(name, versions) for name, versions in sorted(by_symbol.items())}


def _check_row(symbol: str, day: dt.date, number: int, key: str, where: str) -> None:
    """A row whose symbol, day or version disagrees with its file's name (serenity wrote them together,
    ``YYYY/MM/DD/SYMBOL_VVVV.h5``) or is no symbol at all is damage: read, it would answer for the
    wrong day, silently."""
    try:
        check_symbol(symbol)
    except InvalidSymbolError as exc:
        raise CorruptObjectError(f"{where} is damaged: a row's symbol {symbol!r} is not a symbol ({exc})") from None
    named = _NAMED.fullmatch(key)
    if named is not None and (named["symbol"], named["day"], int(named["version"])) != (
        symbol,
        f"{day:%Y/%m/%d}",
        number,
    ):
        raise CorruptObjectError(
            f"{where} is damaged: its row for {symbol} {day} version {number} names the file {key}; "
            "restore index.h5 from a backup, or move it aside to have the index rebuilt from the files"
        )


def key_from_path(path: object, symbol: str, day: dt.date, version: int) -> str:
    """The object key of a serenity index ``path``, whatever directory or container it names.

    ``local:<dirname>/`` and ``azure:<container>/`` prefixes are dropped (the directory may have
    been renamed since); an absolute path keeps its ``YYYY/MM/DD/SYMBOL_VVVV.h5`` tail. A path
    that says nothing usable gives the key serenity would have written.
    """
    text = _PREFIX.sub("", str(path), count=1) if isinstance(path, str) else ""
    if _DATA_KEY.fullmatch(text):
        return text
    tail = re.search(rf"(?:^|/)({_DATA_KEY.pattern})$", text)
    return tail.group(1) if tail else f"{day:%Y/%m/%d}/{symbol}_{version:04d}.h5"


def _legacy_version(day: dt.date, number: int, key: str, start: int, end: int) -> Version:
    """A version whose statistics are unknown: recorded at its start (serenity kept no commit time)."""
    return Version(
        day=day,
        version=number,
        key=key,
        start_time=start,
        end_time=end,
        recorded_at=start,
        rows=None,
        bytes=None,
        min_time=None,
        max_time=None,
        columns=None,
        schema=None,
        checksum=None,
    )


def _ns(value: Any) -> int:
    import pandas as pd

    stamp = pd.Timestamp(value)
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert("UTC").tz_localize(None)
    return int(stamp.as_unit("ns").value)


def _bound(value: Any, where: str) -> int:
    """A naive-UTC transaction time as nanoseconds; serenity's ``Timestamp.min``/``max`` become ours."""
    import pandas as pd

    if value is None or (not isinstance(value, str) and pd.isna(value)):
        raise CorruptObjectError(f"{where} has a version without a start_time or end_time")
    try:
        stamp = pd.Timestamp(value)
        if stamp.tzinfo is not None:
            stamp = stamp.tz_convert("UTC").tz_localize(None)
        # serenity's Timestamp.min/max went through datetime (microseconds), maybe just out of range
        if stamp <= pd.Timestamp(TIME_MIN + _BOUND_SLACK_NS):
            return TIME_MIN
        if stamp >= pd.Timestamp(TIME_MAX - _BOUND_SLACK_NS):
            return TIME_MAX
        return int(stamp.as_unit("ns").value)
    except (ValueError, TypeError, OverflowError) as exc:
        raise CorruptObjectError(f"{where} has a transaction time that is not a timestamp: {value!r}") from exc


def _bounds(column: Any, where: str) -> list[int]:
    """A column of naive-UTC transaction times as nanoseconds, at once (the per-value way as fallback)."""
    import numpy as np
    import pandas as pd

    try:
        stamps = pd.to_datetime(column) if column.dtype == object else column
        if getattr(stamps.dt, "tz", None) is not None:
            stamps = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
        values = stamps.to_numpy()
        if values.dtype.kind != "M" or np.isnat(values).any():
            raise ValueError("not all timestamps")
    except (ValueError, TypeError, OverflowError, AttributeError):
        return [_bound(value, where) for value in column]
    lowest = np.datetime64(TIME_MIN + _BOUND_SLACK_NS, "ns").astype(values.dtype)
    highest = np.datetime64(TIME_MAX - _BOUND_SLACK_NS, "ns").astype(values.dtype)
    low, high = values <= lowest, values >= highest
    middle = ~(low | high)
    out = np.where(low, TIME_MIN, TIME_MAX).astype(np.int64)
    out[middle] = values[middle].astype("datetime64[ns]").view(np.int64)
    return [int(v) for v in out]


def _days(level: Any, where: str) -> list[dt.date]:
    import pandas as pd

    try:
        return list(pd.DatetimeIndex(pd.to_datetime(level)).date)
    except (ValueError, TypeError, OverflowError):
        return [_day(value, where) for value in level]


def _day(value: Any, where: str) -> dt.date:
    import pandas as pd

    try:
        return dt.date(value.year, value.month, value.day) if isinstance(value, dt.date) else pd.Timestamp(value).date()
    except (ValueError, TypeError, AttributeError) as exc:
        raise CorruptObjectError(f"{where} has a date that is not a date: {value!r}") from exc
