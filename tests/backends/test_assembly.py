"""Selects assembled in place (each day copied into the result as it is read) equal selects converted at the end."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

import tickstore_core as ts
from tickstore_core import assembly
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
