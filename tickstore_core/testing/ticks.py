"""Tick frames for the conformance suites: deterministic trades, and a comparison of results."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

__all__ = ["make_ticks", "same_ticks"]


def make_ticks(day: dt.date, n: int, *, seed: int = 0, start_hour: int = 0) -> pd.DataFrame:
    """``n`` trades spread over ``day`` (UTC): price, size, side, trade_id; deterministic by seed."""
    rng = np.random.default_rng(seed)
    start = pd.Timestamp(day, tz="UTC") + pd.Timedelta(hours=start_hour)
    span = pd.Timedelta(hours=24 - start_hour).value
    offsets = np.sort(rng.integers(0, span, n))
    ticks: pd.DataFrame = pd.DataFrame(
        {
            "price": np.round(40_000 + rng.normal(0, 50, n).cumsum(), 2),
            "size": rng.exponential(0.5, n),
            "side": rng.choice(["buy", "sell"], n),
            "trade_id": np.arange(n, dtype="int64") + seed * 1_000_000,
        },
        index=pd.DatetimeIndex(start.value + offsets, tz="UTC", name="time"),
    )
    return ticks


def same_ticks(actual: pd.DataFrame, expected: pd.DataFrame) -> None:
    """Same ticks in the same order; index names and frequency aside."""
    assert list(actual.columns) == list(expected.columns)
    assert len(actual) == len(expected)
    if len(expected):
        expected = expected.copy()
        expected.index = pd.DatetimeIndex(expected.index).tz_convert("UTC").as_unit("ns")
        pd.testing.assert_frame_equal(actual, expected, check_names=False, check_freq=False)
