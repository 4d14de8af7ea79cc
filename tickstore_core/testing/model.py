"""A deliberately simple in-memory model of the bitemporal rules, to test stores against.

It keeps, per day, the list of versions (their ticks and validity in transaction time) and answers
a select by scanning them: no indexes, no encodings, no segments, nothing clever. Appends concatenate
ticks, compaction changes nothing, pruning marks versions gone (a select as of their time must then
fail rather than answer with other data).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pandas as pd

from ..errors import PrunedError
from ..times import TIME_MAX, TIME_MIN

__all__ = ["BitemporalModel"]


@dataclass
class _Version:
    start: int
    end: int
    ticks: pd.DataFrame
    pruned: bool = False

    def valid_at(self, as_of: int) -> bool:
        return self.start <= as_of < self.end


@dataclass
class BitemporalModel:
    """What a store must answer, given the same changes at the same transaction times."""

    timestamp_column: str = "time"
    days: dict[dt.date, list[_Version]] = field(default_factory=dict)
    pruned: dict[dt.date, list[tuple[int, int]]] = field(default_factory=dict)
    tags: dict[str, int] = field(default_factory=dict)

    def insert(self, day: dt.date, ticks: pd.DataFrame, time: int, *, explicit: bool = True) -> None:
        """An insert at transaction time ``time``; ``explicit``: given as ``as_of`` (not the clock's now).

        A day's first version is valid since the beginning of time, unless its time was explicit.
        """
        versions = self.days.setdefault(day, [])
        if versions and versions[-1].end == TIME_MAX:
            versions[-1].end = time
        start = time if versions or explicit else TIME_MIN
        versions.append(_Version(start, TIME_MAX, ticks))

    def append(self, day: dt.date, ticks: pd.DataFrame, time: int, *, explicit: bool = True) -> None:
        """Ticks added to the day's current ticks (if any) as a new version."""
        current = self.state(day, None)
        combined = ticks if current is None or not len(current) else pd.concat([current, ticks])
        self.insert(day, combined, time, explicit=explicit)

    def delete(self, day: dt.date, time: int) -> None:
        versions = self.days.get(day, [])
        if versions and versions[-1].end == TIME_MAX:
            versions[-1].end = time

    def tag(self, name: str, time: int) -> None:
        self.tags[name] = time

    def untag(self, name: str) -> None:
        del self.tags[name]

    def prune(self, before: int | None, keep_versions: int | None = None) -> int:
        """Mark the versions the pruning rules remove; returns how many."""
        removed = 0
        for day, versions in self.days.items():
            alive = [v for v in versions if not v.pruned]
            protected = max(1, keep_versions or 0)
            for position, version in enumerate(alive):
                if (
                    position < len(alive) - protected
                    and version.end != TIME_MAX
                    and (before is None or version.end <= before)
                    and not any(version.valid_at(t) for t in self.tags.values())
                ):
                    version.pruned = True
                    removed += 1
                    self.pruned.setdefault(day, []).append((version.start, version.end))
        return removed

    def versions(self, day: dt.date) -> int:
        """How many versions of the day the store lists (deletes create none, pruned ones are gone)."""
        return sum(1 for v in self.days.get(day, []) if not v.pruned)

    def state(self, day: dt.date, as_of: int | None) -> pd.DataFrame | None:
        """The day's ticks valid at ``as_of`` (None: now), or None; `PrunedError` if that was pruned."""
        versions = self.days.get(day, [])
        if as_of is None:
            return versions[-1].ticks if versions and versions[-1].end == TIME_MAX else None
        for version in versions:
            if version.valid_at(as_of):
                if version.pruned:
                    raise PrunedError(f"{day} as of {as_of} was pruned")
                return version.ticks
        return None

    def select(self, start: pd.Timestamp, end: pd.Timestamp, as_of: int | None) -> pd.DataFrame:
        """Ticks with ``start <= time <= end`` valid at ``as_of``, sorted stably by time (UTC days)."""
        days = [d for d in sorted(self.days) if start.tz_convert("UTC").date() <= d <= end.tz_convert("UTC").date()]
        parts = [self.state(day, as_of) for day in days]
        frames = [p for p in parts if p is not None and len(p)]
        if not frames:
            empty: pd.DataFrame = pd.DataFrame()
            return empty
        ticks = pd.concat(frames).sort_index(kind="stable")
        selected: pd.DataFrame = ticks.loc[(ticks.index >= start) & (ticks.index <= end)]
        return selected
