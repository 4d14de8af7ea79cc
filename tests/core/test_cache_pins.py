"""Pinned cache entries: a tag's objects stay in the cache, whatever LRU eviction does, until unpinned."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

import tickstore_core as ts
from tickstore_core.errors import ObjectNotFoundError, PrunedError
from tickstore_core.testing import make_ticks

DAY = dt.date(2024, 3, 4)


def test_a_pinned_tag_reads_from_the_cache_when_its_objects_are_gone(tmp_path: Path) -> None:
    store = ts.open_store("memory://pins", cache=True, cache_dir=tmp_path / "cache", cache_size=1)  # LRU keeps nothing
    store.insert("A", make_ticks(DAY, 50, seed=1))
    store.append("A", make_ticks(DAY, 5, seed=2))
    store.tag("paper")
    expected = store.select("A", as_of="tag:paper")
    assert store.pin("paper") > 0
    assert store.cache is not None and store.cache.pins(store.backend.url) == ["paper"]
    store.insert("A", make_ticks(DAY, 7, seed=3))  # a newer version, not pinned
    for key in store.history("A")["key"]:
        store.backend.delete(key)
    for version in store.engine.index("A").lookup(DAY, DAY, store.engine.as_of_ns("tag:paper")):
        for key in version.keys:
            store.backend.delete(key)
    assert store.select("A", as_of="tag:paper").equals(expected)  # from the pinned entries
    assert store.unpin("paper") == 2  # the inserted object and the appended segment
    with pytest.raises((ObjectNotFoundError, PrunedError)):
        store.select("A", as_of="tag:paper")
    store.close()
