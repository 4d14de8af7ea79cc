"""A cache hit is only ever an object with the checksum the index holds for that version, on every backend."""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil
from urllib.parse import urlsplit

import pandas as pd
import pytest

from tickstore_core import open_store
from tickstore_core.frames import ticks_to_table
from tickstore_core.testing import make_ticks

DAY = dt.date(2024, 3, 4)


@pytest.mark.parametrize("how", ["destroy", "rm -rf"])
def test_a_store_recreated_at_the_same_place_never_reads_the_old_cached_data(store_location, tmp_path, how):
    url, options = store_location()
    if how == "rm -rf" and not url.startswith("file://"):
        pytest.skip("only a local store can be removed with rm -rf")
    cache = {"cache": True, "cache_dir": str(tmp_path / "cache"), **options}
    old, new = make_ticks(DAY, 30, seed=1), make_ticks(DAY, 20, seed=2)
    with open_store(url, **cache) as store:
        store.insert("X", old)
        pd.testing.assert_frame_equal(store.select("X"), old, check_freq=False)  # now cached
        if how == "destroy":
            store.destroy()
    if how == "rm -rf":
        shutil.rmtree(urlsplit(url).path)
    with open_store(url, **cache) as store:
        store.insert("X", new)  # the same symbol, day and version number: on a local store the same file name
    with open_store(url, **cache) as store:
        pd.testing.assert_frame_equal(store.select("X"), new, check_freq=False)
        pd.testing.assert_frame_equal(store.select("X", columns=["price"]), new[["price"]], check_freq=False)


def test_an_object_replaced_under_the_same_key_is_read_afresh(store_location, tmp_path):
    """However an object came to change under its key, the index's checksum decides what a hit is."""
    url, options = store_location()
    cache = {"cache": True, "cache_dir": str(tmp_path / "cache"), **options}
    old, new = make_ticks(DAY, 30, seed=1), make_ticks(DAY, 20, seed=2)
    with open_store(url, **cache) as store:
        (version,) = store.insert("X", old)
        pd.testing.assert_frame_equal(store.select("X"), old, check_freq=False)  # now cached
        replacement = store.engine.encode(DAY, ticks_to_table(new, store.timestamp_column))
        store.backend.put(version.key, replacement.payload)
        index = store.engine.load_index("X").index
        rewritten = dataclasses.replace(
            replacement.version,
            version=version.version,
            key=version.key,
            start_time=version.start_time,
            end_time=version.end_time,
            recorded_at=version.recorded_at,
        )
        store.backend.put(store.layout.index_key("X"), index.replace([rewritten]).to_bytes())
    with open_store(url, **cache) as store:
        pd.testing.assert_frame_equal(store.select("X"), new, check_freq=False)
        assert store.cache_stats()["hits"] == 0
        pd.testing.assert_frame_equal(store.select("X"), new, check_freq=False)
        assert store.cache_stats()["hits"] == 1  # the new object is cached in turn
