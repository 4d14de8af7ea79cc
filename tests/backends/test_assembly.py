"""Selects assembled in place (each day copied into the result as it is read) equal selects converted at the end."""

from __future__ import annotations

import datetime as dt
import gc
import threading
import time
import weakref

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import tickstore_core as ts
from tickstore_core import assembly, progress, query
from tickstore_core import bars as bars_module
from tickstore_core.encoding import arrow
from tickstore_core.testing import make_ticks

DAYS = [dt.date(2024, 3, 4) + dt.timedelta(days=i) for i in range(4)]


def _ticks(day: dt.date, seed: int) -> pd.DataFrame:
    ticks = make_ticks(day, 300, seed=seed)
    rng = np.random.default_rng(seed)
    ticks["count"] = rng.integers(0, 1000, len(ticks)).astype("int64")
    ticks["small"] = rng.integers(-5, 5, len(ticks)).astype("int8")
    ticks["flag"] = rng.random(len(ticks)) < 0.5
    ticks["venue"] = pd.Categorical(rng.choice(["X", "Y"], len(ticks)))
    ticks["maybe"] = pd.array(rng.integers(0, 9, len(ticks)), dtype="Int64")
    ticks.loc[ticks.index[::7], "size"] = np.nan
    return ticks


@pytest.fixture
def stored(store_location):
    url, options = store_location()
    store = ts.open_store(url, tz="America/New_York", **options)
    store.insert("X", pd.concat([_ticks(day, i) for i, day in enumerate(DAYS)]))  # five New York days
    yield store
    store.close()


BOUNDS = [
    (None, None),
    ("2024-03-04 13:00", "2024-03-06 11:00"),  # the first and last days cut
    ("2024-03-05", "2024-03-05"),  # one whole day
    ("2024-03-05 10:00", "2024-03-05 10:30"),  # part of one day
]


@pytest.mark.parametrize("bounds", BOUNDS)
@pytest.mark.parametrize("columns", [None, ["price", "count"], ["venue", "size"]])
def test_assembled_selects_equal_converted_ones(stored, monkeypatch, bounds, columns) -> None:
    monkeypatch.setattr(assembly, "MIN_ROWS", 10**12)
    expected = stored.select("X", *bounds, columns=columns)
    monkeypatch.setattr(assembly, "MIN_ROWS", 0)
    got = stored.select("X", *bounds, columns=columns)
    pd.testing.assert_frame_equal(got, expected)
    assert got.index.tz is not None and str(got.index.tz) == "America/New_York"
    assert len(got)
    number = next(c for c in got.columns if c in ("price", "count", "size"))
    got.loc[got.index[0], number] = -1  # the caller's own memory
    got[number] *= 2
    pd.testing.assert_frame_equal(stored.select("X", *bounds, columns=columns), expected)


def test_integers_missing_on_a_day_read_as_floats_like_pandas(store_location, monkeypatch) -> None:
    url, options = store_location()
    with ts.open_store(url, **options) as store:
        days = [_ticks(day, i)[["price", "count"]] for i, day in enumerate(DAYS[:3])]
        days[1] = days[1].astype({"count": "Int64"})  # missing values in an int64 column (Arrow nulls)
        days[1].loc[days[1].index[::5], "count"] = pd.NA
        for ticks in days:
            store.insert("X", ticks)
        monkeypatch.setattr(assembly, "MIN_ROWS", 10**12)
        expected = store.select("X")
        monkeypatch.setattr(assembly, "MIN_ROWS", 0)
        pd.testing.assert_frame_equal(store.select("X"), expected)


@pytest.fixture
def chunked(store_location, monkeypatch):
    """Days of 40 chunks (50 ticks each), so a select's first day streams in many pieces."""
    monkeypatch.setattr(arrow, "CHUNK_ROWS", 50)
    url, options = store_location()
    store = ts.open_store(url, **options)
    for i, day in enumerate(DAYS):
        store.insert("X", _many(day, i))
    yield url, options, store
    store.close()


def _many(day: dt.date, seed: int) -> pd.DataFrame:
    ticks = make_ticks(day, 2000, seed=seed)
    ticks["venue"] = pd.Categorical(np.random.default_rng(seed).choice(["X", "Y"], len(ticks)))
    return ticks


@pytest.mark.parametrize(
    "bounds",
    [
        ("2024-03-04 13:00", "2024-03-06 11:00"),  # the first day read last chunk first, cut inside a chunk
        ("2024-03-05 10:00:00.123", "2024-03-05 20:00"),  # one day, cut at both ends: read in order
        (None, None),
    ],
)
def test_a_first_day_of_many_chunks_is_placed_last_chunk_first_and_equals_the_conversion(
    chunked, monkeypatch, bounds
) -> None:
    _, _, store = chunked
    monkeypatch.setattr(assembly, "MIN_ROWS", 10**12)
    expected = store.select("X", *bounds)
    monkeypatch.setattr(assembly, "MIN_ROWS", 0)
    got = store.select("X", *bounds)
    pd.testing.assert_frame_equal(got, expected)
    assert len(got) > 500 and got.index.is_monotonic_increasing


def test_the_first_day_is_not_decoded_whole_before_its_first_chunk_is_placed(chunked, monkeypatch) -> None:
    url, options, _ = chunked
    one_worker = ts.open_store(url, **{**options, "max_workers": 1})  # days read one after the other
    decoded_at_first_place = []
    place = assembly.Assembly._place

    def tracked(self, at, table, day):
        if day == 0 and not decoded_at_first_place:
            decoded_at_first_place.append(arrow.counter.rows - before)
        return place(self, at, table, day)

    monkeypatch.setattr(assembly.Assembly, "_place", tracked)
    before = arrow.counter.rows
    try:
        got = one_worker.select("X", "2024-03-04 13:00", "2024-03-06")
    finally:
        one_worker.close()
    assert len(got) > 2000
    assert decoded_at_first_place == [50]  # one chunk, not the day's 2000 ticks


def test_a_select_of_one_day_decodes_its_next_chunks_on_the_pool(chunked, monkeypatch) -> None:
    _, _, store = chunked
    monkeypatch.setattr(query.os, "cpu_count", lambda: 4)
    threads = set()
    decoded = arrow.ArrowObject._decoded

    def tracked(self, chunk, wanted):
        threads.add(threading.current_thread().name)
        return decoded(self, chunk, wanted)

    monkeypatch.setattr(arrow.ArrowObject, "_decoded", tracked)
    expected = _many(DAYS[1], 1)
    got = store.select("X", DAYS[1], DAYS[1])
    pd.testing.assert_frame_equal(got, expected, check_freq=False)
    assert threading.current_thread().name in threads  # the caller decodes some chunks...
    assert any(name.startswith("tickstore") for name in threads)  # ...and the store's pool the ones ahead


def test_a_read_that_fails_half_way_returns_its_decoding_permit_at_once(chunked, monkeypatch) -> None:
    """Even while the caller keeps the error (and its traceback) alive, as a notebook keeps the last one."""
    _, _, store = chunked
    engine = store.engine
    place = assembly.Assembly._place
    calls = []

    def failing(self, at, table, day):
        calls.append(day)
        if len(calls) == 3:
            raise RuntimeError("placing failed")
        return place(self, at, table, day)

    monkeypatch.setattr(assembly.Assembly, "_place", failing)
    with pytest.raises(RuntimeError, match="placing failed") as failed:
        store.select("X", "2024-03-04 13:00", "2024-03-06")
    assert failed.value.__traceback__ is not None  # kept
    assert _permits_back(engine)  # once the other days' reads, still running, end

    def failing_bars(*args, **kwargs):
        raise RuntimeError("reducing failed")

    monkeypatch.setattr(bars_module, "partial_bars", failing_bars)
    with pytest.raises(RuntimeError, match="reducing failed") as failed_bars:
        store.bars("X", "2024-03-04", "2024-03-06", "1h")
    assert failed_bars.value.__traceback__ is not None
    assert _permits_back(engine)


def _permits_back(engine) -> bool:
    deadline = time.monotonic() + 3  # well below the 5 s after which a read would go on without a permit
    while engine.decoding._value != engine.decoding_slots and time.monotonic() < deadline:
        time.sleep(0.01)
    return engine.decoding._value == engine.decoding_slots


def test_columns_converted_at_the_end_are_held_without_the_times(chunked, monkeypatch) -> None:
    """Each chunk's times are copied into the index as it arrives; the columns converted at the end (text
    here) are held until then without them (the times would be another 8 bytes a row held to the end)."""
    _, _, store = chunked
    held: list[list[str]] = []
    kept_columns = assembly.Assembly._kept_columns

    def tracked(self):
        held.extend(table.column_names for day in self._kept for table in day)
        return kept_columns(self)

    monkeypatch.setattr(assembly.Assembly, "_kept_columns", tracked)
    got = store.select("X", "2024-03-04 13:00", "2024-03-06 11:00")
    assert "venue" in got.columns and len(held) > 10
    assert all("time" not in names and "venue" in names for names in held), held


@pytest.mark.parametrize("way", ["assembled in place", "filtered, converted at the end"])
def test_a_select_that_fails_half_way_lets_go_of_what_it_read_while_the_error_is_kept(
    store_location, monkeypatch, way
) -> None:
    """A notebook keeps the last traceback (Ctrl-C included) until the next error: it must not keep the
    partly filled result, or the days already read, with it."""
    url, options = store_location()
    store = ts.open_store(url, **options)
    store.insert("X", pd.concat([make_ticks(day, 200_000, seed=i) for i, day in enumerate(DAYS[:3])]))

    def interrupted(self, steps=1):  # Ctrl-C once the first day is read, while the others are
        raise KeyboardInterrupt

    monkeypatch.setattr(progress.HiddenBar, "update", interrupted)
    columns = []  # the preallocated result's arrays, watched by weak reference
    make = assembly.Assembly.__init__

    def watched(self, *args, **kwargs):
        make(self, *args, **kwargs)
        columns.extend(weakref.ref(values) for values in (self._times, *self._numbers.values()))

    monkeypatch.setattr(assembly.Assembly, "__init__", watched)
    filters = None if way == "assembled in place" else [("price", ">", 0)]
    # tracemalloc is not used: on Python 3.11 stopping it races with other threads freeing arrays
    try:
        with pytest.raises(KeyboardInterrupt) as failed:
            store.select("X", filters=filters)
        assert failed.value.__traceback__ is not None  # kept, with the frames of the select
        store.close()  # waits for the workers still reading the other days, and for the cache fills
        gc.collect()
        kept_columns = [ref for ref in columns if ref() is not None]
        with_error = _arrow_bytes()
        del failed
        gc.collect()
        held = with_error - _arrow_bytes()
    finally:
        store.close()
    assert (len(columns) > 0) == (way == "assembled in place")
    assert kept_columns == [], f"{len(kept_columns)} columns of the result held by the error of a failed select"
    day_bytes = 200_000 * 8 * 3  # the times, price and size of a day alone
    assert held < day_bytes, f"{held / 1e6:.1f} MB held by the error of a failed select"


def _arrow_bytes() -> int:
    """What Arrow holds: in the process's pool, and in the pool decoded parts come from if it is another."""
    pools = {pool.backend_name: pool for pool in (pa.default_memory_pool(), arrow.decoding_pool())}
    return sum(pool.bytes_allocated() for pool in pools.values())
