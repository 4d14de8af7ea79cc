"""Bars over size columns whose type changes between days or is narrow, on every backend.

Each test fails on 9a0e490: an integer size on one day and a float (or no size) on another raised a
raw ArrowInvalid, for one symbol and for several (a day without sizes adds zeros of the others'
type); a float16 size summed to inf with a VWAP of 0.0 and an int8 size wrapped around. The
reference is pandas' resample over select's result.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tickstore_core import open_store

DAY_1 = pd.date_range("2024-03-04 09:00", periods=4, freq="7min", tz="UTC", name="time")
DAY_2 = pd.date_range("2024-03-05 09:00", periods=4, freq="7min", tz="UTC", name="time")
COLUMNS = ["open", "high", "low", "close", "volume", "trades", "vwap"]


def _reference(ticks: pd.DataFrame, freq: str) -> pd.DataFrame:
    """Bars by pandas' resample (sizes summed as float64 when float, as int64 when integer)."""
    size = ticks["size"].fillna(0)  # a missing size adds nothing
    size = size.astype("float64") if size.dtype.kind == "f" else size.astype("int64")
    grouped = ticks["price"].resample(freq)
    volume = size.resample(freq).sum()
    bars = pd.DataFrame(
        {
            "open": grouped.first(),
            "high": grouped.max(),
            "low": grouped.min(),
            "close": grouped.last(),
            "volume": volume,
            "trades": grouped.count().astype("int64"),
            "vwap": (ticks["price"] * size).resample(freq).sum() / volume,
        }
    )
    return bars[bars.trades > 0]


def _insert_days(store, symbol: str, sizes: list[object]) -> None:
    for index, size in zip((DAY_1, DAY_2), sizes, strict=True):
        ticks = pd.DataFrame({"price": [10.0, 11.0, 9.5, 10.5]}, index=index)
        if size is not None:
            ticks["size"] = size
        store.insert(symbol, ticks)


def test_bars_over_days_of_integer_and_float_or_absent_sizes(store_location):
    url, options = store_location()
    with open_store(url, **options) as store:
        _insert_days(store, "AAPL", [np.array([100, 200, 300, 400]), np.array([0.5, 200.0, 300.0, 1.25])])
        _insert_days(store, "ES", [np.array([1, 2, 3, 4]), None])
        expected = {}
        for symbol in ("AAPL", "ES"):
            got = store.bars(symbol, freq="10min")
            expected[symbol] = _reference(store.select(symbol), "10min")
            pd.testing.assert_frame_equal(got[COLUMNS], expected[symbol], check_freq=False, check_names=False)
        assert store.bars("AAPL", freq="10min")["volume"].dtype == np.float64  # as select promotes the sizes
        assert store.bars("ES", freq="10min")["volume"].dtype == np.int64  # as select gives Int64
        both = store.bars(["AAPL", "ES"], freq="10min")  # one volume column: float64, as AAPL's sizes
        for symbol in ("AAPL", "ES"):
            mine = both[both.symbol == symbol][COLUMNS]
            wanted = expected[symbol].astype({"volume": "float64"})
            pd.testing.assert_frame_equal(mine, wanted, check_freq=False, check_names=False)


def test_bars_sum_narrow_sizes_without_overflow(store_location):
    url, options = store_location()
    with open_store(url, **options) as store:
        _insert_days(store, "F16", [np.full(4, 30000, dtype="float16")] * 2)
        _insert_days(store, "I8", [np.full(4, 100, dtype="int8")] * 2)
        for symbol, dtype in (("F16", np.float64), ("I8", np.int64)):
            got = store.bars(symbol, freq="1h")
            pd.testing.assert_frame_equal(
                got[COLUMNS], _reference(store.select(symbol), "1h"), check_freq=False, check_names=False
            )
            assert got["volume"].dtype == dtype and np.isfinite(got["vwap"]).all()
