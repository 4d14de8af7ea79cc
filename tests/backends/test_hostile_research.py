"""Research and lifecycle calls a demanding user makes that once went wrong, on every backend.

Each test fails on 08c713d: a raw AttributeError, a lost column, a join refused for a day it does
not need, a day deleted for a month, a result whose columns depend on the output kind or whose
categories depend on which symbols exist.
"""

from __future__ import annotations

import datetime as dt
import time
import warnings

import numpy as np
import pandas as pd
import pytest

from tickstore_core import InvalidInputError, InvalidTimeError, open_store


def _ticks(times: list[str], **columns: list[float]) -> pd.DataFrame:
    return pd.DataFrame(columns, index=pd.DatetimeIndex(times, tz="UTC", name="time"))


@pytest.fixture
def store(store_location):
    url, options = store_location()
    store = open_store(url, **options)
    yield store
    store.close()


@pytest.mark.parametrize("grace", [0, 0.0, "0s", dt.timedelta(0), np.timedelta64(0, "s")])
def test_prune_takes_a_grace_of_zero_in_any_spelling(store, grace):
    day = _ticks(["2024-01-01 10:00"], price=[1.0])
    store.insert("A", day)
    store.insert("A", day.assign(price=2.0))
    (plan,) = store.prune(dry_run=False, grace=grace)
    assert plan.versions and store.history("A").shape[0] == 1
    assert store.select("A").price.tolist() == [2.0]


@pytest.mark.parametrize("grace", [-1, "soon", True, [1], float("nan")])
def test_a_bad_grace_is_a_clear_error(store, grace):
    store.insert("A", _ticks(["2024-01-01 10:00"], price=[1.0]))
    with pytest.raises(InvalidInputError, match=r"grace.*length of time"):
        store.prune(dry_run=False, grace=grace)


@pytest.mark.parametrize("period, name", [("2024-03", "month"), ("2024", "year")])
def test_a_day_argument_naming_a_month_or_year_is_refused_not_read_as_its_first_day(store, period, name):
    store.insert("A", _ticks(["2024-01-01 10:00", "2024-03-01 10:00", "2024-03-02 10:00"], price=[1.0, 2.0, 3.0]))
    with pytest.raises(InvalidTimeError, match=f"names a {name} of days"):
        store.delete("A", period)
    with pytest.raises(InvalidTimeError, match=f"names a {name} of days"):
        store.history("A", period)
    assert len(store.select("A")) == 3  # nothing deleted
    assert store.delete("A", "2024-03-01") is not None and len(store.select("A")) == 2


def test_sql_over_a_range_without_ticks_has_the_symbols_columns(store):
    pytest.importorskip("duckdb")
    store.insert("A", _ticks(["2024-01-01 10:00"], price=[1.0], size=[2.0]))
    total = store.sql("SELECT count(*) AS n, sum(size) AS v FROM ticks('A', '2024-01-05', '2024-01-05')")
    assert total.n.tolist() == [0] and total.v.isna().all()
    empty = store.sql("SELECT * FROM ticks('A', '2024-01-05', '2024-01-05')")
    assert list(empty.columns) == ["time", "price", "size"] and empty.empty


def test_asof_join_carries_from_the_last_day_with_ticks_without_reading_pruned_days_before_it(store):
    store.insert("A", _ticks(["2024-01-01 10:00", "2024-01-02 10:00", "2024-01-03 10:00"], price=[1.0, 2.0, 3.0]))
    time.sleep(0.01)
    before = pd.Timestamp.now(tz="UTC")
    time.sleep(0.01)
    store.insert("A", _ticks(["2024-01-01 10:00"], price=[9.0]))  # corrects the 1st; its first version is pruned
    store.prune(dry_run=False, grace=0)
    left = _ticks(["2024-01-03 09:00"], qty=[1.0])
    store.insert("L", left)
    joined = store.asof_join("L", "A", "2024-01-03", as_of=before)
    assert joined.price.tolist() == [2.0]  # the 2nd's last tick, carried across midnight
    assert store.asof_join("L", "A", "2024-01-03").price.tolist() == [2.0]


def test_asof_join_has_the_same_columns_into_pandas_and_arrow_when_the_carried_tick_has_more(store):
    store.insert("A", _ticks(["2024-01-02 10:00", "2024-01-03 10:00"], price=[2.0, 3.0]))
    store.insert("Q", _ticks(["2024-01-01 09:00"], bid=[7.0], ask=[8.0]))
    store.insert("Q", _ticks(["2024-01-02 09:00", "2024-01-03 09:00"], ask=[9.0, 10.0]))
    frame = store.asof_join("A", "Q", "2024-01-02")
    table = store.asof_join("A", "Q", "2024-01-02", output="arrow")
    assert table.column_names == ["time", *frame.columns] == ["time", "price", "bid", "ask"]
    assert frame.ask.tolist() == [9.0, 10.0] and frame.bid.isna().all()  # the 2nd's quote lacks a bid


@pytest.mark.parametrize("column", ["open", "vwap", "symbol"])
def test_a_timestamp_column_named_like_a_result_column_is_refused(store_location, column):
    url, options = store_location()
    store = open_store(url, timestamp_column=column, **options)
    ticks = _ticks(["2024-01-01 10:00", "2024-01-01 11:00"], price=[1.0, 2.0], size=[1.0, 1.0]).rename_axis(column)
    store.insert("A", ticks)
    store.insert("B", ticks)
    with pytest.raises(InvalidInputError, match=f"timestamp column is named '{column}'"):
        store.bars(["A", "B"], freq="1D")
    if column == "symbol":
        with pytest.raises(InvalidInputError, match="timestamp column is named 'symbol'"):
            store.select_many(["A", "B"])
        assert store.bars("A", freq="1D").open.tolist() == [1.0]  # one symbol: no symbol column to clash
    else:
        with pytest.raises(InvalidInputError, match=f"timestamp column is named '{column}'"):
            store.bars("A", freq="1D")
        assert store.select_many(["A", "B"]).shape == (4, 3)
    store.close()


def test_the_symbol_categories_are_every_symbol_asked_for_in_order(store):
    store.insert("A", _ticks(["2024-01-01 10:00", "2024-01-01 11:00"], price=[1.0, 2.0], size=[1.0, 1.0]))
    store.insert("B", _ticks(["2024-01-01 10:00"], price=[1.5], size=[2.0]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        many = store.select_many(["NOPE", "B", "X", "A"])
        bars = store.bars(["NOPE", "B", "A"], freq="1h")
        none = store.select_many(["NOPE", "X"], columns=["price"])
        no_bars = store.bars(["NOPE"], freq="1h")
        arrow = store.select_many(["NOPE", "B", "A"], output="arrow")
    assert list(many.symbol.cat.categories) == ["NOPE", "B", "X", "A"]
    assert many.symbol.tolist() == ["B", "A", "A"]  # equal times: in the order asked
    assert list(bars.symbol.cat.categories) == ["NOPE", "B", "A"] and bars.symbol.tolist() == ["B", "A", "A"]
    assert list(none.columns) == ["symbol", "price"] and none.empty
    assert list(none.symbol.cat.categories) == ["NOPE", "X"]
    assert list(no_bars.symbol.cat.categories) == ["NOPE"] and no_bars.empty
    assert arrow.column("symbol").combine_chunks().dictionary.to_pylist() == ["NOPE", "B", "A"]


@pytest.mark.parametrize("rows", [1, 5_000])
def test_ids_stored_as_int64_one_day_and_nullable_int64_another_read_exactly(store, rows):
    big = 2**60 + 1  # float64 cannot hold it: a column read through float64 loses the last digits
    first = pd.date_range("2024-01-01 10:00", periods=rows, freq="s", tz="UTC", name="time").as_unit("ns")
    second = pd.date_range("2024-01-02 10:00", periods=rows + 1, freq="s", tz="UTC", name="time").as_unit("ns")
    plain = pd.DataFrame({"tid": np.arange(big, big + rows, dtype="int64")}, index=first)
    nullable = pd.DataFrame({"tid": pd.array([None, *range(big + rows, big + 2 * rows)], dtype="Int64")}, index=second)
    store.insert("P", plain)
    store.insert("N", nullable)
    store.insert("Z", plain)
    store.insert("Z", nullable)
    expected = pd.concat([plain, nullable]).tid
    assert expected.dtype == "Int64"
    pd.testing.assert_series_equal(store.select("Z").tid, expected)  # assembled in place
    filtered = store.select("Z", filters=[("tid", ">", 0)]).tid  # converted from Arrow
    pd.testing.assert_series_equal(filtered, expected.dropna())
    for symbols in (["P", "N"], ["N", "P"]):
        many = store.select_many(symbols)
        assert many.tid.dtype == "Int64" and many.tid.dropna().nunique() == 2 * rows
