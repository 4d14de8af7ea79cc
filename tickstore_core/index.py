"""The per-symbol partition index: every version of every day of one symbol.

A :class:`SymbolIndex` is an immutable value; a change returns a new index. It is stored as one
JSON object per symbol (so writers of different symbols never contend) and committed with a
compare-and-swap, see :mod:`tickstore_core.store`. Lookups bisect the sorted list of days, so a
select costs O(log n + k) in the number of days n, whatever the store's size.
"""

from __future__ import annotations

import bisect
import dataclasses
import datetime as dt
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from .errors import CorruptObjectError
from .times import TIME_MAX

__all__ = ["INDEX_FORMAT", "SymbolIndex", "Version"]

INDEX_FORMAT = "tickstore-index/1"


@dataclass(frozen=True)
class Version:
    """One immutable version of a (symbol, day) partition and its audit record.

    The version is the truth for every transaction time ``as_of`` with
    ``start_time <= as_of < end_time`` (UTC nanoseconds; ``end_time == TIME_MAX`` while current).
    `Tickstore.insert` returns them; `Tickstore.history` shows them as a table.

    A version read from a serenity store's index knows its times and object but not its
    statistics: ``rows``, ``bytes``, ``columns``, ``schema`` and ``checksum`` are None (unknown,
    see `stats_known`), and reads decode the object by its content and trim it.

    Attributes
    ----------
    day : datetime.date
        The trading day.
    version : int
        Its number, from 0 for the day's first version.
    key : str
        The object holding its ticks.
    start_time, end_time : int
        The transaction times (UTC nanoseconds) it is the truth between.
    recorded_at : int
        When it was committed (UTC nanoseconds).
    rows, bytes : int or None
        Its ticks and the object's size.
    min_time, max_time : int or None
        Its first and last tick (UTC nanoseconds).
    columns : tuple of str or None
        Its data columns.
    schema, checksum : str or None
        A fingerprint of its Arrow schema, and the SHA-256 of its object.

    Examples
    --------
    >>> (version,) = store.insert("BTCUSD", ticks, day="2024-03-04")  # doctest: +SKIP
    >>> version.version, version.rows, version.current  # doctest: +SKIP
    (0, 1200, True)
    """

    day: dt.date
    version: int
    key: str
    start_time: int
    end_time: int
    recorded_at: int
    rows: int | None
    bytes: int | None
    min_time: int | None
    max_time: int | None
    columns: tuple[str, ...] | None
    schema: str | None
    checksum: str | None
    types: tuple[str, ...] | None = None
    """The Arrow type of each of ``columns`` (see `tickstore_core.schema`); None in indexes of tickstore 0.1
    and in serenity stores."""
    encoding: str | None = None
    """How the object is encoded (``"arrow"``, ``"hdf5-arrow"``, see :mod:`tickstore_core.encoding`); None for
    objects written by tickstore 0.1 (the backend's Parquet or HDF5 version 1) and serenity's files."""

    @property
    def stats_known(self) -> bool:
        """False for a version of a serenity store: rows, size, columns and checksum are unknown."""
        return self.checksum is not None

    @property
    def may_have_rows(self) -> bool:
        """Whether reading the version can give ticks (unknown statistics: yes)."""
        return self.rows is None or self.rows > 0

    @property
    def current(self) -> bool:
        """True while no later insert or delete has ended this version."""
        return self.end_time == TIME_MAX

    def valid_at(self, as_of: int | None) -> bool:
        """Whether this version is the truth at transaction time ``as_of`` (None: now).

        Parameters
        ----------
        as_of : int or None
            A transaction time in UTC nanoseconds, or None for now.

        Returns
        -------
        bool
            ``start_time <= as_of < end_time``; for None, whether the version is `current`.

        Examples
        --------
        >>> version.valid_at(pd.Timestamp("2024-03-05", tz="UTC").value)  # doctest: +SKIP
        True
        """
        if as_of is None:
            return self.current
        return self.start_time <= as_of < self.end_time

    def to_json(self) -> dict[str, Any]:
        """The version as a JSON-ready record, as the symbol's index stores it (without ``types``).

        Returns
        -------
        dict
            The fields by name; ``day`` as ``YYYY-MM-DD`` and ``columns`` as a list.

        Examples
        --------
        >>> Version.from_json(version.to_json()) == dataclasses.replace(version, types=None)  # doctest: +SKIP
        True
        """
        record = dataclasses.asdict(self)
        record["day"] = self.day.isoformat()
        record["columns"] = None if self.columns is None else list(self.columns)
        del record["types"], record["encoding"]  # kept beside the versions, see SymbolIndex.to_bytes
        return record

    @classmethod
    def from_json(cls, record: dict[str, Any]) -> Version:
        """A version from a record `to_json` made.

        Parameters
        ----------
        record : dict
            The fields by name, as `to_json` gives them.

        Returns
        -------
        Version
            The version (``types`` None: the index keeps them beside the versions).

        Examples
        --------
        >>> Version.from_json(version.to_json()).day  # doctest: +SKIP
        datetime.date(2024, 3, 4)
        """
        fields = dict(record)
        fields["day"] = dt.date.fromisoformat(fields["day"])
        fields["columns"] = None if fields["columns"] is None else tuple(fields["columns"])
        return cls(**fields)


class SymbolIndex:
    """All versions of one symbol, by day; immutable."""

    __slots__ = ("_days", "_versions", "symbol")

    def __init__(self, symbol: str, versions: Iterable[Version] = ()) -> None:
        self.symbol = symbol
        by_day: dict[dt.date, list[Version]] = {}
        for version in versions:
            by_day.setdefault(version.day, []).append(version)
        for day_versions in by_day.values():
            day_versions.sort(key=lambda v: v.version)
        self._versions: dict[dt.date, tuple[Version, ...]] = {d: tuple(v) for d, v in by_day.items()}
        self._days: list[dt.date] = sorted(by_day)

    # --- queries ---------------------------------------------------------------------------

    def __len__(self) -> int:
        return sum(len(v) for v in self._versions.values())

    def __iter__(self) -> Iterator[Version]:
        for day in self._days:
            yield from self._versions[day]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SymbolIndex) and other.symbol == self.symbol and list(other) == list(self)

    __hash__ = None  # type: ignore[assignment]

    def days(self) -> list[dt.date]:
        """Every day that has ever had a version, ascending."""
        return list(self._days)

    def versions(self, day: dt.date) -> tuple[Version, ...]:
        """Every version of ``day``, oldest first."""
        return self._versions.get(day, ())

    def latest(self, day: dt.date) -> Version | None:
        """The newest version of ``day``, current or ended."""
        versions = self._versions.get(day)
        return versions[-1] if versions else None

    def lookup(self, first: dt.date, last: dt.date, as_of: int | None = None) -> list[Version]:
        """The version valid at ``as_of`` (None: the current one) of each day in ``[first, last]``."""
        lo = bisect.bisect_left(self._days, first)
        hi = bisect.bisect_right(self._days, last)
        found = []
        for day in self._days[lo:hi]:
            for version in reversed(self._versions[day]):
                if version.valid_at(as_of):
                    found.append(version)
                    break
        return found

    # --- changes ---------------------------------------------------------------------------

    def replace(self, changed: Iterable[Version]) -> SymbolIndex:
        """A new index with ``changed`` versions added, or replacing those of the same (day, number)."""
        versions = {(v.day, v.version): v for v in self}
        versions.update({(v.day, v.version): v for v in changed})
        return SymbolIndex(self.symbol, versions.values())

    # --- serialisation ---------------------------------------------------------------------

    def to_bytes(self) -> bytes:
        """The index as JSON. Column types and encodings go in lists beside ``versions``, which tickstore 0.1
        ignores."""
        versions = list(self)
        document: dict[str, Any] = {
            "format": INDEX_FORMAT,
            "symbol": self.symbol,
            "versions": [v.to_json() for v in versions],
        }
        if any(v.types is not None for v in versions):
            document["column_types"] = [list(v.types) if v.types is not None else None for v in versions]
        if any(v.encoding is not None for v in versions):
            document["encodings"] = [v.encoding for v in versions]
        return json.dumps(document, separators=(",", ":")).encode()

    @classmethod
    def from_bytes(cls, data: bytes, *, where: str) -> SymbolIndex:
        try:
            document = json.loads(data)
            if document.get("format") != INDEX_FORMAT:
                raise ValueError(f"unknown index format {document.get('format')!r}")
            versions = [Version.from_json(r) for r in document["versions"]]
            types = document.get("column_types")
            if isinstance(types, list) and len(types) == len(versions):  # else unknown: checked on read
                versions = [
                    dataclasses.replace(v, types=tuple(t))
                    if isinstance(t, list) and v.columns is not None and len(t) == len(v.columns)
                    else v
                    for v, t in zip(versions, types, strict=True)
                ]
            encodings = document.get("encodings")
            if isinstance(encodings, list) and len(encodings) == len(versions):
                versions = [
                    dataclasses.replace(v, encoding=e) if isinstance(e, str) else v
                    for v, e in zip(versions, encodings, strict=True)
                ]
            return cls(document["symbol"], versions)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise CorruptObjectError(
                f"index {where} cannot be read ({exc}); restore that file from a backup of the store. "
                "The symbol's data objects are untouched (gc leaves them alone) and other symbols read as before"
            ) from exc
