"""The objects a process wrote lately, kept in memory for compaction (tickstore_core.recent)."""

from __future__ import annotations

import pandas as pd

import tickstore_core as ts
from tickstore_core.recent import LARGEST, RecentWrites


def test_an_object_is_served_only_under_its_key_and_checksum() -> None:
    recent = RecentWrites()
    assert recent.keep("a", b"abc", "sha256:1")
    assert recent.get("a", "sha256:1").to_pybytes() == b"abc"
    assert recent.get("a", "sha256:2") is None  # other bytes under the same key: not these
    assert recent.get("b", "sha256:1") is None and recent.get("a", None) is None


def test_the_least_recently_kept_objects_leave_first_within_the_budget() -> None:
    recent = RecentWrites(budget=10)
    for key in "abc":
        recent.keep(key, b"1234", key)
    assert recent.get("a", "a") is None  # 12 bytes > 10: the oldest left
    assert recent.get("b", "b") is not None and recent.get("c", "c") is not None
    recent.keep("b", b"12345678", "b2")  # kept again: replaces its old bytes, then c (oldest) leaves
    assert recent.get("b", "b2") is not None and recent.get("b", "b") is None and recent.get("c", "c") is None


def test_large_objects_are_not_kept() -> None:
    recent = RecentWrites(budget=4 * LARGEST)
    assert not recent.keep("big", b"x" * (LARGEST + 1), "c")
    assert recent.get("big", "c") is None
    assert not RecentWrites(budget=3).keep("a", b"1234", "c")  # nor those above the budget


def test_a_closed_store_lets_go_of_the_segments_it_kept() -> None:
    """A notebook keeps the store object after `close()`; the appender's segments must not stay with it."""
    store = ts.open_store("memory://recent-closed")
    day = pd.Timestamp("2024-03-04", tz="UTC")
    for i in range(3):
        store.append("X", pd.DataFrame({"price": [1.0]}, index=pd.DatetimeIndex([day + pd.Timedelta(seconds=i)])))
    parts = store.engine.index("X").latest(day.date()).parts  # the day's current version: three segments
    assert len(parts) == 3 and all(store.engine.recent.get(p.key, p.checksum) is not None for p in parts)
    store.close()
    assert all(store.engine.recent.get(p.key, p.checksum) is None for p in parts)
