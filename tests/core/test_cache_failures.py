"""The cache never makes a read fail (issue 10, point 10).

A cache directory that is a file, lies under a file, is read-only, fills up, or holds a damaged
database turns the cache off (or, for a failed write, turns writing off) with exactly one
CacheWarning saying why; reads go to the backend and return the same ticks. Read-only and full
file systems are real tmpfs mounts where this machine allows mounting (we run as root, so chmod
would not stop a write); elsewhere they are skipped, and ENOSPC is also injected into the cache's
write call so that path is tested everywhere.
"""

from __future__ import annotations

import errno
import subprocess
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path

import diskcache
import numpy as np
import pandas as pd
import pytest

import tickstore_core as ts
from tickstore_core.errors import CacheWarning

DAY1 = pd.Timestamp("2024-03-04", tz="UTC")


def _ticks(rows: int, seed: int, day: pd.Timestamp) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    index = day + pd.to_timedelta(np.sort(rng.integers(0, 86_400 * 10**9, rows)), unit="ns")
    index = pd.DatetimeIndex(index, name="time")
    return pd.DataFrame({"price": rng.random(rows), "size": rng.random(rows)}, index=index)


EXPECTED = pd.concat([_ticks(20_000, 1, DAY1), _ticks(20_000, 2, DAY1 + pd.Timedelta(days=1))])


@pytest.fixture
def mount_tmpfs(tmp_path: Path) -> Iterator[object]:
    """``mount(options) -> Path``: a fresh tmpfs (skips the test where mounting is not allowed)."""
    mounted: list[Path] = []

    def mount(options: str) -> Path:
        point = tmp_path / f"mnt-{uuid.uuid4().hex[:8]}"
        point.mkdir()
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(point)], capture_output=True)
        if done.returncode:
            pytest.skip(f"cannot mount a tmpfs here ({done.stderr.decode().strip()}); ENOSPC is injected instead")
        mounted.append(point)
        return point

    yield mount
    for point in mounted:
        subprocess.run(["umount", "-l", str(point)], check=False)


def _read_everything(url: str, options: dict, cache_dir: Path) -> list[warnings.WarningMessage]:
    """Insert, select (twice), select as of, history: all correct; returns the warnings issued."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with ts.open_store(url, cache=True, cache_dir=str(cache_dir), **options) as store:
            before = pd.Timestamp.now(tz="UTC")
            store.insert("A", EXPECTED)
            for _ in range(2):
                pd.testing.assert_frame_equal(store.select("A"), EXPECTED, check_freq=False)
            assert len(store.select("A", as_of=before)) == len(EXPECTED)  # first versions: since the beginning
            assert len(store.history("A")) == 2
            assert store.cache_stats()["problem"].startswith(f"the local cache in {cache_dir}")
            with pytest.raises(ts.ConfigError, match="cannot prefetch"):
                store.prefetch("A")
        with ts.open_store(url, cache=False, **options) as store:  # nothing went wrong in the store itself
            pd.testing.assert_frame_equal(store.select("A"), EXPECTED, check_freq=False)
    return [w for w in caught if issubclass(w.category, CacheWarning)]


def _one_warning(caught: list[warnings.WarningMessage], reason: str) -> None:
    assert len(caught) == 1, [str(w.message) for w in caught]
    message = str(caught[0].message)
    assert reason in message and "Reads go to the backend, uncached" in message, message


def test_a_cache_path_that_is_a_file(store_location, tmp_path):
    url, options = store_location()
    cache_file = tmp_path / "cache"
    cache_file.write_bytes(b"not a directory")
    _one_warning(_read_everything(url, options, cache_file), "is a file, or lies under one")
    assert cache_file.read_bytes() == b"not a directory"


def test_a_cache_path_under_a_file(store_location, tmp_path):
    url, options = store_location()
    (tmp_path / "file").write_bytes(b"")
    _one_warning(_read_everything(url, options, tmp_path / "file" / "cache"), "is a file, or lies under one")


def test_a_read_only_cache_directory(store_location, mount_tmpfs):
    url, options = store_location()
    read_only = mount_tmpfs("ro,size=1m")
    _one_warning(_read_everything(url, options, read_only / "cache"), "read-only or not writable")


def test_a_full_disk_under_the_cache(store_location, mount_tmpfs):
    url, options = store_location()
    small = mount_tmpfs("size=600k")  # room for the cache's database, not for the days
    _one_warning(_read_everything(url, options, small / "cache"), "the disk is full")


def test_a_damaged_cache_database_degrades_to_uncached_reads(store_location, tmp_path):
    url, options = store_location()
    cache_dir = tmp_path / "cache"
    cache_dir.mkdir()
    (cache_dir / "cache.db").write_bytes(b"this is not SQLite" * 100)
    _one_warning(_read_everything(url, options, cache_dir), "damaged; delete that directory")


def test_enospc_while_writing_keeps_serving_what_is_cached(tmp_path, monkeypatch):
    """Injected (works without mount rights): a failed write stops writing, cached entries still read."""
    cache_dir = tmp_path / "cache"
    with ts.open_store("memory://enospc", cache=True, cache_dir=str(cache_dir)) as store:
        store.insert("A", EXPECTED)
        store.select("A", DAY1, DAY1 + pd.Timedelta(hours=23))
        store.flush()  # day 1 is cached (its fill is written behind the select)

        def full(*args: object, **kwargs: object) -> None:
            raise OSError(errno.ENOSPC, "No space left on device")

        monkeypatch.setattr(diskcache.Cache, "set", full)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for _ in range(3):
                pd.testing.assert_frame_equal(store.select("A"), EXPECTED, check_freq=False)
        _one_warning([w for w in caught if issubclass(w.category, CacheWarning)], "the disk is full")
        assert "cannot be written (cached entries are still read)" in str(caught[0].message)
        stats = store.cache_stats()
        assert stats["hits"] == 3  # day 1, from the cache each time
        assert stats["misses"] == 1 + 3  # day 1 once before, day 2 every time


def test_a_cache_that_fails_while_reading_is_turned_off(tmp_path, monkeypatch):
    with ts.open_store("memory://eio", cache=True, cache_dir=str(tmp_path / "cache")) as store:
        store.insert("A", EXPECTED)

        def broken(*args: object, **kwargs: object) -> None:
            raise OSError(errno.EIO, "Input/output error")

        monkeypatch.setattr(diskcache.Cache, "get", broken)
        with pytest.warns(CacheWarning, match="file system refused") as caught:
            for _ in range(2):
                pd.testing.assert_frame_equal(store.select("A"), EXPECTED, check_freq=False)
        assert len(caught) == 1
        assert not store.cache.writable


def test_a_damaged_pinned_database_turns_off_only_the_pins(store_location, tmp_path):
    """The LRU cache goes on (hits stay hits); the pins say once that they cannot be used."""
    url, options = store_location()
    cache_dir = tmp_path / "cache"
    with ts.open_store(url, cache=True, cache_dir=str(cache_dir), **options) as store:
        store.insert("A", EXPECTED)
        store.tag("paper")
        store.pin("paper")
    (cache_dir / "pinned" / "cache.db").write_bytes(b"this is not SQLite" * 100)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with ts.open_store(url, cache=True, cache_dir=str(cache_dir), **options) as store:
            store.insert("B", EXPECTED)
            for _ in range(2):
                pd.testing.assert_frame_equal(store.select("B"), EXPECTED, check_freq=False)
            pd.testing.assert_frame_equal(store.select("A", as_of="tag:paper"), EXPECTED, check_freq=False)
            store.pin("paper")  # pins nothing now, and says nothing more
            assert store.unpin("paper") == 0
            stats = store.cache_stats()
    said = [str(w.message) for w in caught if issubclass(w.category, CacheWarning)]
    assert len(said) == 1 and "pinned entries" in said[0] and "damaged" in said[0], said
    assert stats.get("problem") is None and stats["hits"] > 0  # the cache itself was not turned off
