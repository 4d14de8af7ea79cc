"""Damaged objects: never wrong ticks, always an error naming the object, or a transparent refetch.

A committed object overwritten behind the store's back (straight through the emulator's SDK, or
the file on disk) with bit-flipped or truncated bytes must make a select with an empty cache raise
:class:`~tickstore_core.CorruptObjectError` naming its key, while the other days still read; a
damaged local cache entry (the diskcache value files) is dropped and fetched again from the
backend without the caller noticing. tests/core/test_cache.py covers the cache on an in-process
backend with one combined damage; here each damage is applied alone, on S3 and Azure.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from emulators.raw import raw_access
from tickstore_core import CacheWarning, CorruptObjectError, open_store
from tickstore_core.maintenance import fsck
from tickstore_core.testing import make_ticks

SYMBOL = "DAMAGE"
D1, D2 = dt.date(2024, 3, 4), dt.date(2024, 3, 5)
ROWS = 3000  # large enough for diskcache to keep each object in a file of its own


def _day(day: dt.date) -> tuple[pd.Timestamp, pd.Timestamp]:
    start = pd.Timestamp(day, tz="UTC")
    return start, start + pd.Timedelta(days=1) - pd.Timedelta(1, "ns")


def bit_flipped(data: bytes) -> bytes:
    damaged = bytearray(data)
    damaged[len(damaged) // 2] ^= 0x10
    return bytes(damaged)


def truncated(data: bytes) -> bytes:
    return data[: len(data) * 2 // 3]


DAMAGES = {"bit_flip": bit_flipped, "truncation": truncated}


def overwrite_behind_the_store(url: str, options: dict[str, Any], key: str, damage: Any) -> None:
    """Replace the object ``key`` of the store at ``url`` with damaged bytes, without tickstore."""
    access = raw_access(url, options)
    assert access is not None, url
    raw_get, raw_put = access
    raw_put(key, damage(raw_get(key)))


@pytest.mark.parametrize("damage", list(DAMAGES))
def test_a_damaged_data_object_is_an_error_naming_it(shared_store_location: Any, tmp_path: Path, damage: str) -> None:
    url, options = shared_store_location()
    with open_store(url, cache_dir=str(tmp_path / "writer-cache"), **options) as store:
        store.insert(SYMBOL, pd.concat([make_ticks(D1, ROWS, seed=1), make_ticks(D2, ROWS, seed=2)]))
        key = store.history(SYMBOL, D1)["key"].iloc[0]
    overwrite_behind_the_store(url, options, key, DAMAGES[damage])
    with open_store(url, cache_dir=str(tmp_path / "empty-cache"), **options) as store:
        with pytest.raises(CorruptObjectError, match=key):
            store.select(SYMBOL)
        with pytest.raises(CorruptObjectError, match=key):
            store.select(SYMBOL, *_day(D1))
        pd.testing.assert_frame_equal(store.select(SYMBOL, *_day(D2)), make_ticks(D2, ROWS, seed=2), check_freq=False)
        report = fsck(store, deep=True)
        assert any(key in problem for problem in report.problems), report.problems


def test_a_damaged_index_is_an_error_naming_it(shared_store_location: Any, tmp_path: Path) -> None:
    url, options = shared_store_location()
    with open_store(url, cache_dir=str(tmp_path / "writer-cache"), **options) as store:
        store.insert(SYMBOL, make_ticks(D1, 100, seed=1))
        index_key = store.layout.index_key(SYMBOL)
    overwrite_behind_the_store(url, options, index_key, truncated)
    with open_store(url, cache_dir=str(tmp_path / "empty-cache"), **options) as store:
        with pytest.raises(CorruptObjectError, match=index_key):
            store.select(SYMBOL)
        assert not fsck(store).ok


def _damage_cache_files(cache_dir: Path, damage: str) -> int:
    files = sorted(cache_dir.rglob("*.val"))
    for path in files:
        if damage == "deletion":
            path.unlink()
        else:
            path.write_bytes(DAMAGES[damage](path.read_bytes()))
    return len(files)


@pytest.mark.parametrize("backend", ["s3", "azure"])
@pytest.mark.parametrize("damage", [*DAMAGES, "deletion"])
def test_a_damaged_cache_entry_is_refetched_transparently(
    request: pytest.FixtureRequest, tmp_path: Path, backend: str, damage: str
) -> None:
    emulated = request.getfixturevalue(f"{backend}_store")
    url, options = emulated.url, emulated.options
    expected = pd.concat([make_ticks(D1, ROWS, seed=1), make_ticks(D2, ROWS, seed=2)])
    cache_dir = tmp_path / "cache"
    with open_store(url, cache_dir=str(cache_dir), **options) as store:
        store.insert(SYMBOL, expected)
        pd.testing.assert_frame_equal(store.select(SYMBOL), expected, check_freq=False)
    assert _damage_cache_files(cache_dir, damage) == 2, "each data object should be cached in a file of its own"
    with open_store(url, cache_dir=str(cache_dir), **options) as store:
        pd.testing.assert_frame_equal(store.select(SYMBOL), expected, check_freq=False)
        stats = store.cache_stats()
        assert stats["misses"] == 2 and stats["hits"] == 0
        assert stats["corrupt_dropped"] == (0 if damage == "deletion" else 2)
        pd.testing.assert_frame_equal(store.select(SYMBOL), expected, check_freq=False)
        assert store.cache_stats()["hits"] == 2  # the refetched objects replaced the damaged entries


def test_a_damaged_cache_database_degrades_to_uncached_reads_saying_what_to_do(s3_store: Any, tmp_path: Path) -> None:
    cache_dir = tmp_path / "cache"
    expected = make_ticks(D1, ROWS, seed=1)
    with open_store(s3_store.url, cache_dir=str(cache_dir), **s3_store.options) as store:
        store.insert(SYMBOL, expected)
        store.select(SYMBOL)
    database = cache_dir / "cache.db"
    database.write_bytes(database.read_bytes()[: database.stat().st_size // 2])
    with (
        pytest.warns(CacheWarning, match=f"cache in {cache_dir} cannot be used: its database is damaged; delete that"),
        open_store(s3_store.url, cache_dir=str(cache_dir), **s3_store.options) as store,
    ):
        pd.testing.assert_frame_equal(store.select(SYMBOL), expected, check_freq=False)
    shutil.rmtree(cache_dir)
    with open_store(s3_store.url, cache_dir=str(cache_dir), **s3_store.options) as store:
        pd.testing.assert_frame_equal(store.select(SYMBOL), expected, check_freq=False)
        assert store.cache_stats()["misses"] == 1 and "problem" not in store.cache_stats()
