"""Values a demanding user passes that once went wrong, on every backend.

Each test fails on ba85938: a date in a filter on the timestamp column read in UTC in a store of
another time zone, an empty string as a time giving a raw AttributeError, a Python int beyond 64
bits in an object column giving a raw OverflowError.
"""

from __future__ import annotations

import pandas as pd
import pytest

from tickstore_core import InvalidInputError, InvalidTicksError, InvalidTimeError, open_store


def test_a_date_in_a_filter_on_the_timestamp_column_is_the_store_s_local_day(store_location):
    url, options = store_location()
    times = pd.DatetimeIndex(
        ["2024-03-04 01:00", "2024-03-04 06:00"], tz="UTC", name="time"
    )  # 01:00 is March 3rd in New York
    with open_store(url, tz="America/New_York", **options) as store:
        store.insert("S", pd.DataFrame({"v": [1, 2]}, index=times))
        by_bound = store.select("S", "2024-03-04")["v"].tolist()
        by_filter = store.select("S", filters=[("time", ">=", "2024-03-04")])["v"].tolist()
        by_set = store.select("S", filters=[("time", "in", ["2024-03-04 01:00"])])["v"].tolist()  # a time keeps UTC
    assert by_bound == by_filter == [2] and by_set == [1]


def test_an_empty_string_as_a_time_is_a_clear_error_everywhere(store_location):
    url, options = store_location()
    ticks = pd.DataFrame({"v": [1.0]}, index=pd.DatetimeIndex(["2024-03-04 10:00"], tz="UTC", name="time"))
    with open_store(url, **options) as store:
        store.insert("S", ticks)
        calls = [
            lambda: store.select("S", ""),
            lambda: store.select("S", end=""),
            lambda: store.select("S", as_of=""),
            lambda: store.insert("S", ticks, as_of=""),
            lambda: store.days("S", as_of=""),
            lambda: store.prune(before=""),
            lambda: store.tag("t", as_of=""),
            lambda: store.select_many(["S"], ""),
        ]
        for call in calls:
            with pytest.raises(InvalidTimeError, match="must be a timestamp, got ''"):
                call()
        with pytest.raises(InvalidInputError, match="needs a timestamp"):
            store.select("S", filters=[("time", "<", "")])
        assert len(store.history("S")) == 1


def test_a_python_int_beyond_64_bits_in_an_object_column_is_refused_naming_it(store_location):
    url, options = store_location()
    index = pd.DatetimeIndex(["2024-03-04 10:00", "2024-03-04 11:00"], tz="UTC", name="time")
    big = pd.DataFrame({"id": pd.array([1, 2**70], dtype=object), "v": [1.0, 2.0]}, index=index)
    with open_store(url, **options) as store:
        store.insert("S", big[["v"]].iloc[:1])
        for write in (store.insert, store.append):
            with pytest.raises(InvalidTicksError, match="column 'id'"):
                write("S", big)
            with pytest.raises(InvalidTicksError, match="column 'id'"):
                write("S", big.iloc[1:])  # one row: the small frames' path
        assert len(store.history("S")) == 1 and store.select("S")["v"].tolist() == [1.0]
