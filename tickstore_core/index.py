"""The per-symbol partition index: every version of every day of one symbol.

A :class:`SymbolIndex` is an immutable value; a change returns a new index. It is stored as one
JSON object per symbol (so writers of different symbols never contend) and committed with a
compare-and-swap, see :mod:`tickstore_core.store`. Lookups bisect the sorted list of days, so a
select costs O(log n + k) in the number of days n, whatever the store's size.
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from .errors import CorruptObjectError, InvalidSymbolError, PrunedError
from .times import format_ns
from .versions import Segment, Version

__all__ = [
    "INDEX_FORMAT",
    "INDEX_FORMAT_2",
    "INDEX_FORMAT_3",
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
INDEX_FORMAT_3 = "tickstore-index/3"
"""Written when a version record shares segments with the record before it (``base_segments``): a
reader of ``/2`` would take its ``segments`` for all of them, so it must refuse it instead."""
_INDEX_FORMATS = (INDEX_FORMAT, INDEX_FORMAT_2, INDEX_FORMAT_3)


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
Signatures = dict[tuple[tuple[str, ...], tuple[str, ...]], list[dt.date]]
Pruned = dict[dt.date, tuple[tuple[int, int], ...]]
"""Per day, the transaction-time intervals ``[start, end)`` whose versions were pruned (merged, sorted)."""


def pruned_interval(pruned: Pruned, day: dt.date, as_of: int) -> tuple[int, int] | None:
    """The pruned interval of ``day`` holding ``as_of``, or None."""
    for start, end in pruned.get(day, ()):
        if start <= as_of < end:
            return start, end
    return None


CHUNK_FORMAT = "tickstore-index-chunk/1"
CHUNK_FORMAT_2 = "tickstore-index-chunk/2"
"""A chunk whose records share segments (``base_segments``, as ``tickstore-index/3``)."""
CHUNK_FORMATS = (CHUNK_FORMAT, CHUNK_FORMAT_2)
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

    __slots__ = (
        "_days",
        "_loader",
        "_months",
        "_signatures",
        "_texts",
        "_versions",
        "chunks",
        "garbage",
        "pruned",
        "symbol",
    )

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
        self._signatures: Signatures | None = None
        self._texts: dict[int, _Text] = {}  # by `_month`, filled as `to_bytes` needs them
        self._months: list[int] | None = None  # the months of `_days`, sorted, once needed

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

    def signatures(self) -> Signatures:
        """The current versions with ticks by their (columns, column types), with their days; few
        however long the history, and worked out once per index (every insert checks them)."""
        if self._signatures is None:
            found: Signatures = {}
            for day in self._days:
                signature = _signature(self._versions[day])
                if signature is not None:
                    found.setdefault(signature, []).append(day)
            self._signatures = found
        return self._signatures

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
        by_day = dict(self._versions)  # only the touched days are rebuilt: a commit costs the same in a long history
        changed, dropped = list(changed), list(dropped)
        touched = {v.day for v in changed} | {v.day for v in dropped}
        days_changed = False
        for day in touched:
            held = {v.version: v for v in by_day.get(day, ())}
            for version in dropped:
                if version.day == day:
                    held.pop(version.version, None)
            held.update({v.version: v for v in changed if v.day == day})
            if held:
                by_day[day] = tuple(held[number] for number in sorted(held))
            else:
                by_day.pop(day, None)
            days_changed |= (day in by_day) != (day in self._versions)
        updated = self._like((), garbage=(*self.garbage, *garbage))
        updated._versions = by_day
        updated._days = self._carried_days(by_day, touched) if days_changed else self._days
        updated._signatures = self._carried_signatures(by_day, touched)
        updated._texts = dict(self._texts)  # the untouched months' texts are still right
        for month in {_month(day) for day in touched}:
            updated._texts.pop(month, None)
        updated._months = self._carried_months(by_day, touched) if days_changed else self._months
        return updated

    def _carried_days(self, by_day: dict[dt.date, tuple[Version, ...]], touched: set[dt.date]) -> list[dt.date]:
        """The sorted days of ``by_day``: this index's, with ``touched`` days added or removed."""
        days = list(self._days)
        for day in sorted(touched):
            at = bisect.bisect_left(days, day)
            present = at < len(days) and days[at] == day
            if day in by_day and not present:
                days.insert(at, day)
            elif day not in by_day and present:
                del days[at]
        return days

    def _carried_months(self, by_day: dict[dt.date, tuple[Version, ...]], touched: set[dt.date]) -> list[int] | None:
        """`_months` of an index whose days differ from this one's only on ``touched`` days: this one's
        with the new days' months added; None (worked out when needed) if a day went away."""
        if self._months is None or any(day not in by_day for day in touched):
            return None
        months = list(self._months)
        for month in {_month(day) for day in touched}:
            at = bisect.bisect_left(months, month)
            if at == len(months) or months[at] != month:
                months.insert(at, month)
        return months

    def _carried_signatures(
        self, by_day: dict[dt.date, tuple[Version, ...]], touched: set[dt.date]
    ) -> Signatures | None:
        """`signatures` of an index whose held versions are ``by_day``, differing from this one's only on
        ``touched`` days: this index's, updated on those days (None if not worked out yet)."""
        if self._signatures is None:
            return None
        found = {key: list(days) for key, days in self._signatures.items()}
        for day in touched:
            before, after = _signature(self._versions.get(day)), _signature(by_day.get(day))
            if before == after:
                continue
            if before is not None:
                days = found[before]
                del days[bisect.bisect_left(days, day)]
            if after is not None:
                bisect.insort(found.setdefault(after, []), day)
        return {key: days for key, days in found.items() if days}

    def held_on(self, day: dt.date) -> tuple[Version, ...]:
        """The versions of ``day`` the index object holds (not those sealed in chunks), oldest first."""
        return self._versions.get(day, ())

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
        return sum(text.ended for text in self._month_texts()) > SEAL_AT

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
        members = _Text.of(sealed)
        form = CHUNK_FORMAT_2 if members.shares else CHUNK_FORMAT
        head = json.dumps({"format": form, "symbol": self.symbol}, separators=(",", ":"))
        index = self._like(kept, chunks=(*self.chunks, chunk))
        index._texts = {month: text for month, text in self._texts.items() if not text.ended}  # left as they were
        index._months = self._months
        return index, f"{head[:-1]},{_members([members])}}}".encode()

    # --- serialisation ---------------------------------------------------------------------

    def to_bytes(self) -> bytes:
        """The index as JSON. Column types and encodings go in lists beside ``versions``, which 0.1 ignores.

        Written as ``tickstore-index/1`` while nothing in it needs more, else ``tickstore-index/2``.
        """
        texts = self._month_texts()
        newer = bool(self.chunks or self.pruned or self.garbage) or any(text.new_format for text in texts)
        form = INDEX_FORMAT_3 if any(text.shares for text in texts) else INDEX_FORMAT_2 if newer else INDEX_FORMAT
        document: dict[str, Any] = {"format": form, "symbol": self.symbol}
        if self.pruned:
            document["pruned"] = {d.isoformat(): [list(i) for i in t] for d, t in sorted(self.pruned.items())}
        if self.garbage:
            document["garbage"] = [list(g) for g in self.garbage]
        parts = [json.dumps(document, separators=(",", ":"))[:-1], _members(texts)]
        if self.chunks:  # versions and chunks are spliced in from texts made once each
            parts.append(f'"chunks":[{",".join(c.text for c in self.chunks)}]')
        return (",".join(parts) + "}").encode()

    def _month_texts(self) -> list[_Text]:
        """The `_Text` of each month's held versions, in order: made once per month and kept by the
        indexes a commit derives from this one (`replace` drops only the touched months'), so a
        commit of ten years joins about 120 texts instead of visiting every day and version."""
        if self._months is None:
            self._months = sorted({_month(day) for day in self._days})
        texts, found = self._texts, []
        for month in self._months:
            text = texts.get(month)
            if text is None:
                start = bisect.bisect_left(self._days, _month_start(month))
                end = bisect.bisect_left(self._days, _month_start(month + 1)) if month < _LAST else len(self._days)
                text = texts[month] = _Text.of([v for day in self._days[start:end] for v in self._versions[day]])
            found.append(text)
        return found

    @classmethod
    def from_bytes(
        cls, data: bytes, *, where: str, loader: ChunkLoader | None = None, symbol: str | None = None
    ) -> SymbolIndex:
        """The index in ``data`` (read from ``where``), which must be ``symbol``'s when given."""
        try:
            document = json.loads(data)
            if document.get("format") not in _INDEX_FORMATS:
                raise ValueError(f"unknown index format {document.get('format')!r}")
            if symbol is not None and document["symbol"] != symbol:
                _refuse_other_symbol(symbol, str(document["symbol"]), where)
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
        except InvalidSymbolError:
            raise
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise CorruptObjectError(
                f"index {where} cannot be read ({exc}); restore that file from a backup of the store. "
                "The symbol's data objects are untouched (gc leaves them alone) and other symbols read as before"
            ) from exc


def _refuse_other_symbol(symbol: str, held: str, where: str) -> None:
    """The index read for ``symbol`` is ``held``'s: one name on storage that ignores case (a Mac's or Windows'
    disk), so a write would change the other symbol's data; else the index is not the file it should be."""
    if held.casefold() == symbol.casefold():
        raise InvalidSymbolError(
            f"symbol {symbol!r} is {held!r} in this store: its storage ({where}) ignores the case of names, so "
            f"symbols that differ only in case are one; use {held!r}"
        )
    raise ValueError(f"it holds symbol {held!r}, not {symbol!r}")


def _month(day: dt.date) -> int:
    """The month of ``day`` as a number that sorts like the months."""
    return day.year * 12 + day.month - 1


_LAST = _month(dt.date.max)


def _month_start(month: int) -> dt.date:
    """The first day of month number ``month`` (see `_month`)."""
    return dt.date(month // 12, month % 12 + 1, 1)


@dataclass(frozen=True)
class _Text:
    """Held versions (of one month) as pieces of the index object's JSON (their members of
    ``versions``, ``column_types`` and ``encodings``), and what `SymbolIndex.to_bytes` and
    `SymbolIndex.needs_seal` need to know of them."""

    versions: str
    types: str
    encodings: str
    typed: bool  # some version records its column types
    encoded: bool  # some version records its encoding
    new_format: bool  # some version needs tickstore-index/2
    ended: int  # held versions besides each day's latest
    shares: bool  # some record shares segments with the one before it (tickstore-index/3)

    @classmethod
    def of(cls, versions: list[Version]) -> _Text:
        records, shares = [], False
        for previous, version in zip([None, *versions[:-1]], versions, strict=True):
            shared = _shared_segments(previous, version)
            records.append(version.text_after(shared) if shared else version.text)
            shares = shares or bool(shared)
        return cls(
            ",".join(records),
            ",".join(v.types_text for v in versions),
            ",".join(_encoding_text(v.encoding) for v in versions),
            any(v.types is not None for v in versions),
            any(v.encoding is not None for v in versions),
            any(v.new_format for v in versions),
            len(versions) - len({v.day for v in versions}),
            shares,
        )


def _shared_segments(previous: Version | None, version: Version) -> int:
    """How many first segments ``version`` has of ``previous`` (the record before it), if of the same day."""
    if previous is None or previous.day != version.day or not previous.segments or version.segments is None:
        return 0
    held = previous.segments
    if len(version.segments) < len(held):
        return 0
    mine = version.segments[: len(held)]
    return len(held) if all(a is b or a == b for a, b in zip(held, mine, strict=True)) else 0


@functools.lru_cache(maxsize=64)
def _encoding_text(encoding: str | None) -> str:
    """An encoding as JSON text (few distinct ones: made once each)."""
    return json.dumps(encoding)


def _signature(versions: tuple[Version, ...] | None) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    """The (columns, column types) of a day's current version with ticks, from the day's held versions."""
    version = versions[-1] if versions else None
    if version and version.current and version.rows and version.types is not None and version.columns is not None:
        return version.columns, version.types
    return None


def _members(texts: Sequence[_Text]) -> str:
    """The ``versions`` member of an index or chunk document, and ``column_types`` and ``encodings`` if any,
    as JSON text (without braces), joined from ``texts`` (of consecutive runs of versions, in order)."""
    parts = [f'"versions":[{",".join(t.versions for t in texts)}]']
    if any(text.typed for text in texts):
        parts.append(f'"column_types":[{",".join(t.types for t in texts)}]')
    if any(text.encoded for text in texts):
        parts.append(f'"encodings":[{",".join(t.encodings for t in texts)}]')
    return ",".join(parts)


def versions_from_json(document: dict[str, Any]) -> list[Version]:
    """The versions of an index or chunk document, with column types and encodings where recorded (built once each)."""
    records = document["versions"]
    types = document.get("column_types")
    if not (isinstance(types, list) and len(types) == len(records)):  # else unknown: checked on read
        types = [None] * len(records)
    encodings = document.get("encodings")
    if not (isinstance(encodings, list) and len(encodings) == len(records)):  # else tickstore 0.1's encoding
        encodings = [None] * len(records)
    versions: list[Version] = []
    for r, t, e in zip(records, types, encodings, strict=True):
        versions.append(
            Version.from_json(
                _own(r) if "base_segments" in r else r,
                types=t,
                encoding=e if isinstance(e, str) else None,
                shared=_shared(r, versions[-1] if versions else None),
            )
        )
    return versions


def _own(record: dict[str, Any]) -> dict[str, Any]:
    """A record without its ``base_segments`` (its ``segments`` are then the ones it adds)."""
    return {name: value for name, value in record.items() if name != "base_segments"}


def _shared(record: dict[str, Any], previous: Version | None) -> tuple[Segment, ...]:
    """The segments ``record`` shares with the version before it (``base_segments``), checked."""
    if "base_segments" not in record:
        return ()
    shared = record["base_segments"]
    held = previous.segments if previous is not None and previous.day.isoformat() == record.get("day") else None
    if type(shared) is not int or held is None or not 0 < shared <= len(held):
        raise ValueError(f"base_segments {shared!r} of a {record.get('day')} record does not fit the record before it")
    return held[:shared]
