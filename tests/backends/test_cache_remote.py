"""The read-through cache in front of the real S3 and Azure emulators.

Requests are counted at the backend contract (every byte the store reads goes through it), and
the offline test stops an emulator of its own while the store still needs it.
"""

from __future__ import annotations

import datetime as dt
import warnings
from typing import Any

import pandas as pd
import pytest

from emulators.azurite import running_azurite
from emulators.moto import DUMMY_CREDENTIALS, REGION, running_moto_server
from tickstore_core import open_store
from tickstore_core.errors import OfflineError, OfflineWarning
from tickstore_core.testing import make_ticks
from tickstore_core.testing.spy import count_requests

DAYS = [dt.date(2024, 3, 4) + dt.timedelta(days=n) for n in range(4)]
REMOTE = ["s3", "azure"]
FAST_FAILING = {"retries": 0, "connect_timeout": 1.0, "read_timeout": 5.0}


@pytest.fixture(params=REMOTE)
def remote(request: pytest.FixtureRequest) -> tuple[str, dict[str, Any]]:
    """(url, options) of a fresh store on the session's emulator of one cloud."""
    emulated = request.getfixturevalue("s3_store" if request.param == "s3" else "azure_store")
    return emulated.url, dict(emulated.options)


def fill(url: str, options: dict[str, Any], ticks_per_day: int = 500) -> pd.DataFrame:
    with open_store(url, **options) as writer:
        for n, day in enumerate(DAYS):
            writer.insert("BTCUSD", make_ticks(day, ticks_per_day, seed=n))
        return writer.select("BTCUSD")


def read_day(store: Any, day: dt.date) -> pd.DataFrame:
    start = pd.Timestamp(day, tz="UTC")
    return store.select("BTCUSD", start, start + pd.Timedelta(hours=24) - pd.Timedelta(1))


def test_a_second_select_of_the_same_range_sends_no_request(remote, tmp_path):
    url, options = remote
    expected = fill(url, options)
    with open_store(url, cache=True, cache_dir=str(tmp_path), index_ttl=60, **options) as store:
        calls, _ = count_requests(store.backend)
        first = store.select("BTCUSD", "2024-03-05", "2024-03-07 23:59:59")
        assert calls["get"] == 3 and calls["get_tagged"] == 1  # three days; the index with its ETag, one request
        sent = sum(calls.values())
        second = store.select("BTCUSD", "2024-03-05", "2024-03-07 23:59:59")
        assert sum(calls.values()) == sent
        pd.testing.assert_frame_equal(second, first)
        pd.testing.assert_frame_equal(first, expected.loc["2024-03-05":"2024-03-07"])
        stats = store.cache_stats()
        assert stats["hits"] == 3 and stats["misses"] == 3


def test_a_new_session_only_revalidates_the_index(remote, tmp_path):
    url, options = remote
    fill(url, options)
    with open_store(url, cache=True, cache_dir=str(tmp_path), **options) as warm:
        expected = warm.select("BTCUSD")
    with open_store(url, cache=True, cache_dir=str(tmp_path), **options) as store:
        calls, _ = count_requests(store.backend)
        pd.testing.assert_frame_equal(store.select("BTCUSD"), expected)
        assert calls == {"get_tagged": 1}  # the index, unchanged so not sent again; every day came from the cache


def test_a_corrupted_cache_file_is_detected_and_refetched(remote, tmp_path):
    url, options = remote
    fill(url, options, ticks_per_day=5000)  # big enough to be cached as files, not inline in SQLite
    with open_store(url, cache=True, cache_dir=str(tmp_path), index_ttl=60, **options) as store:
        expected = store.select("BTCUSD")
        store.flush()  # the cache is filled behind the select
        cached_files = sorted(tmp_path.rglob("*.val"))
        assert len(cached_files) == len(DAYS)  # the data objects; the small index is stored inline
        flipped, truncated = cached_files[0], cached_files[1]
        data = bytearray(flipped.read_bytes())
        data[len(data) // 2] ^= 0x01
        flipped.write_bytes(bytes(data))
        truncated.write_bytes(truncated.read_bytes()[:-100])
        calls, _ = count_requests(store.backend)
        pd.testing.assert_frame_equal(store.select("BTCUSD"), expected)
        assert calls["get"] == 2
        assert store.cache_stats()["corrupt_dropped"] == 2
        calls.clear()
        pd.testing.assert_frame_equal(store.select("BTCUSD"), expected)  # repaired: all hits
        assert sum(calls.values()) == 0


def test_the_size_limit_evicts_the_least_recently_used_days(remote, tmp_path):
    url, options = remote
    with open_store(url, **options) as writer:
        for n, day in enumerate(DAYS):
            writer.insert("BTCUSD", make_ticks(day, 20_000, seed=n))
        one_day = writer.history("BTCUSD")["bytes"].max()
    limit = int(one_day * 2.5)  # room for two days
    with open_store(url, cache=True, cache_dir=str(tmp_path), cache_size=limit, index_ttl=60, **options) as store:
        for day in DAYS[:2]:
            read_day(store, day)
        read_day(store, DAYS[0])  # day 0 is now the most recent
        read_day(store, DAYS[2])  # evicts day 1, not day 0
        stats = store.cache_stats()
        assert stats["evictions"] >= 1 and stats["volume"] <= limit, (stats, one_day)
        calls, _ = count_requests(store.backend)
        read_day(store, DAYS[0])
        assert calls["get"] == 0
        read_day(store, DAYS[1])
        assert calls["get"] == 1


@pytest.mark.parametrize("cloud", REMOTE)
def test_selects_work_offline_once_cached_and_say_so(cloud, tmp_path):
    server = running_moto_server if cloud == "s3" else running_azurite
    with server(tmp_path) as where:
        if cloud == "s3":
            url = "s3://offline-test/db"
            options = {"endpoint_url": where, "region": REGION, "create_bucket": True, **DUMMY_CREDENTIALS}
        else:
            url, options = "az://offline-test/db", {"connection_string": where}
        options |= FAST_FAILING
        expected = fill(url, options)
        with open_store(url, cache=True, cache_dir=str(tmp_path / "cache"), **options) as warm:
            pd.testing.assert_frame_equal(warm.select("BTCUSD"), expected)
    # the emulator is stopped: a new session reads everything it had read, from the cache alone
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with open_store(url, cache=True, cache_dir=str(tmp_path / "cache"), **options) as store:
            pd.testing.assert_frame_equal(store.select("BTCUSD"), expected)
            pd.testing.assert_frame_equal(
                store.select("BTCUSD", "2024-03-05", "2024-03-05 23:59"), expected.loc["2024-03-05"]
            )
            assert store.cache_stats()["offline_reads"] >= 1
            with pytest.raises(OfflineError, match="not in the local cache"):
                store.select("ETHUSD")
    offline = [w for w in caught if issubclass(w.category, OfflineWarning)]
    assert offline and "cached copy" in str(offline[0].message)
