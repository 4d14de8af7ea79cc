"""A deliberately simple in-memory model of the bitemporal rules, to test stores against.

It keeps, per day, the list of changes (insert with its ticks, or delete) at their transaction
times, and answers a select by replaying them: no indexes, no encodings, nothing clever.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pandas as pd

__all__ = ["BitemporalModel"]


@dataclass
class _Change:
    time: int
    ticks: pd.DataFrame | None  # None: a delete
    explicit: bool = True  # the transaction time was given (an as_of), not taken from the clock


@dataclass
class BitemporalModel:
    """What a store must answer, given the same inserts and deletes at the same transaction times."""

    timestamp_column: str = "time"
    changes: dict[dt.date, list[_Change]] = field(default_factory=dict)

    def insert(self, day: dt.date, ticks: pd.DataFrame, time: int, *, explicit: bool = True) -> None:
        """An insert at transaction time ``time``; ``explicit``: given as ``as_of`` (not the clock's now)."""
        self.changes.setdefault(day, []).append(_Change(time, ticks, explicit))

    def delete(self, day: dt.date, time: int) -> None:
        history = self.changes.get(day, [])
        if history and history[-1].ticks is not None:
            history.append(_Change(time, None))

    def versions(self, day: dt.date) -> int:
        """How many versions the day has (deletes create none)."""
        return sum(1 for change in self.changes.get(day, []) if change.ticks is not None)

    def state(self, day: dt.date, as_of: int | None) -> pd.DataFrame | None:
        """The day's ticks valid at ``as_of`` (None: now), or None if it has none then."""
        history = self.changes.get(day, [])
        if not history:
            return None
        if as_of is None:
            return history[-1].ticks
        valid: pd.DataFrame | None = None
        for i, change in enumerate(history):
            # a day's first version is valid since the beginning of time, unless its time was explicit
            if change.time <= as_of or (i == 0 and not change.explicit):
                valid = change.ticks
            else:
                break
        return valid

    def select(self, start: pd.Timestamp, end: pd.Timestamp, as_of: int | None) -> pd.DataFrame:
        """Ticks with ``start <= time <= end`` valid at ``as_of``, sorted stably by time."""
        parts = [self.state(day, as_of) for day in sorted(self.changes)]
        frames = [p for p in parts if p is not None and len(p)]
        if not frames:
            empty: pd.DataFrame = pd.DataFrame()
            return empty
        ticks = pd.concat(frames).sort_index(kind="stable")
        selected: pd.DataFrame = ticks.loc[(ticks.index >= start) & (ticks.index <= end)]
        return selected
