"""Values a demanding user passes that once went wrong, on every backend.

Each test fails on ba85938: a date in a filter on the timestamp column read in UTC in a store of
another time zone, an empty string as a time giving a raw AttributeError, a Python int beyond 64
bits in an object column giving a raw OverflowError, an integer column nullable on one day and of
another width on another read as float64 (digits lost) or failing with a raw ArrowInvalid.
"""

from __future__ import annotations

import datetime as dt
import uuid

import numpy as np
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


BIG = 2**62 + 1


@pytest.mark.parametrize(
    ("first", "second", "dtype"),
    [
        (np.array([BIG, -1], "int64"), pd.array([1, None], dtype="Int16"), "Int64"),
        (pd.array([1, None], dtype="Int16"), np.array([BIG, -1], "int64"), "Int64"),
        (np.array([5, -1], "int8"), pd.array([1, None], dtype="Int64"), "Int64"),
        (pd.array([1, None], dtype="Int8"), np.array([300, -1], "int16"), "Int16"),
        (pd.array([1, None], dtype="UInt8"), np.array([2**40, 7], "uint64"), "UInt64"),
    ],
    ids=["int64-Int16", "Int16-int64", "int8-Int64", "Int8-int16", "UInt8-uint64"],
)
def test_an_integer_column_nullable_on_one_day_reads_exactly_as_the_widest_nullable_type(
    store_location, first, second, dtype
):
    url, options = store_location()
    days = [pd.DatetimeIndex([f"2024-03-0{d} 01:00", f"2024-03-0{d} 02:00"], tz="UTC", name="time") for d in (4, 5)]
    with open_store(url, **options) as store:
        store.insert("S", pd.DataFrame({"x": first}, index=days[0]))
        store.insert("S", pd.DataFrame({"x": second}, index=days[1]))
        got = store.select("S")["x"]
        appended = open_store(f"memory://{uuid.uuid4().hex}")
        appended.insert("S", pd.DataFrame({"x": first}, index=days[0]))
        appended.append("S", pd.DataFrame({"x": second}, index=days[0] + pd.Timedelta("1h")))
        within_a_day = appended.select("S")["x"]
    expected = pd.array([*pd.array(first, dtype=dtype), *pd.array(second, dtype=dtype)], dtype=dtype)
    for values in (got, within_a_day):
        assert str(values.dtype) == dtype
        pd.testing.assert_extension_array_equal(values.array, expected)


def test_a_number_that_would_be_a_time_in_1970_is_refused_as_a_slip(store_location):
    """20240304 or epoch seconds read as nanoseconds: a transaction time in 1970 hides nothing but confuses all."""
    url, options = store_location()
    ticks = pd.DataFrame({"v": [1.0]}, index=pd.DatetimeIndex(["2024-03-04 10:00"], tz="UTC", name="time"))
    with open_store(url, **options) as store:
        (version,) = store.insert("S", ticks)
        for call in (
            lambda: store.select("S", 20240304),
            lambda: store.select("S", as_of=1_709_546_400),  # epoch seconds
            lambda: store.insert("NEW", ticks, as_of=20240306),
            lambda: store.delete("S", "2024-03-04", as_of=20240307),
        ):
            with pytest.raises(InvalidTimeError, match="read as nanoseconds since 1970"):
                call()
        assert store.select("S", as_of=version.recorded_at)["v"].tolist() == [1.0]  # nanoseconds still work
        assert store.symbols() == ["S"] and len(store.history("S")) == 1


@pytest.mark.parametrize(
    "values",
    [
        [dt.date(2024, 3, 4), dt.datetime(2024, 3, 4, 12, 30)],  # the time of day was dropped
        [pd.Timestamp("2024-03-04 09:00", tz="Asia/Tokyo"), pd.Timestamp("2024-03-04 09:00")],  # naive read as UTC
        ["abc", b"\x01\x02"],  # the text became bytes
        [dt.date(2024, 3, 4), 5],  # 5 became 1970-01-06
        [dt.datetime(2024, 3, 4, 9), 5],  # 5 became 5 microseconds after 1970
        [dt.timedelta(seconds=1), 1.5],  # 1.5 became a microsecond
    ],
    ids=["dates-and-datetimes", "aware-and-naive", "text-and-bytes", "date-number", "datetime-number", "duration"],
)
def test_an_object_column_of_mixed_kinds_arrow_would_change_is_refused(store_location, values):
    url, options = store_location()
    ticks = pd.DataFrame(
        {"v": np.array([*values, None], dtype=object)},
        index=pd.date_range("2024-03-04 10:00", periods=len(values) + 1, freq="s", tz="UTC", name="time"),
    )
    with open_store(url, **options) as store:
        for write in (store.insert, store.append):
            with pytest.raises(InvalidTicksError, match="column 'v' mixes kinds of values"):
                write("S", ticks)
        one_kind = ticks.assign(v=np.array([values[0], values[0], None], dtype=object))
        if not (isinstance(values[0], bytes) and url.startswith("file:")):  # the local store refuses bytes
            store.insert("S", one_kind)
            assert store.select("S")["v"].tolist()[:2] == [values[0], values[0]]


def test_integer_and_bool_columns_missing_on_a_day_read_exactly_as_nullable_types(store_location):
    """pandas' NumPy conversion made ids beyond 2**53 float64 (digits lost) and flags with a gap object."""
    url, options = store_location()
    ids = np.array([2**53 + 1, 2**62 + 7], dtype=np.int64)
    first = pd.DataFrame(
        {"px": [1.0, 2.0], "trade_id": ids, "is_buy": [True, False]},
        index=pd.date_range("2024-03-04 10:00", periods=2, freq="s", tz="UTC", name="time"),
    )
    second = pd.DataFrame(
        {"px": [3.0], "is_buy": pd.array([None], dtype="boolean")},
        index=pd.date_range("2024-03-05 10:00", periods=1, freq="s", tz="UTC", name="time"),
    )
    with open_store(url, **options) as store:
        store.insert("S", first)
        store.insert("S", second)
        for frame in (store.select("S"), store.select_many(["S"])):
            assert frame["trade_id"].dtype == "Int64" and frame["trade_id"].tolist()[:2] == ids.tolist()
            assert frame["trade_id"].isna().tolist() == [False, False, True]
            assert frame["is_buy"].dtype == "boolean" and frame["is_buy"].isna().tolist() == [False, False, True]
        assert store.select("S", "2024-03-04", "2024-03-04")["trade_id"].dtype == "int64"  # no gap: as stored
        only_first = [("px", "<=", 2.0)]  # keeps none of the day without the column: the dtype stays
        for frame in (store.select("S", filters=only_first), store.select_many(["S"], filters=only_first)):
            assert (frame["trade_id"].dtype, frame["is_buy"].dtype) == ("Int64", "boolean")
        pytest.importorskip("dask")
        pd.testing.assert_frame_equal(store.to_dask("S").compute(), store.select("S"))  # dask read float64
        gap_only = {"columns": ["px", "trade_id"], "filters": only_first}  # is_buy: a nullable day's metadata
        pd.testing.assert_frame_equal(store.to_dask("S", **gap_only).compute(), store.select("S", **gap_only))


def test_integer_float_and_nullable_integer_days_read_as_float64(store_location):
    """int64, float64 and Int64 days: each pair read, all three raised a raw ArrowInvalid (a truncation)."""
    url, options = store_location()
    days = [
        pd.Series([100, 100], dtype="int64"),
        pd.Series([0.5, 1.5], dtype="float64"),
        pd.Series([7, None], dtype="Int64"),
    ]
    with open_store(url, **options) as store:
        for i, sizes in enumerate(days):
            index = pd.date_range(f"2024-03-0{i + 4} 10:00", periods=2, freq="s", tz="UTC", name="time")
            store.insert("S", pd.DataFrame({"size": sizes.array}, index=index))
        for frame in (store.select("S"), store.select_many(["S"])):
            assert frame["size"].dtype == "float64"
            assert frame["size"].tolist()[:5] == [100.0, 100.0, 0.5, 1.5, 7.0] and np.isnan(frame["size"].iloc[5])
