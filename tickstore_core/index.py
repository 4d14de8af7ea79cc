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
import functools
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from .errors import CorruptObjectError, PrunedError
from .times import TIME_MAX, format_ns

__all__ = [
    "INDEX_FORMAT",
    "INDEX_FORMAT_2",
    "Chunk",
    "Pruned",
    "Segment",
    "SymbolIndex",
    "Version",
    "pruned_interval",
]

INDEX_FORMAT = "tickstore-index/1"
INDEX_FORMAT_2 = "tickstore-index/2"
"""Written when an index uses what tickstore 0.1 cannot read (segments, kinds, metadata, pruning,
sealed chunks); an index without any of them is still written as ``tickstore-index/1``."""


@dataclass(frozen=True)
class Segment:
    """One immutable object of a version made by appends: its key, ticks and checksum.

    A version of a day that was appended to is its previous version's segments plus one new
    segment; reading it concatenates them and sorts by time stably (appended rows after the rows
    already there with the same timestamp).
    """

    key: str
    rows: int
    bytes: int
    checksum: str
    min_time: int | None
    max_time: int | None
    encoding: str | None = None
    """How the object is encoded, as `Version.encoding` (None: tickstore 0.1's encoding)."""

    def to_json(self) -> dict[str, Any]:
        record = {name: getattr(self, name) for name in _SEGMENT_FIELDS}
        if self.encoding is not None:
            record["encoding"] = self.encoding
        return record

    @classmethod
    def from_json(cls, record: dict[str, Any]) -> Segment:
        return cls(**record)


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
    segments: tuple[Segment, ...] | None = None
    """The objects of a version made by `Tickstore.append`, oldest first; None for one object (``key``)."""
    kind: str | None = None
    """How it was made: None for an insert, ``"append"`` or ``"compaction"`` (the same ticks in one object)."""
    metadata: str | None = dataclasses.field(default=None, hash=False)
    """The user's metadata given to insert or append, as canonical JSON text (see `user_metadata`)."""

    @property
    def parts(self) -> tuple[Segment, ...]:
        """The objects holding the version's ticks, in the order they were written."""
        if self.segments is not None:
            return self.segments
        return (
            Segment(
                self.key,
                self.rows or 0,
                self.bytes or 0,
                self.checksum or "",
                self.min_time,
                self.max_time,
                self.encoding,
            ),
        )

    @property
    def keys(self) -> tuple[str, ...]:
        """The keys of every object the version references."""
        return tuple(s.key for s in self.segments) if self.segments is not None else (self.key,)

    @property
    def user_metadata(self) -> dict[str, Any] | None:
        """The metadata given to insert or append, or None."""
        return None if self.metadata is None else dict(json.loads(self.metadata))

    @property
    def new_format(self) -> bool:
        """Whether the version uses what an index of tickstore 0.1 cannot hold."""
        return self.segments is not None or self.kind is not None or self.metadata is not None

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

        Computed once per version: versions never change, and indexes are rewritten often.

        Returns
        -------
        dict
            The fields by name; ``day`` as ``YYYY-MM-DD`` and ``columns`` as a list; ``segments``,
            ``kind`` and ``metadata`` only when set.

        Examples
        --------
        >>> Version.from_json(version.to_json()) == dataclasses.replace(version, types=None)  # doctest: +SKIP
        True
        """
        cached: dict[str, Any] | None = self.__dict__.get("_record")
        if cached is not None:
            return cached
        record = {name: getattr(self, name) for name in _VERSION_FIELDS}  # types are kept beside, see to_bytes
        record["day"] = self.day.isoformat()
        record["columns"] = None if self.columns is None else list(self.columns)
        for name in ("segments", "kind", "metadata"):  # absent unless used, so 0.1's records stay as they were
            value = getattr(self, name)
            if value is not None:
                record[name] = [s.to_json() for s in value] if name == "segments" else value
        self.__dict__["_record"] = record  # frozen: bypass __setattr__ for this cache only
        return record

    @classmethod
    def from_json(cls, record: dict[str, Any], *, types: Any = None, encoding: str | None = None) -> Version:
        """A version from a record `to_json` made.

        Parameters
        ----------
        record : dict
            The fields by name, as `to_json` gives them.
        types : list of str, optional
            The column types the index keeps beside the versions (ignored unless one per column).
        encoding : str, optional
            The object encoding the index keeps beside the versions (None: tickstore 0.1's).

        Returns
        -------
        Version
            The version.

        Examples
        --------
        >>> Version.from_json(version.to_json()).day  # doctest: +SKIP
        datetime.date(2024, 3, 4)
        """
        fields = dict(record)
        fields["day"] = dt.date.fromisoformat(fields["day"])
        columns = fields["columns"] = None if fields["columns"] is None else tuple(fields["columns"])
        if fields.get("segments") is not None:
            fields["segments"] = tuple(Segment.from_json(s) for s in fields["segments"])
        if isinstance(types, list) and columns is not None and len(types) == len(columns):
            fields["types"] = tuple(types)
        if encoding is not None:
            fields["encoding"] = encoding
        return cls(**fields)


_SEGMENT_FIELDS = tuple(f.name for f in dataclasses.fields(Segment) if f.name != "encoding")
_VERSION_FIELDS = tuple(
    f.name for f in dataclasses.fields(Version) if f.name not in ("types", "segments", "kind", "metadata", "encoding")
)


@dataclass(frozen=True)
class Chunk:
    """A sealed, immutable part of an index: ended versions moved out of the index object.

    The index object (the one compare-and-swap commits change) keeps each day's latest version
    and the versions ended since the last seal; older ones are written once to a chunk object and
    referenced here with the days and transaction times they cover, so a commit rewrites a small
    object however long the history, and a read as of a time loads only the chunks covering it.
    """

    key: str
    count: int
    first_day: dt.date
    last_day: dt.date
    min_start: int
    max_end: int

    def covers(self, day: dt.date, as_of: int | None = None) -> bool:
        return self.first_day <= day <= self.last_day and (as_of is None or self.min_start <= as_of < self.max_end)

    def to_json(self) -> dict[str, Any]:
        days = {"first_day": self.first_day.isoformat(), "last_day": self.last_day.isoformat()}
        return {"key": self.key, "count": self.count, **days, "min_start": self.min_start, "max_end": self.max_end}

    @functools.cached_property
    def text(self) -> str:
        """`to_json` as JSON text, made once: every commit of a long history writes every chunk's."""
        return json.dumps(self.to_json(), separators=(",", ":"))

    @classmethod
    def from_json(cls, record: dict[str, Any]) -> Chunk:
        fields = dict(record)
        fields["first_day"] = dt.date.fromisoformat(fields["first_day"])
        fields["last_day"] = dt.date.fromisoformat(fields["last_day"])
        return cls(**fields)


ChunkLoader = Callable[[Chunk], Sequence[Version]]
Pruned = dict[dt.date, tuple[tuple[int, int], ...]]
"""Per day, the transaction-time intervals ``[start, end)`` whose versions were pruned (merged, sorted)."""


def pruned_interval(pruned: Pruned, day: dt.date, as_of: int) -> tuple[int, int] | None:
    """The pruned interval of ``day`` holding ``as_of``, or None."""
    for start, end in pruned.get(day, ()):
        if start <= as_of < end:
            return start, end
    return None


CHUNK_FORMAT = "tickstore-index-chunk/1"
SEAL_AT = 32
"""Ended versions the index object holds (besides each day's latest) before they are sealed into a chunk."""


def _no_chunks(chunk: Chunk) -> Sequence[Version]:
    raise CorruptObjectError(f"index chunk {chunk.key} referenced, but no way to read it was given")


class SymbolIndex:
    """All versions of one symbol, by day; immutable.

    ``versions`` are those the index object holds; ``chunks`` the sealed parts, read through
    ``loader`` when a query needs them. ``pruned`` maps a day to the transaction time before which
    its history was pruned; ``garbage`` lists objects pruned versions left, with when, for deletion
    after a grace period.
    """

    __slots__ = ("_days", "_loader", "_versions", "chunks", "garbage", "pruned", "symbol")

    def __init__(
        self,
        symbol: str,
        versions: Iterable[Version] = (),
        *,
        chunks: Sequence[Chunk] = (),
        pruned: Pruned | None = None,
        garbage: Sequence[tuple[str, int]] = (),
        loader: ChunkLoader | None = None,
    ) -> None:
        self.symbol = symbol
        by_day: dict[dt.date, list[Version]] = {}
        for version in versions:
            by_day.setdefault(version.day, []).append(version)
        for day_versions in by_day.values():
            day_versions.sort(key=lambda v: v.version)
        self._versions: dict[dt.date, tuple[Version, ...]] = {d: tuple(v) for d, v in by_day.items()}
        self._days: list[dt.date] = sorted(by_day)
        self.chunks: tuple[Chunk, ...] = tuple(chunks)
        self.pruned: Pruned = dict(pruned or {})
        self.garbage: tuple[tuple[str, int], ...] = tuple(garbage)
        self._loader: ChunkLoader = loader or _no_chunks

    def _like(self, versions: Iterable[Version], **changes: Any) -> SymbolIndex:
        """A new index with ``versions`` in the object and this one's chunks, marks and loader unless changed."""
        fields: dict[str, Any] = {
            "chunks": self.chunks,
            "pruned": self.pruned,
            "garbage": self.garbage,
            "loader": self._loader,
        }
        fields.update(changes)
        return SymbolIndex(self.symbol, versions, **fields)

    # --- queries ---------------------------------------------------------------------------

    def __len__(self) -> int:
        return sum(len(v) for v in self._versions.values()) + sum(c.count for c in self.chunks)

    def __iter__(self) -> Iterator[Version]:
        for day in self._days:
            yield from self.versions(day)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SymbolIndex) and other.symbol == self.symbol and list(other) == list(self)

    __hash__ = None  # type: ignore[assignment]

    def days(self) -> list[dt.date]:
        """Every day that has ever had a version, ascending (each day's latest version is never sealed)."""
        return list(self._days)

    def _sealed(self, day: dt.date, as_of: int | None = None) -> list[Version]:
        return [v for c in self.chunks if c.covers(day, as_of) for v in self._loader(c) if v.day == day]

    def versions(self, day: dt.date) -> tuple[Version, ...]:
        """Every version of ``day``, oldest first (sealed ones read from their chunks)."""
        held = self._versions.get(day, ())
        if not self.chunks:
            return held
        sealed = self._sealed(day)
        if not sealed:
            return held
        return tuple(sorted((*sealed, *held), key=lambda v: v.version))

    def version(self, day: dt.date, number: int) -> Version | None:
        """Version ``number`` of ``day``, or None; looks in the newest chunks covering the day first."""
        for version in self._versions.get(day, ()):
            if version.version == number:
                return version
        for chunk in reversed(self.chunks):
            if chunk.covers(day):
                for version in self._loader(chunk):
                    if version.day == day and version.version == number:
                        return version
        return None

    @property
    def held(self) -> tuple[Version, ...]:
        """The versions the index object holds (not sealed in chunks)."""
        return tuple(v for day in self._days for v in self._versions[day])

    def latest(self, day: dt.date) -> Version | None:
        """The newest version of ``day``, current or ended."""
        versions = self._versions.get(day)
        return versions[-1] if versions else None

    def at(self, day: dt.date, as_of: int | None) -> Version | None:
        """The version of ``day`` valid at ``as_of`` (None: the current one), or None.

        Raises `PrunedError` when the day's history at ``as_of`` was pruned and no kept
        version answers for it: never an older or newer version in its place.
        """
        for version in reversed(self._versions.get(day, ())):
            if version.valid_at(as_of):
                return version
            if as_of is not None and version.start_time <= as_of:
                break
        if as_of is None:
            return None
        for version in self._sealed(day, as_of):
            if version.valid_at(as_of):
                return version
        gone = pruned_interval(self.pruned, day, as_of)
        if gone is not None:
            raise PrunedError(
                f"{self.symbol} {day}: history before {format_ns(gone[1])} was pruned (from {format_ns(gone[0])}), "
                f"so the data as of {format_ns(as_of)} is gone; select as of {format_ns(gone[1])} or later, "
                "or as of a tag"
            )
        return None

    def lookup(self, first: dt.date, last: dt.date, as_of: int | None = None) -> list[Version]:
        """The version valid at ``as_of`` (None: the current one) of each day in ``[first, last]``."""
        lo = bisect.bisect_left(self._days, first)
        hi = bisect.bisect_right(self._days, last)
        found = []
        for day in self._days[lo:hi]:
            version = self.at(day, as_of)
            if version is not None:
                found.append(version)
        return found

    # --- changes ---------------------------------------------------------------------------

    def replace(
        self, changed: Iterable[Version], *, dropped: Iterable[Version] = (), garbage: Sequence[tuple[str, int]] = ()
    ) -> SymbolIndex:
        """A new index with ``changed`` versions added, or replacing those of the same (day, number).

        Only versions the index object holds can change: each day's latest, and ended versions not
        yet sealed. ``dropped`` versions (a compacted one) leave the index, ``garbage`` is added.
        """
        versions = {(v.day, v.version): v for v in self.held}
        for version in dropped:
            versions.pop((version.day, version.version), None)
        versions.update({(v.day, v.version): v for v in changed})
        return self._like(versions.values(), garbage=(*self.garbage, *garbage))

    def with_marks(self, *, pruned: Pruned | None = None, garbage: Sequence[tuple[str, int]]) -> SymbolIndex:
        """The same versions with other pruning marks or garbage."""
        return self._like(self.held, pruned=self.pruned if pruned is None else pruned, garbage=garbage)

    def rebuilt(
        self, versions: Iterable[Version], *, pruned: Pruned, garbage: Sequence[tuple[str, int]]
    ) -> SymbolIndex:
        """An index of exactly ``versions``, all held in the object (chunks dropped; sealed again on commit)."""
        return self._like(versions, chunks=(), pruned=pruned, garbage=garbage)

    @property
    def needs_seal(self) -> bool:
        """Whether the object holds more than `SEAL_AT` ended versions besides each day's latest."""
        return sum(len(v) - 1 for v in self._versions.values()) > SEAL_AT

    def seal(self, key: str) -> tuple[SymbolIndex, bytes]:
        """Move every held version but each day's latest into a new chunk stored under ``key``.

        Returns the new index and the chunk's bytes, to be written before the index is committed.
        """
        sealed = [v for versions in self._versions.values() for v in versions[:-1]]
        kept = [versions[-1] for versions in self._versions.values()]
        chunk = Chunk(
            key,
            len(sealed),
            min(v.day for v in sealed),
            max(v.day for v in sealed),
            min(v.start_time for v in sealed),
            max(v.end_time for v in sealed),
        )
        document = {"format": CHUNK_FORMAT, "symbol": self.symbol, **_versions_json(sealed)}
        return self._like(kept, chunks=(*self.chunks, chunk)), json.dumps(document, separators=(",", ":")).encode()

    # --- serialisation ---------------------------------------------------------------------

    def to_bytes(self) -> bytes:
        """The index as JSON. Column types and encodings go in lists beside ``versions``, which 0.1 ignores.

        Written as ``tickstore-index/1`` while nothing in it needs more, else ``tickstore-index/2``.
        """
        versions = self.held
        newer = bool(self.chunks or self.pruned or self.garbage) or any(v.new_format for v in versions)
        document: dict[str, Any] = {
            "format": INDEX_FORMAT_2 if newer else INDEX_FORMAT,
            "symbol": self.symbol,
            **_versions_json(versions),
        }
        if self.pruned:
            document["pruned"] = {d.isoformat(): [list(i) for i in t] for d, t in sorted(self.pruned.items())}
        if self.garbage:
            document["garbage"] = [list(g) for g in self.garbage]
        text = json.dumps(document, separators=(",", ":"))
        if self.chunks:  # spliced in from each chunk's text, made once
            text = f'{text[:-1]},"chunks":[{",".join(c.text for c in self.chunks)}]}}'
        return text.encode()

    @classmethod
    def from_bytes(cls, data: bytes, *, where: str, loader: ChunkLoader | None = None) -> SymbolIndex:
        try:
            document = json.loads(data)
            if document.get("format") not in (INDEX_FORMAT, INDEX_FORMAT_2):
                raise ValueError(f"unknown index format {document.get('format')!r}")
            return cls(
                document["symbol"],
                versions_from_json(document),
                chunks=[Chunk.from_json(c) for c in document.get("chunks", ())],
                pruned={
                    dt.date.fromisoformat(d): tuple((int(a), int(b)) for a, b in t)
                    for d, t in document.get("pruned", {}).items()
                },
                garbage=[(str(k), int(t)) for k, t in document.get("garbage", ())],
                loader=loader,
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise CorruptObjectError(
                f"index {where} cannot be read ({exc}); restore that file from a backup of the store. "
                "The symbol's data objects are untouched (gc leaves them alone) and other symbols read as before"
            ) from exc


def _versions_json(versions: Sequence[Version]) -> dict[str, Any]:
    document: dict[str, Any] = {"versions": [v.to_json() for v in versions]}
    if any(v.types is not None for v in versions):
        document["column_types"] = [list(v.types) if v.types is not None else None for v in versions]
    if any(v.encoding is not None for v in versions):
        document["encodings"] = [v.encoding for v in versions]
    return document


def versions_from_json(document: dict[str, Any]) -> list[Version]:
    """The versions of an index or chunk document, with column types and encodings where recorded (built once each)."""
    records = document["versions"]
    types = document.get("column_types")
    if not (isinstance(types, list) and len(types) == len(records)):  # else unknown: checked on read
        types = [None] * len(records)
    encodings = document.get("encodings")
    if not (isinstance(encodings, list) and len(encodings) == len(records)):  # else tickstore 0.1's encoding
        encodings = [None] * len(records)
    return [
        Version.from_json(r, types=t, encoding=e if isinstance(e, str) else None)
        for r, t, e in zip(records, types, encodings, strict=True)
    ]
