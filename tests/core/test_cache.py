"""The read-through disk cache, over an in-process backend whose requests are counted.

The same behaviours are tested against the S3 and Azure emulators in tests/backends/test_cache_remote.py.
"""

from __future__ import annotations

import uuid
import warnings

import numpy as np
import pyarrow as pa
import pytest

from tickstore_core import open_store
from tickstore_core.cache import ObjectCache
from tickstore_core.errors import OfflineError, OfflineWarning
from tickstore_core.testing import make_ticks
from tickstore_core.testing.spy import count_requests

DAY = __import__("datetime").date(2024, 3, 4)


@pytest.fixture
def url():
    return f"memory://cache-{uuid.uuid4().hex}"


def test_second_select_makes_no_request_and_counts_hits(url, tmp_path):
    with open_store(url) as writer:
        writer.insert("S", make_ticks(DAY, 200))
    with open_store(url, cache=True, cache_dir=str(tmp_path), index_ttl=60) as store:
        calls, _ = count_requests(store.backend)
        first = store.select("S")
        before = sum(calls.values())
        again = store.select("S")
        assert sum(calls.values()) == before
        assert again.equals(first)
        stats = store.cache_stats()
        assert stats["hits"] == 1 and stats["misses"] == 1 and stats["bytes_from_cache"] > 0
        assert stats["bytes_fetched"] == store.history("S")["bytes"].sum()  # the Parquet object; cached decoded


def test_a_new_store_revalidates_the_index_and_reads_data_from_cache(url, tmp_path):
    with open_store(url) as writer:
        writer.insert("S", make_ticks(DAY, 100))
    with open_store(url, cache=True, cache_dir=str(tmp_path)) as warm:
        warm.select("S")
    with open_store(url, cache=True, cache_dir=str(tmp_path)) as store:
        calls, _ = count_requests(store.backend)
        revalidated = store.cache_stats()["revalidations"]  # the manifest, when the store opened
        store.select("S")
        assert calls["get"] == 0 and calls["head"] == 1  # index: one HEAD, data: cached
        assert store.cache_stats()["revalidations"] == revalidated + 1


def test_offline_selects_use_the_cache_with_a_warning(url, tmp_path):
    with open_store(url) as writer:
        writer.insert("S", make_ticks(DAY, 100))
    with open_store(url, cache=True, cache_dir=str(tmp_path)) as warm:
        expected = warm.select("S")
    with open_store(url, cache=True, cache_dir=str(tmp_path), index_ttl=0) as store:
        _, state = count_requests(store.backend)
        state["offline"] = True
        with pytest.warns(OfflineWarning, match="cached copy"):
            assert store.select("S").equals(expected)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", OfflineWarning)
            with pytest.raises(OfflineError, match="not in the local cache"):
                store.select("NEVER_CACHED")
        assert store.cache_stats()["offline_reads"] >= 1


def test_a_corrupt_cache_entry_is_dropped_and_refetched(url, tmp_path):
    with open_store(url) as writer:
        writer.insert("S", make_ticks(DAY, 3000))
    with open_store(url, cache=True, cache_dir=str(tmp_path)) as store:
        expected = store.select("S")
        store.flush()  # the cache is filled behind the select
        files = [p for p in tmp_path.rglob("*.val")]
        assert files, "the data object should be cached as a file"
        for path in files:
            data = bytearray(path.read_bytes())
            data[len(data) // 3] ^= 0x55
            path.write_bytes(bytes(data[: len(data) - 7]))  # bit flip and truncation
        store.flush()
        calls, _ = count_requests(store.backend)
        assert store.select("S").equals(expected)
        assert store.cache_stats()["corrupt_dropped"] == 1 and calls["get"] >= 1


def _table(rows):
    """A partition of about 8 * ``rows`` bytes, incompressible."""
    times = pa.array(range(rows), pa.timestamp("ns", tz="UTC"))
    return pa.table({"time": times, "x": np.random.default_rng(rows).random(rows)})


def test_the_size_limit_evicts_least_recently_used_entries(tmp_path):
    cache = ObjectCache(tmp_path, size_limit=2_500_000)
    day = _table(12_500)  # about 150 kB as a cache entry
    for n in range(15):
        cache.put_table("ns", f"k{n}", day, checksum="c", fetched=1)
    assert cache.stats.evictions == 0
    assert cache.get_table("ns", "k0", checksum="c") is not None  # k0 is now the most recently used
    for n in range(15, 25):
        cache.put_table("ns", f"k{n}", day, checksum="c", fetched=1)
    assert cache.stats.evictions >= 5
    assert cache.volume() <= 2_500_000
    assert cache.get_table("ns", "k0", checksum="c") == day
    assert cache.get_table("ns", "k1", checksum="c") is None


def test_an_object_larger_than_the_whole_cache_is_not_kept_and_evicts_nothing(tmp_path):
    cache = ObjectCache(tmp_path, size_limit=500_000)
    small, huge = _table(6_000), _table(60_000)
    cache.put_table("ns", "small", small, checksum="c", fetched=1)
    cache.put_table("ns", "huge", huge, checksum="c", fetched=1)
    assert cache.get_table("ns", "huge", checksum="c") is None
    assert cache.get_table("ns", "small", checksum="c") == small
    assert cache.stats.evictions == 0


def test_a_cached_partition_reads_back_only_the_columns_asked_for(tmp_path):
    cache = ObjectCache(tmp_path)
    table = _table(100).append_column("y", pa.array(range(100)))
    cache.put_table("ns", "k", table, checksum="c", fetched=1)
    assert cache.get_table("ns", "k", ["y", "missing"], checksum="c").column_names == ["time", "y"]
    assert cache.get_table("ns", "k", [], checksum="c").column_names == ["time"]
    assert cache.get_table("ns", "k", checksum="c") == table


def test_a_large_object_goes_into_the_cache_without_being_copied_in_memory(tmp_path):
    import tracemalloc

    cache = ObjectCache(tmp_path)
    data = pa.py_buffer(np.random.default_rng(1).integers(0, 255, 12 << 20, dtype=np.uint8).tobytes())
    tracemalloc.start()
    try:
        cache.put_object("ns", "big", data, checksum="c")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20  # the file is written from views of the buffer, not from 4 MiB copies of it
    assert cache.get_object("ns", "big", checksum="c") == data
