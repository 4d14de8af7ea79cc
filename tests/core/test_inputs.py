"""Symbols, times and ticks: what the core accepts, and the errors for what it refuses."""

import datetime as dt

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from tickstore_core.errors import InvalidSymbolError, InvalidTicksError, InvalidTimeError
from tickstore_core.frames import split_days, ticks_to_table
from tickstore_core.symbols import check_symbol
from tickstore_core.times import BiTimestamp, to_day, to_utc_ns


@pytest.mark.parametrize(
    "symbol", ["BTCUSD", "BTC-USD", "ES=F", "^GSPC", "BRK.B", "a_b", "x" * 128, "EUR.USD@IDEALPRO"]
)
def test_good_symbols(symbol):
    assert check_symbol(symbol) == symbol


@pytest.mark.parametrize(
    ("symbol", "message"),
    [
        ("", "empty"),
        ("x" * 129, "limit is 128"),
        ("../etc", "not allowed"),
        ("a/b", "not allowed"),
        ("a\\b", "not allowed"),
        ("a..b", "not allowed"),
        ("nul\x00", "not allowed"),
        ("bell\x07", "not allowed"),
        ("-flag", "not allowed"),
        ("π", "not allowed"),
        (3, "must be a string"),
    ],
)
def test_bad_symbols_say_why(symbol, message):
    with pytest.raises(InvalidSymbolError, match=message):
        check_symbol(symbol)


def test_bad_symbol_message_does_not_dump_a_huge_name():
    with pytest.raises(InvalidSymbolError) as caught:
        check_symbol("y" * 10_000)
    assert len(str(caught.value)) < 200


def test_times_naive_is_utc_and_aware_is_converted():
    assert to_utc_ns("2024-01-02 03:04", "t") == pd.Timestamp("2024-01-02 03:04", tz="UTC").value
    assert to_utc_ns(pd.Timestamp("2024-01-02 05:04+02:00"), "t") == pd.Timestamp("2024-01-02 03:04", tz="UTC").value
    assert to_utc_ns(dt.datetime(2024, 1, 2, 3, 4), "t") == pd.Timestamp("2024-01-02 03:04", tz="UTC").value


@pytest.mark.parametrize(
    "value", ["yesterday-ish", "2024-13-01", None, True, pd.NaT, "3000-01-01", dt.datetime(1500, 1, 1)]
)
def test_bad_times_are_clear_errors(value):
    with pytest.raises(InvalidTimeError):
        to_utc_ns(value, "start")


def test_days_from_dates_strings_and_aware_timestamps():
    assert to_day("2024-01-02", "UTC") == dt.date(2024, 1, 2)
    assert to_day(pd.Timestamp("2024-01-02 02:00", tz="UTC"), "America/New_York") == dt.date(2024, 1, 1)
    assert to_day(BiTimestamp(dt.date(2024, 1, 2)), "UTC") == dt.date(2024, 1, 2)
    with pytest.raises(InvalidTimeError):
        to_day("not a day", "UTC")


def test_bitimestamp_normalises_its_parts():
    stamp = BiTimestamp("2024-01-02", "2024-01-03 09:00")
    assert stamp.as_at == dt.date(2024, 1, 2)
    assert stamp.as_of == pd.Timestamp("2024-01-03 09:00", tz="UTC")
    with pytest.raises(InvalidTimeError):
        BiTimestamp(dt.date(2024, 1, 2), "garbage")


def _ticks(index, **columns):
    return pd.DataFrame(columns or {"price": np.arange(len(index), dtype=float)}, index=index)


def test_table_is_sorted_stably_and_in_nanoseconds():
    index = pd.DatetimeIndex(["2024-01-01 00:00:02", "2024-01-01 00:00:01", "2024-01-01 00:00:02"]).as_unit("us")
    table = ticks_to_table(_ticks(index, seq=[0, 1, 2]), "time")
    assert table.schema.field("time").type == pa.timestamp("ns", tz="UTC")
    assert table.column("seq").to_pylist() == [1, 0, 2]


def test_days_split_in_the_store_time_zone():
    index = pd.DatetimeIndex(["2024-01-01 23:30", "2024-01-02 03:00", "2024-01-02 06:00"], tz="UTC")
    table = ticks_to_table(_ticks(index), "time")
    assert {d: t.num_rows for d, t in split_days(table, "UTC").items()} == {
        dt.date(2024, 1, 1): 1,
        dt.date(2024, 1, 2): 2,
    }
    assert {d: t.num_rows for d, t in split_days(table, "America/New_York").items()} == {
        dt.date(2024, 1, 1): 2,
        dt.date(2024, 1, 2): 1,
    }


@pytest.mark.parametrize(
    ("ticks", "message"),
    [
        (pd.DataFrame({"p": [1.0]}, index=pd.MultiIndex.from_tuples([(1, 2)])), "MultiIndex"),
        (pd.DataFrame({"p": [1.0]}, index=[5]), "set_index"),
        (pd.DataFrame({"p": [1.0]}, index=pd.DatetimeIndex([pd.NaT])), "NaT"),
        (pd.DataFrame([[1.0, 2.0]], columns=["a", "a"], index=pd.DatetimeIndex(["2024-01-01"])), "duplicate"),
        (
            pd.DataFrame(
                [[1.0]],
                columns=pd.MultiIndex.from_tuples([("a", "b")]),
                index=pd.DatetimeIndex(["2024-01-01"]),
            ),
            "flat",
        ),
        (pd.DataFrame({"obj": [{"a": 1}, 3]}, index=pd.DatetimeIndex(["2024-01-01"] * 2)), "'obj'"),
        ([1, 2, 3], "DataFrame"),
    ],
    ids=["multiindex", "int-index", "nat", "duplicate-columns", "multi-columns", "mixed-objects", "list"],
)
def test_bad_ticks_say_what_to_do(ticks, message):
    with pytest.raises(InvalidTicksError, match=message):
        ticks_to_table(ticks, "time")


def test_zero_rows_and_empty_object_index_are_accepted():
    assert ticks_to_table(pd.DataFrame({"p": []}, index=pd.DatetimeIndex([])), "time").num_rows == 0
    assert ticks_to_table(pd.DataFrame({"p": []}), "time").num_rows == 0
