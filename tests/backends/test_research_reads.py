"""Research reads on every backend, each against a pandas reference computed on the same ticks.

select_many against concatenated selects, filters against boolean masks, bars against
``resample().ohlc()``, asof_join against ``pd.merge_asof`` with the midnight carry, sql against a
groupby, files against the objects' own bytes; each as of before and after a correction.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import re
import struct
import warnings
import weakref
import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.ipc
import pyarrow.parquet as pq
import pytest

from tickstore_core import (
    ColumnNotFoundError,
    InvalidInputError,
    MissingDependencyError,
    Tickstore,
    UnknownSymbolWarning,
    open_store,
    ranged,
)
from tickstore_core import bars as bars_module
from tickstore_core.encoding import arrow
from tickstore_core.engine import Engine
from tickstore_core.testing import make_ticks

DAYS = [dt.date(2024, 3, 4), dt.date(2024, 3, 5), dt.date(2024, 3, 6)]
QUOTE_DAYS = [dt.date(2024, 3, 3), dt.date(2024, 3, 4), dt.date(2024, 3, 6)]  # none on the 5th: carried across it


def _quotes(day: dt.date, n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    times = pd.Timestamp(day, tz="UTC").value + np.sort(rng.integers(0, 86_400 * 10**9, n))
    mid = 40_000 + rng.normal(0, 20, n).cumsum()
    return pd.DataFrame(
        {"bid": mid - 0.5, "ask": mid + 0.5, "size": rng.exponential(1.0, n)},
        index=pd.DatetimeIndex(times, tz="UTC", name="time"),
    )


@dataclass
class Research:
    store: Tickstore
    before: pd.Timestamp  # a transaction time before the corrections


@pytest.fixture
def research(store_location) -> Research:
    url, options = store_location()
    store = open_store(url, **options)
    store.insert("T", pd.concat([make_ticks(d, 120, seed=i) for i, d in enumerate(DAYS)]))
    store.insert("Q", pd.concat([_quotes(d, 40, seed=10 + i) for i, d in enumerate(QUOTE_DAYS)]))
    other = make_ticks(DAYS[1], 80, seed=7).assign(venue="X")  # another column only this symbol has
    other.loc[other.index[::5], "size"] = np.nan
    store.insert("E", other)
    before = pd.Timestamp.now(tz="UTC")
    store.insert("T", make_ticks(DAYS[1], 60, seed=99), day=DAYS[1])  # a correction of the 5th
    store.insert("Q", _quotes(QUOTE_DAYS[1], 25, seed=98).iloc[:-5], day=QUOTE_DAYS[1])  # changes the carry
    yield Research(store, before)
    store.close()


AS_OF = ["before", "now"]


def _as_of(research: Research, which: str) -> Any:
    return research.before if which == "before" else None


@pytest.mark.parametrize("which", AS_OF)
def test_filters_equal_boolean_masks(research, which):
    store, as_of = research.store, _as_of(research, which)
    ticks = store.select("T", as_of=as_of)
    cases = [
        ([("side", "==", "buy"), ("size", ">", 0.5)], (ticks.side == "buy") & (ticks["size"] > 0.5)),
        ([[("side", "=", "sell")], [("price", "<=", 39_990.0)]], (ticks.side == "sell") | (ticks.price <= 39_990)),
        ([("trade_id", "in", list(range(0, 200, 3)))], ticks.trade_id.isin(range(0, 200, 3))),
        ([("side", "not in", ["buy"]), ("size", "!=", 1)], ~ticks.side.isin(["buy"]) & (ticks["size"] != 1)),
        ([("time", ">=", "2024-03-05 06:00"), ("time", "<", dt.date(2024, 3, 6))], None),
    ]
    for filters, mask in cases:
        if mask is None:
            mask = (ticks.index >= pd.Timestamp("2024-03-05 06:00", tz="UTC")) & (
                ticks.index < pd.Timestamp("2024-03-06", tz="UTC")
            )
        expected = ticks[mask]
        assert 0 < len(expected) < len(ticks), filters
        pd.testing.assert_frame_equal(store.select("T", as_of=as_of, filters=filters), expected)
    narrow = store.select("T", "2024-03-05", "2024-03-05", as_of=as_of, columns=["price"], filters=cases[0][0])
    day = ticks.loc["2024-03-05"]
    pd.testing.assert_frame_equal(narrow, day[(day.side == "buy") & (day["size"] > 0.5)][["price"]])


def test_a_comparison_with_a_missing_value_is_false_for_every_operator(research):
    store = research.store
    ticks = store.select("E")
    assert ticks["size"].isna().any()
    for op, mask in (("!=", ticks["size"] != 0.5), ("<", ticks["size"] < 0.5), ("not in", ~ticks["size"].isin([1]))):
        value = [1] if op == "not in" else 0.5
        got = store.select("E", filters=[("size", op, value)])
        pd.testing.assert_frame_equal(got, ticks[mask & ticks["size"].notna()])


def test_bad_filters_are_clear_errors_before_reading(research):
    store = research.store
    with pytest.raises(ColumnNotFoundError, match="'nope'"):
        store.select("T", filters=[("nope", "==", 1)])
    with pytest.raises(InvalidInputError, match="unknown filter operator '~'"):
        store.select("T", filters=[("size", "~", 1)])
    with pytest.raises(InvalidInputError, match="holds double"):
        store.select("T", filters=[("size", ">", "big")])
    with pytest.raises(InvalidInputError, match="needs a list"):
        store.select("T", filters=[("side", "in", "buy")])
    with pytest.raises(InvalidInputError, match="not a mix"):
        store.select("T", filters=[("side", "==", "buy"), [("size", ">", 1)]])
    with pytest.raises(InvalidInputError, match="needs a timestamp"):
        store.select("T", filters=[("time", ">", "not a time")])
    with pytest.raises(InvalidInputError, match="output must be"):
        store.select("T", output="numpy")


_NULLABLE = {"bool": "boolean", **{f"{s}int{b}": f"{s.upper()}Int{b}" for s in ("", "u") for b in (8, 16, 32, 64)}}


def _reference_many(store: Tickstore, symbols: list[str], as_of: Any, **kwargs: Any) -> pd.DataFrame:
    frames = [store.select(s, "2024-03-04", "2024-03-05", as_of=as_of, **kwargs).assign(symbol=s) for s in symbols]
    for name in {n for f in frames for n in f.columns if f[n].dtype.kind in "iub"}:  # missing on some symbol: exact
        if not all(name in f.columns for f in frames):
            frames = [f.astype({name: _NULLABLE[f[name].dtype.name]}) if name in f.columns else f for f in frames]
    frame = pd.concat(frames)
    frame = frame.iloc[np.argsort(frame.index.asi8, kind="stable")]
    for name in frame.columns[frame.dtypes == np.dtype("O")]:  # pandas 2: concat fills with NaN, Arrow None
        frame[name] = frame[name].astype(object).where(frame[name].notna(), None)
    frame.insert(0, "symbol", pd.Categorical(frame.pop("symbol"), categories=symbols))
    return frame


@pytest.mark.parametrize("which", AS_OF)
def test_select_many_equals_concatenated_selects(research, which):
    store, as_of = research.store, _as_of(research, which)
    symbols = ["T", "E", "Q"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        many = store.select_many(symbols, "2024-03-04", "2024-03-05", as_of=as_of)
    expected = _reference_many(store, symbols, as_of)
    pd.testing.assert_frame_equal(many, expected[many.columns], check_categorical=False)
    assert list(many.columns[:1]) == ["symbol"] and list(many.symbol.cat.categories) == symbols
    assert set(many.columns) == set(expected.columns)
    assert many.index.is_monotonic_increasing

    filtered = store.select_many(["T", "E"], "2024-03-04", "2024-03-05", as_of=as_of, filters=[("side", "==", "buy")])
    reference = _reference_many(store, ["T", "E"], as_of)
    pd.testing.assert_frame_equal(filtered, reference[reference.side == "buy"], check_categorical=False)


def test_select_many_warns_once_about_unknown_symbols_and_checks_its_arguments(research):
    store = research.store
    with pytest.warns(UnknownSymbolWarning, match="2 of the 4 symbols.*NOPE, ALSO") as caught:
        many = store.select_many(["T", "NOPE", "E", "ALSO"], columns=["price", "venue"])
    assert len([w for w in caught if w.category is UnknownSymbolWarning]) == 1
    assert list(many.columns) == ["symbol", "price", "venue"]
    assert set(many.symbol) == {"T", "E"} and many.loc[many.symbol == "T", "venue"].isna().all()
    with pytest.raises(InvalidInputError, match="list of symbol names"):
        store.select_many("T")
    with pytest.raises(InvalidInputError, match="more than once"):
        store.select_many(["T", "T"])
    with pytest.raises(ColumnNotFoundError, match="'nope'"):
        store.select_many(["T", "E"], columns=["nope"])


def test_select_many_of_a_symbol_with_its_own_symbol_column_is_a_clear_error(research):
    store = research.store
    store.insert("S", make_ticks(DAYS[0], 30).assign(symbol="S"))
    for columns in (None, ["price", "symbol"]):
        with pytest.raises(InvalidInputError, match=r"S has a column named 'symbol'.*leave it out"):
            store.select_many(["T", "S"], columns=columns)
    assert list(store.select_many(["T", "S"], columns=["price"]).columns) == ["symbol", "price"]


@pytest.mark.parametrize("which", AS_OF)
def test_arrow_and_polars_outputs_hold_what_pandas_holds(research, which):
    polars = pytest.importorskip("polars")
    store, as_of = research.store, _as_of(research, which)
    frame = store.select("T", as_of=as_of, columns=["price", "side"])
    table = store.select("T", as_of=as_of, columns=["price", "side"], output="arrow")
    assert isinstance(table, pa.Table) and table.column_names == ["time", "price", "side"]
    assert table.schema.field("time").type == pa.timestamp("ns", tz=store.tz)
    assert table.column("time").to_pylist() == list(frame.index)
    assert table.column("price").to_pylist() == frame.price.tolist()
    pl = store.select("T", as_of=as_of, columns=["price", "side"], output="polars")
    assert isinstance(pl, polars.DataFrame) and pl.schema["time"] == polars.Datetime("ns", store.tz)
    assert pl["price"].to_list() == frame.price.tolist() and pl["side"].to_list() == frame.side.tolist()
    many = store.select_many(["T", "E"], output="arrow")
    assert many.column_names[:2] == ["time", "symbol"] and pa.types.is_dictionary(many.schema.field("symbol").type)
    empty = store.select("T", "2030-01-01", "2030-01-02", output="arrow")
    assert empty.num_rows == 0 and empty.column_names[0] == "time"


def test_reads_of_a_range_without_ticks_have_the_columns_and_dtypes_of_reads_with_ticks(research):
    store, weekend = research.store, ("2024-03-09", "2024-03-10")  # after every day of T, E and Q
    polars = pytest.importorskip("polars")
    for output in ("pandas", "arrow", "polars"):
        empty, full = store.select("T", *weekend, output=output), store.select("T", DAYS[0], DAYS[0], output=output)
        assert len(empty) == 0 and _types(empty) == _types(full), output
        empty, full = (store.select_many(["T", "E"], *span, output=output) for span in (weekend, (DAYS[1], DAYS[1])))
        assert len(empty) == 0 and _types(empty) == _types(full), output
    for output in ("pandas", "arrow"):  # E has no ticks on the 4th, but its column venue is still there
        partly, full = (store.select_many(["T", "E"], day, day, output=output) for day in (DAYS[0], DAYS[1]))
        assert _types(partly) == _types(full) and len(partly) == len(store.select("T", DAYS[0], DAYS[0])), output
    polars_empty = store.select("T", *weekend, output="polars")
    assert isinstance(polars_empty, polars.DataFrame) and polars_empty.schema["time"] == polars.Datetime("ns", store.tz)
    joined, full = store.asof_join("T", "Q", *weekend), store.asof_join("T", "Q", DAYS[2], DAYS[2])
    assert joined.empty and _types(joined) == _types(full)
    joined, full = (store.asof_join("T", "Q", *span, output="arrow") for span in (weekend, (DAYS[2], DAYS[2])))
    assert joined.num_rows == 0 and _types(joined) == _types(full)
    pytest.importorskip("dask.dataframe")
    assert _types(store.to_dask("E", *weekend)._meta) == _types(store.to_dask("E")._meta)


def _types(result: Any) -> list[tuple[str, str]]:
    """A result's column names and types: pandas dtypes (the index's too), Arrow or polars types."""
    if isinstance(result, pd.DataFrame):
        index = (str(result.index.name), str(result.index.dtype))
        return [index, *((str(c), str(t)) for c, t in result.dtypes.items())]
    if isinstance(result, pa.Table):
        return [(f.name, str(f.type)) for f in result.schema]
    return [(name, str(t)) for name, t in result.schema.items()]


def _reference_bars(ticks: pd.DataFrame, freq: str) -> pd.DataFrame:
    bars = ticks["price"].resample(freq).ohlc()
    bars["volume"] = ticks["size"].resample(freq).sum()
    bars["trades"] = ticks["price"].resample(freq).count()
    bars["vwap"] = (ticks["price"] * ticks["size"]).resample(freq).sum() / bars["volume"]
    return bars


@pytest.mark.parametrize("which", AS_OF)
def test_bars_equal_resample_ohlc_with_sum_and_count(research, which):
    store, as_of = research.store, _as_of(research, which)
    ticks = store.select("T", "2024-03-04 12:00", "2024-03-06", as_of=as_of)
    reference = _reference_bars(ticks, "15min")
    bars = store.bars("T", "2024-03-04 12:00", "2024-03-06", "15min", as_of=as_of)
    pd.testing.assert_frame_equal(bars, reference[reference.trades > 0], check_freq=False)

    filled = store.bars("T", "2024-03-04 12:00", "2024-03-06", "15min", as_of=as_of, fill="ffill")
    assert filled.index.equals(reference.index)
    empty = reference.trades == 0
    close = reference.close.ffill()
    pd.testing.assert_series_equal(filled.close, close, check_freq=False)
    assert (filled.open[empty] == close[empty]).all() and (filled.low[empty] == close[empty]).all()
    assert (filled.volume[empty] == 0).all() and (filled.trades[empty] == 0).all() and filled.vwap[empty].isna().all()

    both = store.bars(["T", "E"], "2024-03-05", "2024-03-05", "1h", as_of=as_of)
    for symbol in ("T", "E"):
        day = store.select(symbol, "2024-03-05", "2024-03-05", as_of=as_of)
        expected = _reference_bars(day, "1h")
        got = both[both.symbol == symbol].drop(columns="symbol")
        pd.testing.assert_frame_equal(got, expected[expected.trades > 0], check_freq=False)


def test_bars_are_aligned_to_the_stores_time_zone_across_a_dst_change(tmp_path):
    with open_store(tmp_path / "ny", tz="America/New_York") as store:
        days = [dt.date(2024, 3, 9), dt.date(2024, 3, 10), dt.date(2024, 3, 11)]  # DST starts on the 10th
        store.insert("T", pd.concat([make_ticks(d, 300, seed=i) for i, d in enumerate(days)]))
        ticks = store.select("T")
        bars = store.bars("T", freq="5min")
        reference = _reference_bars(ticks, "5min")
        pd.testing.assert_frame_equal(bars, reference[reference.trades > 0], check_freq=False)
        daily = store.bars("T", freq="1D")
        assert [t.hour for t in daily.index] == [0] * len(daily)  # local midnights, 23 and 24 hours apart
        with pytest.raises(InvalidInputError, match="divides a day"):
            store.bars("T", freq="7h")
        with pytest.raises(ColumnNotFoundError, match="'qty'"):
            store.bars("T", size="qty")


def test_bars_spanning_chunks_equal_resample_ohlc_and_decode_one_chunk_at_a_time(store_location, tmp_path, monkeypatch):
    monkeypatch.setattr(arrow, "CHUNK_ROWS", 16)  # about 19 chunks a day: most bars span two or more
    monkeypatch.setattr(ranged, "MIN_OBJECT", 0)  # on S3 and Azure, part of a day is read by ranges
    url, options = store_location()
    ticks = pd.concat([make_ticks(d, 300, seed=i) for i, d in enumerate(DAYS)])
    ticks.loc[ticks.index[::7], "size"] = np.nan  # no size: counted as 0
    ticks.loc[ticks.index[3::11], "price"] = np.nan  # no price: left out
    decoded_since: list[int] = []  # rows decoded since the reduction before, at each reduction
    held: list[int] = []  # chunks handed out and still alive, whenever a chunk is decoded
    handed_out: list[weakref.ref[pa.Table]] = []
    since = [arrow.counter.rows]
    reduce, iter_chunks, decode = bars_module.partial_bars, Engine.iter_chunks, arrow.ArrowObject._decoded

    def reducing(table: pa.Table, *args: Any) -> Any:
        decoded_since.append(arrow.counter.rows - since[0])
        since[0] = arrow.counter.rows
        return reduce(table, *args)

    def tracked(self: Engine, *args: Any, **kwargs: Any) -> Any:
        for table in iter_chunks(self, *args, **kwargs):
            handed_out.append(weakref.ref(table))
            yield table
            del table

    def decoding(self: arrow.ArrowObject, *args: Any) -> Any:
        held.append(sum(ref() is not None for ref in handed_out))
        return decode(self, *args)

    by_ranges: list[bool] = []
    ranged_tables = ranged.RangedReads.tables

    def by_range(self: ranged.RangedReads, *args: Any) -> Any:
        by_ranges.append(True)
        return ranged_tables(self, *args)

    monkeypatch.setattr(ranged.RangedReads, "tables", by_range)
    monkeypatch.setattr(bars_module, "partial_bars", reducing)
    monkeypatch.setattr(Engine, "iter_chunks", tracked)
    monkeypatch.setattr(arrow.ArrowObject, "_decoded", decoding)
    with open_store(url, cache_dir=str(tmp_path / "writer"), **options) as writer:
        writer.insert("T", ticks)
    with open_store(url, cache_dir=str(tmp_path / "cache"), max_workers=1, **options) as store:
        for start, end, freq in [
            ("2024-03-04 12:00", "2024-03-06 06:00", "1h"),  # the first and last chunks trimmed
            (None, None, "15min"),
            (None, None, "1D"),  # a bar of every chunk of its day
            (None, None, "1h"),  # again: from the cache on S3 and Azure
        ]:
            reference = _reference_bars(store.select("T", start, end).dropna(subset=["price"]), freq)
            decoded_since.clear()
            held.clear()
            since[0] = arrow.counter.rows
            bars = store.bars("T", start, end, freq)
            pd.testing.assert_frame_equal(bars, reference[reference.trades > 0], check_freq=False)
            assert len(decoded_since) > 3 * len(DAYS) and max(decoded_since) <= 16  # one chunk, then its bars
            assert held and max(held) == 0  # each chunk dropped before the next is decoded
        assert any(by_ranges) == store.engine.ranged.enabled  # S3 and Azure read part of a day by ranges

        more = make_ticks(DAYS[1], 50, seed=5)
        more.index += pd.Timedelta(hours=1)  # a version made by appends: read whole, as before
        store.append("T", more)
        reference = _reference_bars(store.select("T", "2024-03-05", "2024-03-05").dropna(subset=["price"]), "1h")
        bars = store.bars("T", "2024-03-05", "2024-03-05", "1h")
        pd.testing.assert_frame_equal(bars, reference[reference.trades > 0], check_freq=False)


@pytest.mark.parametrize("which", AS_OF)
def test_asof_join_equals_merge_asof_with_the_midnight_carry(research, which):
    store, as_of = research.store, _as_of(research, which)
    trades = store.select("T", "2024-03-05", "2024-03-06", as_of=as_of)
    quotes = store.select("Q", None, "2024-03-06", as_of=as_of)  # from the beginning: what carries in
    joined = store.asof_join("T", "Q", "2024-03-05", "2024-03-06", as_of=as_of)
    expected = pd.merge_asof(trades, quotes.rename(columns={"size": "size_right"}), left_index=True, right_index=True)
    pd.testing.assert_frame_equal(joined, expected)
    first = joined.iloc[0]  # the 5th has no quotes: the 4th's last quote carries across midnight (and the 5th)
    assert first.bid == quotes.loc[:"2024-03-04"].bid.iloc[-1]

    near = store.asof_join("T", "Q", "2024-03-05", "2024-03-06", on_columns=["bid"], tolerance="2h", as_of=as_of)
    expected = pd.merge_asof(trades, quotes[["bid"]], left_index=True, right_index=True, tolerance=pd.Timedelta("2h"))
    pd.testing.assert_frame_equal(near, expected)
    assert near.bid.isna().any() and near.bid.notna().any()


def test_asof_join_reads_both_sides_as_of_one_time(research, monkeypatch):
    store = research.store
    stale = store.asof_join("T", "Q", "2024-03-04", "2024-03-04", as_of=research.before)
    now = store.asof_join("T", "Q", "2024-03-04", "2024-03-04")
    assert not stale.bid.equals(now.bid)  # the quotes' correction of the 4th shows only in the second
    with pytest.raises(InvalidInputError, match="tolerance"):
        store.asof_join("T", "Q", tolerance="soon")


@pytest.mark.parametrize("which", AS_OF)
def test_sql_over_ticks_equals_a_groupby(research, which):
    pytest.importorskip("duckdb")
    store, as_of = research.store, _as_of(research, which)
    ticks = store.select("T", "2024-03-05", "2024-03-06", as_of=as_of)
    result = store.sql(
        "SELECT side, count(*) AS n, sum(size) AS volume FROM ticks('T', '2024-03-05', '2024-03-06') "
        "GROUP BY side ORDER BY side",
        as_of=as_of,
    )
    expected = ticks.groupby("side")["size"].agg(["count", "sum"])
    assert result.side.tolist() == expected.index.tolist()
    assert result.n.tolist() == expected["count"].tolist()
    np.testing.assert_allclose(result.volume, expected["sum"])
    joined = store.sql(
        "SELECT count(*) AS n FROM ticks('T') t JOIN ticks('E') e ON t.time = e.time", as_of=as_of, output="arrow"
    )
    assert joined.column("n").to_pylist() == [0]
    times = store.sql("SELECT time FROM ticks('T', '2024-03-05', '2024-03-05') ORDER BY time", as_of=as_of)
    assert list(times.time) == list(ticks.loc["2024-03-05"].index)
    with pytest.raises(InvalidInputError, match="string literals"):
        store.sql("SELECT * FROM ticks(T)")


@pytest.mark.parametrize("which", AS_OF)
def test_files_lists_the_objects_a_select_reads(research, which):
    store, as_of = research.store, _as_of(research, which)
    files = store.files("T", "2024-03-05", "2024-03-06", as_of=as_of)
    history = store.history("T")
    versions = history[history.key.isin(files.key)]
    assert list(files.day) == [dt.date(2024, 3, 5), dt.date(2024, 3, 6)] and len(versions) == 2
    assert files.version.tolist() == ([0, 0] if which == "before" else [1, 0])
    assert all(
        url.startswith(store.backend.url) and url.endswith(key) for url, key in zip(files.url, files.key, strict=True)
    )
    for ranges, encoding, size in zip(files.ranges, files.encoding, files.bytes, strict=True):  # whole days
        assert ranges is None if encoding not in ("arrow", "hdf5-arrow") else 0 < sum(n for _, n in ranges) < size
    readers = {"parquet": lambda data: pq.read_table(io.BytesIO(data)), "arrow": read_arrow_object}
    readers["hdf5-arrow"] = lambda data: read_arrow_object(data[slice(*_payload(data))])
    if set(files.encoding) <= set(readers):  # the objects read by pyarrow alone hold what select returns
        tables = [readers[e](store.backend.get(key)) for key, e in zip(files.key, files.encoding, strict=True)]
        table = pa.concat_tables(tables)
        expected = store.select("T", "2024-03-05", "2024-03-06", as_of=as_of)
        assert table.column("time").to_pylist() == list(expected.index)
        assert table.column("price").to_pylist() == expected.price.tolist()
    assert files.rows.sum() == len(store.select("T", "2024-03-05", "2024-03-06", as_of=as_of))


def test_files_lists_the_byte_ranges_an_hour_of_one_column_reads(store_location, monkeypatch):
    monkeypatch.setattr(arrow, "CHUNK_ROWS", 100)  # days of several chunks, only some in the hour
    url, options = store_location()
    with open_store(url, **options) as store:
        store.insert("T", make_ticks(DAYS[0], 1_000))
        start, end = "2024-03-04T10:00", "2024-03-04T12:00"
        (row,) = store.files("T", start, end, columns=["price"]).itertuples()
        whole = store.files("T").ranges[0]
        assert row.encoding in ("arrow", "hdf5-arrow")
        data = store.backend.get(row.key)
        assert 0 < len(row.ranges) < len(whole) and len(row.ranges) % 2 == 0  # time and price, of fewer chunks
        times, prices = [], []
        for (offset, length), into in zip(row.ranges, [times, prices] * len(row.ranges), strict=False):
            assert store.backend.get_range(row.key, offset, length) == data[offset : offset + length]
            into.append(pa.ipc.open_stream(data[offset : offset + length]).read_all().column(0).combine_chunks())
        at = np.concatenate([np.cumsum(a.to_numpy()) for a in times])  # stored as differences within a chunk
        price = np.concatenate([a.to_numpy() for a in prices])
        selected = (at >= pd.Timestamp(start, tz="UTC").value) & (at <= pd.Timestamp(end, tz="UTC").value)
        expected = store.select("T", start, end, columns=["price"])
        np.testing.assert_array_equal(price[selected], expected.price.to_numpy())


def read_arrow_object(data: bytes) -> pa.Table:
    """A tickstore-arrow object read with json, zlib, numpy and pyarrow only, as docs/format.md shows."""
    magic, length, crc = struct.unpack_from("<8sII", data)
    assert magic == b"TSARROW1" and zlib.crc32(data[16 : 16 + length]) == crc
    header = json.loads(data[16 : 16 + length])
    schema = pa.ipc.read_schema(pa.py_buffer(base64.b64decode(header["schema"])))
    columns: list[list[pa.Array]] = [[] for _ in schema]
    for chunk in header["chunks"]:
        for i, (offset, size, part_crc, *transform) in enumerate(chunk["parts"]):
            body = data[offset : offset + size]
            assert zlib.crc32(body) == part_crc
            array = pa.ipc.open_stream(body).read_all().column(0).combine_chunks()
            if transform == ["delta"]:  # 64-bit values stored as differences
                values = np.cumsum(array.to_numpy())
                array = pa.Array.from_buffers(schema.field(i).type, len(values), [None, pa.py_buffer(values)])
            elif transform == ["dict"]:  # strings stored dictionary-encoded
                array = array.cast(schema.field(i).type)
            columns[i].append(array)
    return pa.Table.from_arrays(
        [pa.chunked_array(c, f.type) for c, f in zip(columns, schema, strict=True)], schema=schema
    )


def _payload(data: bytes) -> tuple[int, int]:
    """Where a tickstore-hdf5 2 file holds its tickstore-arrow object: ``payload=OFFSET+LENGTH``."""
    offset, length = re.search(rb" payload=(\d+)\+(\d+)\n", data[:512]).groups()
    return int(offset), int(offset) + int(length)


def test_missing_optional_packages_say_which_extra_to_install(research, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "polars", None)
    monkeypatch.setitem(sys.modules, "duckdb", None)
    with pytest.raises(MissingDependencyError, match=r"tickstore\[polars\]"):
        research.store.select("T", output="polars")
    with pytest.raises(MissingDependencyError, match=r"tickstore\[sql\]"):
        research.store.sql("SELECT 1")


def test_asof_join_carries_a_quote_from_days_without_the_columns_asked_for(tmp_path):
    with open_store(tmp_path / "s") as store:
        store.insert("T", make_ticks(DAYS[1], 20, seed=1))
        store.insert("Q", _quotes(DAYS[0], 10, seed=2).drop(columns=["ask"]))  # no ask yet on the 4th
        store.insert("Q", _quotes(DAYS[1], 10, seed=3).iloc[5:])  # the 5th's quotes start late
        joined = store.asof_join("T", "Q", "2024-03-05", "2024-03-05", on_columns=["bid", "ask"])
        quotes = store.select("Q")
        expected = pd.merge_asof(store.select("T"), quotes[["bid", "ask"]], left_index=True, right_index=True)
        pd.testing.assert_frame_equal(joined, expected)
        assert joined.bid.iloc[0] == quotes.bid.loc["2024-03-04"].iloc[-1] and pd.isna(joined.ask.iloc[0])


@pytest.mark.parametrize("tz", ["UTC", "America/New_York"])
def test_asof_join_into_pandas_keeps_every_kind_of_right_column_as_merge_asof_does(store_location, tz):
    """Integers (becoming floats where no quote precedes), strings, categoricals, booleans, nullable
    integers and a column clashing with the left's, each with the dtype the right symbol's select gives."""
    url, options = store_location()
    with open_store(url, tz=tz, **options) as store:
        for i, day in enumerate(DAYS[:3]):
            store.insert("T", make_ticks(day, 400, seed=i))
            quotes = _quotes(day, 300, seed=10 + i)
            rng = np.random.default_rng(i)
            quotes["level"] = rng.integers(1, 10, len(quotes)).astype("int64")
            quotes["venue"] = pd.array(rng.choice(["X", "YY"], len(quotes)), dtype="str")
            quotes["kind"] = pd.Categorical(rng.choice(["a", "b"], len(quotes)))
            quotes["firm"] = rng.random(len(quotes)) < 0.5
            quotes["depth"] = pd.array(rng.integers(0, 5, len(quotes)), dtype="Int64")
            store.insert("Q", quotes.iloc[40:] if i == 0 else quotes)  # the first trades precede every quote
        start, end = f"{DAYS[0]} 00:00", f"{DAYS[2]} 15:00"
        trades, quotes = store.select("T", start, end), store.select("Q", None, end)
        for tolerance in (None, "10min"):
            joined = store.asof_join("T", "Q", start, end, tolerance=tolerance)
            expected = pd.merge_asof(
                trades,
                quotes.rename(columns={"size": "size_right"}),
                left_index=True,
                right_index=True,
                tolerance=None if tolerance is None else pd.Timedelta(tolerance),
            )
            pd.testing.assert_frame_equal(joined, expected)
            assert joined.level.isna().any() and joined.dtypes["level"] == np.float64
            arrow_joined = store.asof_join("T", "Q", start, end, tolerance=tolerance, output="arrow")
            assert arrow_joined.num_rows == len(joined)
            np.testing.assert_array_equal(arrow_joined.column("bid").to_numpy(zero_copy_only=False), joined.bid)
        inside = store.asof_join("T", "Q", f"{DAYS[1]} 01:00", f"{DAYS[1]} 02:00", on_columns=["level"])
        assert inside.level.dtype == np.int64 and len(inside)  # a quote precedes every trade: no missing
        inside.loc[inside.index[0], "level"] = -1  # the caller's own memory
