"""Copying a store to another backend with its whole history: every version, every transaction time.

``copy_store(source, destination)`` re-encodes each version for the destination (HDF5 → Parquet,
say), keeps its number, ``start_time``, ``end_time`` and ``recorded_at``, reads it back and checks
it against the source before committing, and commits day by day. Running it again resumes: versions
the destination already has are skipped, so an interrupted copy completes by running it once more
(uploads of the interrupted day are left as orphans for ``gc``).

A serenity store copies the same way: its ``index.h5`` gives every version's times and every
delete; each version is read from its file (HDF5 or Parquet), re-encoded, verified and committed
with those times (``recorded_at`` is the version's start, serenity kept no commit time). After the
copy every symbol's versions in the destination are compared with the source's, so a copy never
reports success with a version, a delete or a symbol left behind.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from .errors import ConfigError, CorruptObjectError, InvalidInputError, StorageError, UnknownLayoutError
from .index import SymbolIndex, Version
from .progress import progress_bar
from .store import Tickstore
from .writes import Encoded

__all__ = ["CopyIncompleteError", "CopyReport", "copy_store"]

log = logging.getLogger("tickstore")


@dataclass
class CopyReport:
    """What a copy did, per symbol."""

    copied: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    rows: int = 0
    unreadable: dict[str, str] = field(default_factory=dict)
    """Symbols not copied because their index in the source cannot be read, with the reason."""

    @property
    def versions_copied(self) -> int:
        return sum(self.copied.values())


class CopyConflictError(InvalidInputError):
    """The destination holds versions that the source does not: it is not a copy of it."""


class CopyIncompleteError(StorageError):
    """After a copy the destination lacks versions (or their times) that the source has."""


def copy_store(
    source: Tickstore,
    destination: Tickstore,
    symbols: Iterable[str] | None = None,
    *,
    verify: bool = True,
    progress: bool | None = None,
) -> CopyReport:
    """Copy ``symbols`` (all by default) with their full history from ``source`` to ``destination``.

    Both stores must partition days in the same time zone. The destination must be empty for
    those symbols or hold an earlier (partial) copy of them. A symbol whose index in the source
    cannot be read is not copied: it is listed in the report's ``unreadable``, the others are.
    """
    if source.tz != destination.tz:
        raise ConfigError(
            f"the source partitions days in {source.tz} and the destination in {destination.tz}; "
            "open the destination with the same tz"
        )
    destination.engine.check_writable()  # a serenity store is never written into, not even a manifest
    if not source.is_serenity_store and not source.engine.has_manifest:  # never "copy nothing" successfully
        source.engine.check_layout()
        raise UnknownLayoutError(
            f"{source.backend.url} holds no store to copy: no _tickstore.json and no serenity index "
            "(index.h5 / index); check the URL (and that the container, bucket or directory exists)"
        )
    names = sorted(symbols) if symbols is not None else source.symbols()
    source.flush()
    destination.flush()
    indexes = {}
    report = CopyReport()
    for name in names:
        try:
            indexes[name] = source.engine.load_index(name).index
        except CorruptObjectError as exc:  # copy the others; the caller reports this one
            log.warning("%s not copied: %s", name, exc)
            report.unreadable[name] = str(exc)
    names = [name for name in names if name in indexes]
    total = sum(len(index) for index in indexes.values())
    destination.engine.ensure_manifest()
    with progress_bar(total, f"copy to {destination.backend.url}", progress) as bar:
        for name in names:
            report.copied[name] = report.skipped[name] = 0
            for day in indexes[name].days():
                copied, skipped, rows = _copy_day(source, destination, name, indexes[name].versions(day), verify)
                report.copied[name] += copied
                report.skipped[name] += skipped
                report.rows += rows
                bar.update(copied + skipped)
    _check_complete(source, destination, indexes)
    _copy_tags(source, destination)
    log.info("copied %d versions (%d rows) to %s", report.versions_copied, report.rows, destination.backend.url)
    return report


def _copy_tags(source: Tickstore, destination: Tickstore) -> None:
    """The source's tags (store-wide names of transaction times), so that ``as_of="tag:NAME"`` reads the
    same in both; a tag the destination holds at another time is a conflict."""
    theirs = source.tags() if not source.is_serenity_store else None
    if theirs is None or theirs.empty:
        return
    mine = destination.tags()
    held = dict(zip(mine.index, mine["time"], strict=True))
    for name, tag in theirs.iterrows():
        if name not in held:
            destination.tag(str(name), as_of=tag.time, message=tag.message or "")
        elif held[name] != tag.time:
            raise CopyConflictError(
                f"the destination's tag {name!r} names {held[name]}, the source's {tag.time}; "
                "untag it in the destination, or copy into a store without it"
            )


def _check_complete(source: Tickstore, destination: Tickstore, indexes: dict[str, SymbolIndex]) -> None:
    """Every version of every copied symbol is in the destination with the source's times."""
    destination.refresh()
    for name, index in indexes.items():
        copied = {(v.day, v.version): (v.start_time, v.end_time) for v in destination.engine.load_index(name).index}
        wanted = {(v.day, v.version): (v.start_time, v.end_time) for v in index}
        missing = sorted(key for key, times in wanted.items() if copied.get(key) != times)
        if missing:
            day, number = missing[0]
            raise CopyIncompleteError(
                f"after copying {source.backend.url} to {destination.backend.url}, {name} lacks {len(missing)} "
                f"version(s) or their times, e.g. {day} version {number}; run the copy again"
            )


def _copy_day(
    source: Tickstore, destination: Tickstore, symbol: str, wanted: tuple[Version, ...], verify: bool
) -> tuple[int, int, int]:
    """Copy the versions of one day the destination lacks, in one commit; (copied, skipped, rows)."""
    day = wanted[0].day
    have = destination.engine.load_index(symbol).index.versions(day)
    missing, ended, dropped = _plan_day(symbol, day, have, wanted)
    if not missing and not ended and not dropped:
        return 0, len(have), 0
    encoded = [_reencode(source, destination, symbol, version) for version in missing]
    pruned = source.engine.index(symbol).pruned.get(day)

    def finish(index: SymbolIndex, keys: list[str]) -> tuple[SymbolIndex | None, int]:
        still_missing, ended, dropped = _plan_day(symbol, day, index.versions(day), wanted)
        placed = [dataclasses.replace(e.version, key=key) for e, key in zip(encoded, keys, strict=True)]
        if verify:
            for version, original in zip(placed, missing, strict=True):
                _verify(source, destination, symbol, original, version)
        numbers = {v.version for v in still_missing}
        changed = index.replace([*ended, *(v for v in placed if v.version in numbers)], dropped=dropped)
        if pruned:  # what the source pruned stays an error as of those times, never an empty answer
            changed = changed.with_marks(pruned={**changed.pruned, day: pruned}, garbage=changed.garbage)
        return changed, len(numbers)

    copied = destination.engine.write_versions(symbol, encoded, finish)  # keeping the source's numbers
    return copied, len(have), sum(e.version.rows or 0 for e in encoded)


def _plan_day(
    symbol: str, day: dt.date, have: tuple[Version, ...], wanted: tuple[Version, ...]
) -> tuple[list[Version], list[Version], list[Version]]:
    """What a copy of a day into a destination holding ``have`` does: the source's versions it lacks, its
    versions whose end the source has since moved, and those the source has since replaced (compacted:
    another version holds their ticks over the same times). Versions the source pruned stay.

    The destination must hold an earlier copy: each version the source still has at the same times,
    none the source lacks in between; else `CopyConflictError`.
    """
    theirs = {v.version: v for v in wanted}
    for mine in have:
        other = theirs.get(mine.version)
        rows_differ = other is not None and None not in (mine.rows, other.rows) and mine.rows != other.rows
        if other is not None and (mine.start_time != other.start_time or rows_differ):
            raise CopyConflictError(
                f"the destination's {symbol} {day} version {mine.version} differs from the source's; "
                "copy into an empty store, or into one that only holds an earlier copy"
            )
    numbers = {v.version for v in have}
    missing = [v for v in wanted if v.version not in numbers]
    if missing and numbers and missing[0].version < max(numbers):
        raise CopyConflictError(
            f"the destination lacks {symbol} {day} version {missing[0].version} but has later ones; "
            "copy into an empty store, or into one that only holds an earlier copy"
        )
    ended = [
        dataclasses.replace(mine, end_time=theirs[mine.version].end_time)
        for mine in have
        if mine.version in theirs and mine.end_time != theirs[mine.version].end_time
    ]
    dropped = [
        mine
        for mine in have
        if mine.version not in theirs
        and any(v.start_time < mine.end_time and mine.start_time < v.end_time for v in wanted)
    ]
    return missing, ended, dropped


def _reencode(source: Tickstore, destination: Tickstore, symbol: str, version: Version) -> Encoded:
    table = source.engine.read_version(symbol, version, None)
    table = table.rename_columns([destination.timestamp_column, *table.column_names[1:]])
    encoded = destination.engine.encode(version.day, table)
    copy = dataclasses.replace(
        encoded.version,
        version=version.version,
        start_time=version.start_time,
        end_time=version.end_time,
        recorded_at=version.recorded_at,
        kind=version.kind,
        metadata=version.metadata,
    )
    return encoded.replacing(copy)


def _verify(source: Tickstore, destination: Tickstore, symbol: str, original: Version, copy: Version) -> None:
    """Read the copy back (checking its checksum) and compare it with the source, value by value."""
    theirs = source.engine.read_version(symbol, original, None)
    mine = destination.engine.read_version(symbol, copy, None)
    mine = mine.rename_columns([source.timestamp_column, *mine.column_names[1:]])
    if not mine.equals(theirs.cast(mine.schema) if mine.schema != theirs.schema else theirs):
        raise CorruptObjectError(
            f"the copy of {symbol} {original.day} version {original.version} ({copy.key}) does not read "
            "back as the source; nothing was committed for that day"
        )
