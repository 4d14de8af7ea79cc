"""Column types that change between days (issue 10, point 9): one policy on every backend.

Promotable changes (categorical/string, int/float, int widths, time zones, timestamp units, all-null
columns) unify on read; the others are refused at insert with a SchemaError before anything is
written. Indexes without recorded types (tickstore 0.1) and as-of history fall back to a SchemaError
at read, never a raw Arrow error.
"""

from __future__ import annotations

import decimal
import itertools
import json
import time

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import tickstore_core as ts
from tickstore_core.errors import SchemaError
from tickstore_core.index import SymbolIndex
from tickstore_core.schema import common_type, parse_type, type_code

DAY1 = pd.date_range("2024-01-02 10:00", periods=2, freq="h", tz="UTC")
DAY2 = DAY1 + pd.Timedelta(days=1)
MANY = [f"c{i}" for i in range(200)]  # more than 127 categories: int16 codes

STRINGS = str(pd.Series(["a"]).dtype)  # what this pandas makes of strings: "str" in pandas 3, "object" in 2.2
PROMOTABLE = {
    "categorical to string": (pd.Categorical(["a", "b"]), ["c", "d"], STRINGS, ["a", "b", "c", "d"]),
    "string to categorical": (["c", "d"], pd.Categorical(["a", "b"]), STRINGS, ["c", "d", "a", "b"]),
    "categorical, more categories": (
        pd.Categorical(["a", "b"]),
        pd.Categorical(["c7", "c150"], categories=MANY),
        "category",
        ["a", "b", "c7", "c150"],
    ),
    "int to float": ([1, 2], [1.5, 2.5], "float64", [1.0, 2.0, 1.5, 2.5]),
    "int8 to int64": (np.array([1, 2], dtype="int8"), [10**10, 3], "int64", [1, 2, 10**10, 3]),
    "uint8 to int16": (np.array([1, 255], dtype="uint8"), np.array([-1, 3], dtype="int16"), "int16", [1, 255, -1, 3]),
    "nullable Int64 to float": (pd.array([1, None], dtype="Int64"), [1.5, 2.5], "float64", [1.0, None, 1.5, 2.5]),
    "all missing to int": ([None, None], [1, 2], "Int64", [None, None, 1, 2]),  # exact, not float64
    "time zone changes": (
        pd.to_datetime(["2024-06-01 12:00", "2024-06-02 12:00"]).tz_localize("Europe/London"),
        pd.to_datetime(["2024-06-03 12:00", "2024-06-04 12:00"]).tz_localize("America/New_York"),
        "datetime64[ns, Europe/London]",
        list(
            pd.to_datetime(["2024-06-01 11:00", "2024-06-02 11:00", "2024-06-03 16:00", "2024-06-04 16:00"], utc=True)
        ),
    ),
    "timestamp units": (
        pd.to_datetime(["2024-06-01", "2024-06-02"]).as_unit("s"),
        pd.DatetimeIndex([pd.Timestamp("2024-06-03") + pd.Timedelta(1, "ns"), pd.Timestamp("2024-06-04")]),
        "datetime64[ns]",
        [
            pd.Timestamp("2024-06-01"),
            pd.Timestamp("2024-06-02"),
            pd.Timestamp("2024-06-03") + pd.Timedelta(1, "ns"),
            pd.Timestamp("2024-06-04"),
        ],
    ),
}

CONFLICTING = {
    "string to int": (["a", "b"], [1, 2], "int64"),
    "bool to string": ([True, False], ["a", "b"], "string"),
    "int to decimal": ([1, 2], [decimal.Decimal("1.5"), decimal.Decimal("2")], "decimal128"),
    "naive to aware timestamps": (
        pd.to_datetime(["2024-06-01", "2024-06-02"]),
        pd.to_datetime(["2024-06-01", "2024-06-02"]).tz_localize("UTC"),
        "tz=UTC",
    ),
}


def _frame(values, index) -> pd.DataFrame:
    return pd.DataFrame({"x": values, "y": [1.0, 2.0]}, index=index)


def _same(actual: list, expected: list) -> None:
    assert len(actual) == len(expected)
    for a, e in zip(actual, expected, strict=True):
        assert (pd.isna(a) and pd.isna(e)) if e is None else a == e, (actual, expected)


@pytest.mark.parametrize("case", list(PROMOTABLE))
def test_promotable_type_changes_unify_on_read(store_location, case):
    first, second, dtype, expected = PROMOTABLE[case]
    url, options = store_location()
    with ts.open_store(url, **options) as store:
        store.insert("A", _frame(first, DAY1))
        store.insert("A", _frame(second, DAY2))
        both = store.select("A")
        assert str(both["x"].dtype) == dtype
        _same(list(both["x"]), expected)
        assert list(both["y"]) == [1.0, 2.0, 1.0, 2.0]
        _same(list(store.select("A", columns="x")["x"]), expected)
        # each day alone keeps its own type
        assert len(store.select("A", DAY1[0], DAY1[-1])) == 2


@pytest.mark.parametrize("case", list(CONFLICTING))
def test_a_conflicting_type_is_refused_before_anything_is_written(store_location, case):
    first, second, shown = CONFLICTING[case]
    url, options = store_location()
    with ts.open_store(url, **options) as store:
        store.insert("A", _frame(first, DAY1))
        keys = [meta.key for meta in store.backend.list("")]
        if case == "int to decimal" and store.codec.name == "hdf5":
            with pytest.raises(ts.InvalidTicksError, match="cannot keep"):  # HDF5 stores no decimals at all
                store.insert("A", _frame(second, DAY2))
            return
        with pytest.raises(SchemaError, match=r"column 'x' is .*" + shown + r".* on 2024-01-02") as caught:
            store.insert("A", _frame(second, DAY2))
        assert "2024-01-03" in str(caught.value) and "nothing was written" in str(caught.value)
        assert [meta.key for meta in store.backend.list("")] == keys
        assert store.days("A") == [DAY1[0].date()]
        assert list(store.select("A")["x"]) == list(first)


def test_a_correction_may_change_the_type_of_its_own_day(store_location):
    url, options = store_location()
    with ts.open_store(url, **options) as store:
        store.insert("A", _frame([1, 2], DAY1))
        before = pd.Timestamp.now(tz="UTC")
        store.insert("A", _frame(["a", "b"], DAY1), day=DAY1[0].date())  # replaces the day: nothing to combine
        assert list(store.select("A")["x"]) == ["a", "b"]
        assert list(store.select("A", as_of=before)["x"]) == [1, 2]
        # every day of one insert changes together
        store.insert("A", _frame(["c", "d"], DAY2))
        store.insert("A", pd.concat([_frame([True, False], DAY1), _frame([True, True], DAY2)]))
        assert list(store.select("A")["x"]) == [True, False, True, True]


def test_as_of_history_whose_types_conflict_raises_a_schema_error(store_location):
    url, options = store_location()
    with ts.open_store(url, **options) as store:
        store.insert("A", _frame([1, 2], DAY2))
        then = pd.Timestamp.now(tz="UTC")
        time.sleep(0.01)
        store.insert("A", _frame(["a", "b"], DAY2), day=DAY2[0].date())
        # a replayed first version of another day, known since `then`, when DAY2 still held ints
        store.insert("A", _frame(["c", "d"], DAY1), day=ts.BiTimestamp(DAY1[0].date(), as_of=then))
        assert list(store.select("A")["x"]) == ["c", "d", "a", "b"]
        with pytest.raises(SchemaError, match=r"column 'x' has types no select can combine") as caught:
            store.select("A", as_of=then)
        message = str(caught.value)
        assert "2024-01-02" in message and "2024-01-03" in message and "int64" in message
        assert list(store.select("A", DAY2[0], DAY2[-1], as_of=then)["x"]) == [1, 2]
        assert list(store.select("A", as_of=then, columns="y")["y"]) == [1.0, 2.0, 1.0, 2.0]


def _forget_types(store: ts.Tickstore, symbol: str) -> None:
    """Rewrite the symbol's index as tickstore 0.1 wrote it: no column types."""
    key = store.layout.index_key(symbol)
    document = json.loads(store.backend.get(key))
    assert document.pop("column_types")
    store.backend.put(key, json.dumps(document).encode(), mode="overwrite")
    store.flush()


def test_an_index_without_types_still_loads_and_conflicts_surface_at_read(store_location):
    url, options = store_location()
    with ts.open_store(url, **options) as store:
        store.insert("A", _frame([1, 2], DAY1))
        store.insert("C", _frame(pd.Categorical(["a", "b"]), DAY1))
        _forget_types(store, "A")
        _forget_types(store, "C")
        assert all(v.types is None for v in store.engine.index("A"))
        store.insert("A", _frame(["a", "b"], DAY2))  # the old day's type is unknown: accepted
        store.insert("C", _frame(["c", "d"], DAY2))
        with pytest.raises(SchemaError, match=r"int64 on 2024-01-02; .*string on 2024-01-03"):
            store.select("A")
        assert list(store.select("A", DAY2[0], DAY2[-1])["x"]) == ["a", "b"]
        assert list(store.select("C")["x"]) == ["a", "b", "c", "d"]  # promotable: unified
        assert store.history("A")["version"].tolist() == [0, 0]


def test_to_dask_unifies_like_select(store_location):
    pytest.importorskip("dask.dataframe")
    url, options = store_location()
    with ts.open_store(url, **options) as store:
        for symbol, (first, second, *_) in [
            ("C", PROMOTABLE["categorical to string"]),
            ("T", PROMOTABLE["time zone changes"]),
        ]:
            store.insert(symbol, _frame(first, DAY1))
            store.insert(symbol, _frame(second, DAY2))
            computed = store.to_dask(symbol).compute()
            pd.testing.assert_frame_equal(computed, store.select(symbol), check_dtype=False)
        store.insert("A", _frame([1, 2], DAY1))
        _forget_types(store, "A")
        store.insert("A", _frame(["a", "b"], DAY2))
        with pytest.raises(SchemaError):
            store.select("A")


SAMPLES = {
    "null": pa.array([None, None], pa.null()),
    "bool": pa.array([True, False]),
    "int8": pa.array([-1, 2], pa.int8()),
    "uint8": pa.array([1, 255], pa.uint8()),
    "int32": pa.array([-(2**31), 5], pa.int32()),
    "uint64": pa.array([2**64 - 1, 0], pa.uint64()),
    "int64": pa.array([-(2**40), 1], pa.int64()),
    "float32": pa.array([1.5, -2.0], pa.float32()),
    "double": pa.array([1.5, -2.0]),
    "string": pa.array(["a", "b"]),
    "large_string": pa.array(["c", "d"], pa.large_string()),
    "categorical": pa.array(["a", "b"]).dictionary_encode(),
    "categorical16": pa.array(["e", "f"]).dictionary_encode().cast(pa.dictionary(pa.int16(), pa.large_string())),
    "timestamp s": pa.array([0, 10**9], pa.timestamp("s")),
    "timestamp ns utc": pa.array([0, 1], pa.timestamp("ns", "UTC")),
    "timestamp us ny": pa.array([0, 1], pa.timestamp("us", "America/New_York")),
    "duration ms": pa.array([1, 2], pa.duration("ms")),
    "decimal": pa.array([decimal.Decimal("1.25"), decimal.Decimal("-3.5")], pa.decimal128(5, 2)),
    "decimal wide": pa.array([decimal.Decimal("123456.1")], pa.decimal128(10, 1)),
    "date": pa.array([0, 1], pa.date32()),
}


@pytest.mark.parametrize(("a", "b"), list(itertools.product(SAMPLES, repeat=2)))
def test_promotions_are_symmetric_parseable_and_keep_every_value(a, b):
    first, other = SAMPLES[a], SAMPLES[b]
    for t in (first.type, other.type):
        assert parse_type(type_code(t)) == t
    target = common_type(first.type, other.type)
    assert (target is None) == (common_type(other.type, first.type) is None)
    if target is None:
        return
    for values in (first, other):
        cast = _cast(values, target)
        if pa.types.is_null(values.type):
            assert cast.null_count == len(values)
        elif pa.types.is_timestamp(target) or pa.types.is_duration(target):
            scale = _UNIT_NS[values.type.unit] // _UNIT_NS[target.unit]
            assert cast.cast(pa.int64()).to_pylist() == [v * scale for v in values.cast(pa.int64()).to_pylist()]
        elif pa.types.is_floating(target):  # documented: like pandas, integers beyond 2**53 are rounded
            assert cast.to_pylist() == [float(v) for v in values.to_pylist()]
        elif pa.types.is_dictionary(target):
            assert cast.cast(pa.string()).to_pylist() == values.cast(pa.string()).to_pylist()
        else:
            assert cast.to_pylist() == values.to_pylist()


_UNIT_NS = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}


def _cast(values: pa.Array, target: pa.DataType) -> pa.Array:
    from tickstore_core.schema import _cast_columns

    table, _ = _cast_columns(pa.table({"x": values}), {"x": target}, "day")
    return table.column("x").combine_chunks()


def test_an_old_index_document_loads_and_a_new_one_stays_readable_by_0_1():
    version = ts.Version(
        day=DAY1[0].date(),
        version=0,
        key="k",
        start_time=0,
        end_time=1,
        recorded_at=0,
        rows=2,
        bytes=10,
        min_time=0,
        max_time=1,
        columns=("x",),
        schema="s",
        checksum="c",
        types=("int64",),
        encoding="arrow",
    )
    data = SymbolIndex("A", [version]).to_bytes()
    document = json.loads(data)
    assert document["format"] == "tickstore-index/1"  # nothing of 0.2's lifecycle used: 0.1 reads it
    lifecycle = {"types", "segments", "kind", "metadata", "encoding"}  # kept beside, or absent unless used
    assert set(document["versions"][0]) == set(ts.Version.__dataclass_fields__) - lifecycle  # what 0.1 reads
    assert document["encodings"] == ["arrow"]
    assert SymbolIndex.from_bytes(data, where="x") == SymbolIndex("A", [version])
    del document["column_types"], document["encodings"]
    (old,) = SymbolIndex.from_bytes(json.dumps(document).encode(), where="x")
    assert old.types is None and old.encoding is None


def test_an_empty_range_whose_nearest_object_cannot_be_read_takes_its_types_from_the_index():
    """Offline without the object (or with it gone), an empty select still has the recorded columns and types."""
    with ts.open_store("memory://empty-types", cache=False) as store:
        ticks = pd.DataFrame(
            {"price": [1.5, 2.5], "size": np.array([1, 2], dtype="int32"), "side": pd.Categorical(["b", "s"])},
            index=DAY1.rename("time"),
        )
        (version,) = store.insert("E", ticks)
        full = store.select("E", output="arrow")
        store.backend.delete(version.key)
        empty = store.select("E", DAY2[0], DAY2[-1], output="arrow")
        assert empty.num_rows == 0 and empty.schema.names == full.schema.names
        assert empty.schema.types == full.schema.types
        assert list(store.select("E", DAY2[0], DAY2[-1], columns=["size", "nope"]).columns) == ["size", "nope"]
