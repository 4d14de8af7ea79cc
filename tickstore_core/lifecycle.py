"""The version lifecycle's rules: append, compaction, user metadata and pruning.

Pure functions of versions and indexes, so that the rules are stated (and tested) once; the
store (`tickstore_core.store`) uploads objects and commits what they plan.

- An append makes the next version of a day from the current version's segments plus one new
  segment: nothing already stored is rewritten, and the previous version keeps answering every
  select as of a time before the append.
- A compaction replaces the current version of a day made of many segments by a version with
  the same ticks in one object, valid from the earliest time the day may change (so it never
  blocks a replayed append and never changes what any select as of any time returns).
- Pruning removes ended versions, never the latest version of a day (its number is the next
  writer's base), never one valid at a tag's time, and never an object a kept version shares.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from .errors import InvalidInputError
from .index import Pruned, Segment, SymbolIndex, Version
from .schema import common_type, parse_type, type_code, unify_tables
from .times import TIME_MAX

__all__ = [
    "COMPACT_AT",
    "MAX_METADATA_BYTES",
    "PRUNE_GRACE",
    "PrunePlan",
    "add_pruned",
    "appended_version",
    "check_metadata",
    "compacted_version",
    "freed_by_compaction",
    "plan_prune",
    "read_segments",
    "remove_pruned",
    "segment_version",
]

COMPACT_AT = 32
"""Segments a day's current version may reach before an append compacts it into one object."""
PRUNE_GRACE = dt.timedelta(hours=1)
"""How long objects a prune or compaction dropped stay for readers that still use an older index (as gc's grace)."""
MAX_METADATA_BYTES = 16 * 1024
"""The largest user metadata (as compact JSON) a version carries: it is held in the index."""


def check_metadata(metadata: Any) -> str | None:
    """``metadata`` as canonical JSON text, or an `InvalidInputError` saying what is wrong."""
    if metadata is None:
        return None
    if not isinstance(metadata, Mapping):
        raise InvalidInputError(f"metadata must be a dict of JSON values, got {type(metadata).__name__}")
    try:
        text = json.dumps(dict(metadata), sort_keys=True, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(
            f"metadata must be JSON-serialisable (strings, numbers, booleans, None, lists, dicts): {exc}"
        ) from exc
    _check_keys(metadata)  # after dumps, which refuses circular references
    if len(text.encode()) > MAX_METADATA_BYTES:
        raise InvalidInputError(
            f"metadata is {len(text.encode())} bytes as JSON; the limit is {MAX_METADATA_BYTES} (it lives in the "
            "index): keep large documents elsewhere and store a reference"
        )
    return text


def _check_keys(metadata: Mapping[Any, Any]) -> None:
    """Refuse a dict key (at any depth) that is not a string: JSON would keep it as text, so ``history``
    would give back a different dict than was stored."""
    stack: list[Any] = [metadata]
    while stack:
        item = stack.pop()
        if isinstance(item, Mapping):
            for key, inner in item.items():
                if not isinstance(key, str):
                    raise InvalidInputError(
                        f"metadata keys must be strings, got {key!r} ({type(key).__name__}); JSON would keep it "
                        "as text and history would show a different dict"
                    )
                stack.append(inner)
        elif isinstance(item, (list, tuple)):
            stack.extend(item)


def segment_version(version: Version, segment: Segment) -> Version:
    """A one-object view of ``version``'s ``segment``, to read, verify and cache it like a version."""
    return dataclasses.replace(
        version,
        key=segment.key,
        rows=segment.rows,
        bytes=segment.bytes,
        checksum=segment.checksum,
        min_time=segment.min_time,
        max_time=segment.max_time,
        segments=None,
        encoding=segment.encoding,
        columns=None,  # the version's are every segment's; one segment may have fewer
    )


def read_segments(tables: list[pa.Table], columns: Sequence[str] | None, *, label: str) -> pa.Table:
    """The segments' ticks as one table sorted stably by time (segment order breaks ties).

    Segments may differ in columns (an append may bring a new one, missing values are null) and in
    types where `tickstore_core.schema.unify_tables` allows it.
    """
    filled = [t for t in tables if t.num_rows] or tables[:1]
    filled = unify_tables(filled, [f"{label} segment {i}" for i in range(len(filled))])
    table = filled[0] if len(filled) == 1 else pa.concat_tables(filled, promote_options="permissive")
    if table.num_rows > 1:
        times = table.column(0).combine_chunks().cast(pa.int64()).to_numpy()
        if bool(np.any(times[1:] < times[:-1])):
            table = table.take(pa.array(np.argsort(times, kind="stable")))
    if columns is not None:
        table = table.select([table.column_names[0], *(c for c in columns if c in table.column_names)])
    return table


def _segment(version: Version) -> tuple[Segment, ...]:
    return version.parts if version.may_have_rows or version.segments is not None else ()


def _combined(base: Version, segments: tuple[Segment, ...], columns: list[str], types: list[str] | None) -> Version:
    """``base`` with the statistics of ``segments`` (its key is the newest segment's)."""
    times = [t for s in segments for t in (s.min_time, s.max_time) if t is not None]
    digest = hashlib.sha256(",".join(s.checksum for s in segments).encode()).hexdigest()
    return dataclasses.replace(
        base,
        key=segments[-1].key,
        rows=sum(s.rows for s in segments),
        bytes=sum(s.bytes for s in segments),
        min_time=min(times) if times else None,
        max_time=max(times) if times else None,
        columns=tuple(columns),
        types=None if types is None else tuple(types),
        checksum=f"segments:{digest}",
        segments=segments,
    )


def _read_as(recorded: str, appended: str) -> str:
    """The type code a column recorded as ``recorded`` reads as once a segment of type ``appended`` joins it
    (a column all missing so far, ``null``, takes the appended type); ``recorded`` if no promotion is known."""
    first, other = parse_type(recorded), parse_type(appended)
    common = common_type(first, other) if first is not None and other is not None else None
    return recorded if common is None else type_code(common)


def appended_version(previous: Version | None, new: Version) -> Version:
    """The version an append of ``new`` (one encoded object, its key set) makes of the day.

    ``previous`` is the day's latest version: when it is current, its segments come first;
    otherwise (a first version, or a deleted day) the new segment alone. Numbers and times are set
    by `tickstore_core.bitemporal.plan_insert`.
    """
    (added,) = new.parts
    base = _segment(previous) if previous is not None and previous.current else ()
    if not base:
        return dataclasses.replace(new, kind="append")
    assert previous is not None
    columns = list(previous.columns or ())
    types: list[str] | None = list(previous.types) if previous.types is not None and new.types is not None else None
    for i, name in enumerate(new.columns or ()):
        if name not in columns:
            columns.append(name)
            if types is not None and new.types is not None:
                types.append(new.types[i])
        elif types is not None and new.types is not None:  # the type the day now reads as: the next check's
            j = columns.index(name)
            types[j] = _read_as(types[j], new.types[i])
    return _combined(
        dataclasses.replace(new, kind="append"),
        (*base, added),
        columns,
        types,
    )


def compacted_version(current: Version, compacted: Version, original: tuple[str, ...]) -> Version | None:
    """The version a compaction of the segments ``original`` into ``compacted`` commits, or None.

    ``current`` is the day's version at commit time: the one compacted (its keys are ``original``),
    or one that appends have extended since (they are kept after the compacted object). Anything
    else (a new insert, a delete) makes the compaction pointless: None.

    The compaction version replaces ``current`` in the index: the next number, but ``current``'s
    validity (same start, current), so every select as of any time reads the same ticks as before.
    """
    if not current.current or current.keys[: len(original)] != original:
        return None
    later = current.parts[len(original) :]
    (merged,) = compacted.parts
    base = dataclasses.replace(
        compacted,
        version=current.version + 1,
        start_time=current.start_time,
        end_time=current.end_time,
        kind="compaction",
        metadata=current.metadata,
        columns=current.columns,
        types=current.types,
    )
    if not later:
        return base
    return _combined(base, (merged, *later), list(current.columns or ()), list(current.types or ()) or None)


def freed_by_compaction(index: SymbolIndex, current: Version, new: Version) -> list[str]:
    """The objects of ``current`` no version references once a compaction replaced it by ``new``.

    Keys pass from a version to the next only by appends, so a key of ``current`` that an older
    version holds is also its predecessor's: checking the day's held versions and the predecessor
    (from its chunk) is enough, unless the day was pruned (a kept tagged version may then hold keys
    whose chain was pruned): then every version of the day is checked.
    """
    day = current.day
    if day in index.pruned:
        others: Iterable[Version] = [v for v in index.versions(day) if v.version != current.version]
    else:
        previous = index.version(day, current.version - 1)
        held = [v for v in index.held if v.day == day and v.version != current.version]
        others = [*held, *([previous] if previous is not None else [])]
    kept = {key for version in (*others, new) for key in version.keys}
    return [key for key in current.keys if key not in kept]


@dataclass(frozen=True)
class PrunePlan:
    """What pruning one symbol removes: versions, the objects only they use, and their bytes."""

    symbol: str
    versions: tuple[Version, ...]
    keys: tuple[str, ...]
    bytes: int
    pruned: Pruned

    @property
    def empty(self) -> bool:
        return not self.versions

    def __repr__(self) -> str:  # a notebook shows the list prune returns: counts, not every version's record
        days = len({v.day for v in self.versions})
        return (
            f"PrunePlan({self.symbol}: {len(self.versions)} version{'s' * (len(self.versions) != 1)} on {days} "
            f"day{'s' * (days != 1)}, {len(self.keys)} object{'s' * (len(self.keys) != 1)}, {self.bytes:,} bytes)"
        )


def plan_prune(
    index: SymbolIndex,
    *,
    before: int | None,
    keep_versions: int | None,
    tag_times: Iterable[int],
) -> PrunePlan:
    """The ended versions of ``index`` to remove: validity ended at or before ``before`` (None: any).

    Kept: the latest version of each day, the ``keep_versions`` newest of each day, every version
    valid at a tag's time. An object is freed only if no kept version references it.
    """
    tags = sorted(set(tag_times))
    removed: list[Version] = []
    kept_keys: set[str] = set()
    for day in index.days():
        versions = index.versions(day)
        protected = max(1, keep_versions or 0)
        for position, version in enumerate(versions):
            doomed = (
                position < len(versions) - protected
                and version.end_time != TIME_MAX
                and (before is None or version.end_time <= before)
                and not any(version.valid_at(t) for t in tags)
            )
            if doomed:
                removed.append(version)
            else:
                kept_keys.update(version.keys)
    freed: dict[str, int] = {}
    for version in removed:
        for part in version.parts:
            if part.key not in kept_keys:
                freed[part.key] = part.bytes
    pruned = add_pruned(index.pruned, removed)
    return PrunePlan(index.symbol, tuple(removed), tuple(freed), sum(freed.values()), pruned)


def remove_pruned(pruned: Pruned, versions: Iterable[Version]) -> Pruned:
    """``pruned`` without the validity intervals of ``versions`` (restored by a prune that backs off)."""
    spans: dict[dt.date, list[tuple[int, int]]] = {d: list(i) for d, i in pruned.items()}
    for version in versions:
        cut, low, high = [], version.start_time, version.end_time
        for start, end in spans.get(version.day, []):
            cut += [(start, min(end, low))] if start < low else []
            cut += [(max(start, high), end)] if end > high else []
        spans[version.day] = cut
    return {day: tuple(intervals) for day, intervals in spans.items() if intervals}


def add_pruned(pruned: Pruned, versions: Iterable[Version]) -> Pruned:
    """``pruned`` with the validity intervals of ``versions`` added (merged where they touch)."""
    spans: dict[dt.date, list[tuple[int, int]]] = {d: list(i) for d, i in pruned.items()}
    for version in versions:
        spans.setdefault(version.day, []).append((version.start_time, version.end_time))
    merged: Pruned = {}
    for day, intervals in spans.items():
        out: list[tuple[int, int]] = []
        for start, end in sorted(intervals):
            if out and start <= out[-1][1]:
                out[-1] = (out[-1][0], max(out[-1][1], end))
            else:
                out.append((start, end))
        merged[day] = tuple(out)
    return merged
