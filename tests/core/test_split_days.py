"""Splitting sorted ticks into their days: every tick on its calendar day, without copies of the times."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tickstore_core.frames import split_days, ticks_to_table
from tickstore_core.times import NS_PER_DAY

NS = st.integers(min_value=-3 * NS_PER_DAY, max_value=4 * NS_PER_DAY)


@pytest.mark.parametrize("tz", ["UTC", "Europe/London"])
@settings(max_examples=60, deadline=None)
@given(times=st.lists(NS, min_size=1, max_size=60))
def test_each_tick_lands_on_its_calendar_day_in_order(tz: str, times: list[int]) -> None:
    index = pd.DatetimeIndex(sorted(times), tz="UTC")
    table = ticks_to_table(pd.DataFrame({"n": np.arange(len(times))}, index=index), "time")
    days = split_days(table, tz)
    local_days = index.tz_convert(tz).tz_localize(None).normalize()
    expected = {day.date(): list(np.flatnonzero(local_days == day)) for day in local_days.unique()}
    assert list(days) == list(expected)
    assert {day: part.column("n").to_pylist() for day, part in days.items()} == expected


def test_a_utc_split_makes_no_array_as_long_as_the_ticks() -> None:
    rows = 1_000_000
    index = pd.DatetimeIndex(np.linspace(0, 3 * NS_PER_DAY, rows, dtype=np.int64), tz="UTC")
    table = ticks_to_table(pd.DataFrame({"n": np.zeros(rows)}, index=index), "time")
    tracemalloc.start()
    try:
        days = split_days(table, "UTC")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert sum(part.num_rows for part in days.values()) == rows and len(days) == 4
    assert peak < rows  # 8 bytes a tick would be 8 MB
