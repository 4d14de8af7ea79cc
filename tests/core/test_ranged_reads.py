"""Ranged reads: a select of an hour of a day, or of one column, fetches only those parts of the day's object."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pyarrow as pa
import pytest

import tickstore_core as ts
from tickstore_core import ranged
from tickstore_core.encoding import arrow
from tickstore_core.errors import CorruptObjectError
from tickstore_core.ranged import coalesce
from tickstore_core.testing import make_ticks

DAY = dt.date(2024, 3, 4)
HOUR = ("2024-03-04T14:00:00+00:00", "2024-03-04T14:59:59.999999999+00:00")


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Days of 20,000 ticks in chunks of 500 rows, read by ranges although small."""
    monkeypatch.setattr(arrow, "CHUNK_ROWS", 500)
    monkeypatch.setattr(ranged, "MIN_OBJECT", 0)
    monkeypatch.setattr(ranged, "GAP", 0)
    monkeypatch.setattr(ranged, "HEAD_BYTES", 4096)


@pytest.fixture(params=["s3", "azure"])
def remote(request: pytest.FixtureRequest) -> tuple[str, dict[str, str]]:
    emulated = request.getfixturevalue(f"{request.param}_store")
    return f"{emulated.url.rstrip('/')}/{request.node.name[-40:].strip('[]').replace('[', '-')}", dict(emulated.options)


def _stored(url: str, options: dict[str, str], cache_dir: str) -> tuple[pd.DataFrame, ts.Version]:
    ticks = make_ticks(DAY, 20_000)
    with ts.open_store(url, cache_dir=cache_dir, **options) as store:
        store.insert("X", ticks)
        (version,) = store.engine.index("X")
    return ticks, version


def test_coalesce_joins_parts_closer_than_the_gap() -> None:
    assert coalesce([(0, 10), (10, 5), (40, 10), (100, 1)], gap=20) == [(0, 15), (40, 10), (100, 1)]
    assert coalesce([(0, 10), (10, 5)], gap=0) == [(0, 10), (10, 5)]
    assert coalesce([]) == []


def test_an_hour_fetches_its_chunks_and_reads_them_again_from_the_cache(remote, tmp_path) -> None:
    url, options = remote
    ticks, version = _stored(url, options, str(tmp_path / "writer"))
    expected = ticks.loc[HOUR[0] : HOUR[1]]
    with ts.open_store(url, cache_dir=str(tmp_path / "reader"), **options) as store:
        pd.testing.assert_frame_equal(store.select("X", *HOUR), expected, check_freq=False)
        fetched = store.cache_stats()["bytes_fetched"]
        assert 0 < fetched < version.bytes / 5
    with ts.open_store(url, cache_dir=str(tmp_path / "reader"), **options) as again:
        pd.testing.assert_frame_equal(again.select("X", *HOUR), expected, check_freq=False)
        stats = again.cache_stats()
        assert stats["bytes_fetched"] == 0 and stats["hits"] == 1 and stats["bytes_from_cache"] > 0


def test_one_column_fetches_its_parts_and_a_whole_day_the_object(remote, tmp_path) -> None:
    url, options = remote
    ticks, version = _stored(url, options, str(tmp_path / "writer"))
    with ts.open_store(url, cache_dir=str(tmp_path / "one"), **options) as store:
        pd.testing.assert_frame_equal(store.select("X", columns=["price"]), ticks[["price"]], check_freq=False)
        data = store.backend.get(version.key)
        needed = sum(length for _, length in arrow.ArrowObject(pa.py_buffer(data)).spans("time", ["price"]))
        assert store.cache_stats()["bytes_fetched"] <= needed + arrow.header_end(data) + 4096 < version.bytes
    with ts.open_store(url, cache_dir=str(tmp_path / "all"), **options) as store:
        pd.testing.assert_frame_equal(store.select("X"), ticks, check_freq=False)
        assert store.cache_stats()["bytes_fetched"] == version.bytes


def test_a_header_longer_than_the_first_request_is_read_in_two(remote, tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(ranged, "HEAD_BYTES", 64)
    url, options = remote
    ticks, _ = _stored(url, options, str(tmp_path / "writer"))
    with ts.open_store(url, **options) as store:
        pd.testing.assert_frame_equal(store.select("X", *HOUR), ticks.loc[HOUR[0] : HOUR[1]], check_freq=False)


def test_a_damaged_part_in_the_cache_is_dropped_and_fetched_again(remote, tmp_path) -> None:
    url, options = remote
    ticks, version = _stored(url, options, str(tmp_path / "writer"))
    cache_dir = str(tmp_path / "reader")
    with ts.open_store(url, cache_dir=cache_dir, **options) as store:
        store.select("X", *HOUR)
    with ts.open_store(url, cache_dir=cache_dir, **options) as store:
        assert store.cache is not None
        found = arrow.ArrowObject(pa.py_buffer(store.backend.get(version.key)))
        offset, length = found.spans("time", None, *_ns(HOUR))[0]
        entry = f"{version.key}#{offset}+{length}"  # the ranged read's cache entry of that part
        store.cache.put_object(store.backend.url, entry, b"\xff" * length, checksum=version.checksum or "")
        pd.testing.assert_frame_equal(store.select("X", *HOUR), ticks.loc[HOUR[0] : HOUR[1]], check_freq=False)
        assert store.cache_stats()["corrupt_dropped"] >= 1


def test_bars_read_by_ranges_chunk_by_chunk_past_a_damaged_part_in_the_cache(remote, tmp_path) -> None:
    url, options = remote
    ticks, version = _stored(url, options, str(tmp_path / "writer"))
    hour = ticks.loc[HOUR[0] : HOUR[1]]
    expected = hour["price"].resample("1min").ohlc()
    expected["volume"] = hour["size"].resample("1min").sum()
    expected["trades"] = hour["price"].resample("1min").count()
    expected["vwap"] = (hour["price"] * hour["size"]).resample("1min").sum() / expected["volume"]
    cache_dir = str(tmp_path / "reader")
    with ts.open_store(url, cache_dir=cache_dir, **options) as store:
        pd.testing.assert_frame_equal(store.bars("X", *HOUR, freq="1min"), expected, check_freq=False)
        assert 0 < store.cache_stats()["bytes_fetched"] < version.bytes / 5  # the hour's prices and sizes only
    with ts.open_store(url, cache_dir=cache_dir, **options) as store:
        assert store.cache is not None
        found = arrow.ArrowObject(pa.py_buffer(store.backend.get(version.key)))
        offset, length = found.spans("time", ["price", "size"], *_ns(HOUR))[-1]  # in the hour's last chunk
        entry = f"{version.key}#{offset}+{length}"
        store.cache.put_object(store.backend.url, entry, b"\xff" * length, checksum=version.checksum or "")
        pd.testing.assert_frame_equal(store.bars("X", *HOUR, freq="1min"), expected, check_freq=False)  # none twice
        assert store.cache_stats()["corrupt_dropped"] >= 1


def test_a_damaged_part_in_the_store_is_an_error(remote, tmp_path) -> None:
    url, options = remote
    _, version = _stored(url, options, str(tmp_path / "writer"))
    with ts.open_store(url, **options) as store:
        data = bytearray(store.backend.get(version.key))
        found = arrow.ArrowObject(pa.py_buffer(bytes(data)))
        offset, length = found.spans("time", None, *_ns(HOUR))[0]
        data[offset + length // 2] ^= 0xFF
        store.backend.put(version.key, bytes(data))
        with pytest.raises(CorruptObjectError, match="CRC"):
            store.select("X", *HOUR)


def _ns(bounds: tuple[str, str]) -> tuple[int, int]:
    return pd.Timestamp(bounds[0]).value, pd.Timestamp(bounds[1]).value
