"""Filters (the read_parquet DNF convention) equal pandas boolean masks, for any filter hypothesis draws."""

from __future__ import annotations

import operator

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tickstore_core import InvalidInputError, open_store
from tickstore_core.filters import parse_filters

N = 40
TIMES = pd.date_range("2024-03-04", periods=N, freq="37min", tz="UTC", name="time")
COMPARE = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def _ticks(seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    size = rng.integers(0, 5, N).astype(float)
    size[rng.random(N) < 0.2] = np.nan  # missing values: every comparison with them is false
    return pd.DataFrame(
        {
            "qty": rng.integers(-3, 4, N),
            "size": size,
            "side": pd.array(rng.choice(["buy", "sell", "cross"], N), dtype="str"),
            "venue": pd.Categorical(rng.choice(["A", "B"], N)),
        },
        index=TIMES,
    )


VALUES = {
    "qty": st.integers(-4, 4),
    "size": st.sampled_from([0.0, 1.0, 2.5, 4.0]),
    "side": st.sampled_from(["buy", "sell", "cross", "none"]),
    "venue": st.sampled_from(["A", "B", "C"]),
    "time": st.sampled_from(list(TIMES[::7])),
}


@st.composite
def predicates(draw: st.DrawFn) -> tuple[str, str, object]:
    column = draw(st.sampled_from(sorted(VALUES)))
    op = draw(st.sampled_from([*COMPARE, "=", "in", "not in"]))
    if column in ("side", "venue") and op in ("<", "<=", ">", ">="):
        op = "=="
    if op in ("in", "not in"):
        return column, op, draw(st.lists(VALUES[column], max_size=3))
    return column, op, draw(VALUES[column])


def _mask(ticks: pd.DataFrame, predicate: tuple[str, str, object]) -> np.ndarray:
    column, op, value = predicate
    values = pd.Series(ticks.index, index=ticks.index) if column == "time" else ticks[column]
    present = values.notna().to_numpy()
    if op in ("in", "not in"):
        found = values.isin(list(value)).to_numpy()  # type: ignore[call-overload]
        return (found if op == "in" else ~found) & present
    result = COMPARE["==" if op == "=" else op](values.astype(object), value)
    return np.asarray(result, dtype=bool) & present


def _dnf_mask(ticks: pd.DataFrame, groups: list[list[tuple[str, str, object]]]) -> np.ndarray:
    mask = np.zeros(len(ticks), dtype=bool)
    for group in groups:
        part = np.ones(len(ticks), dtype=bool)
        for predicate in group:
            part &= _mask(ticks, predicate)
        mask |= part
    return mask


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 3), groups=st.lists(st.lists(predicates(), min_size=1, max_size=3), min_size=1, max_size=3))
def test_filters_equal_boolean_masks(seed, groups):
    ticks = _ticks(seed)
    table = pa.Table.from_pandas(ticks.reset_index(), preserve_index=False)
    flat = len(groups) == 1 and seed % 2 == 1  # a plain list of tuples is one AND group
    row_filter = parse_filters(groups[0] if flat else groups, "time")
    assert row_filter is not None
    kept = row_filter.apply(table)
    expected = ticks[_dnf_mask(ticks, groups)]
    assert kept.column("time").to_pylist() == list(expected.index)


def test_filters_through_a_store_equal_masks_and_keep_dtypes():
    ticks = _ticks(1)
    with open_store("memory://filters") as store:
        store.insert("X", ticks)
        got = store.select("X", filters=[[("venue", "==", "A"), ("qty", ">", 0)], [("size", "in", [1.0, 2.0])]])
        mask = ((ticks.venue == "A") & (ticks.qty > 0)) | ticks["size"].isin([1.0, 2.0])
        pd.testing.assert_frame_equal(got, store.select("X")[mask.to_numpy()])
        assert isinstance(got.venue.dtype, pd.CategoricalDtype)


@pytest.mark.parametrize(
    "filters, message",
    [
        ("side == buy", "list of"),
        ([], "non-empty"),
        ([("side", "==")], r"\(column, op, value\)"),
        ([(1, "==", 2)], "column name"),
        ([("side", "like", "b%")], "unknown filter operator"),
        ([("size", ">", None)], "missing value"),
        ([("size", ">", [1, 2])], "use 'in'"),
        ([[]], "empty list"),
    ],
)
def test_malformed_filters_are_refused(filters, message):
    with pytest.raises(InvalidInputError, match=message):
        parse_filters(filters, "time")


def test_integers_beyond_64_bits_compare_as_numbers_with_every_column():
    ticks = _ticks(3).assign(small=lambda t: t.qty.astype("int8"), held=lambda t: t.qty.astype("Int64"))
    ticks.loc[ticks.index[::4], "held"] = None  # missing values never pass a comparison
    with open_store("memory://filters-big") as store:
        store.insert("X", ticks)
        below = store.select("X", filters=[("size", "<", 10**30)])  # was a raw OverflowError
        assert len(below) == ticks["size"].notna().sum() > 0  # every number, not the missing ones
        assert store.select("X", filters=[("size", ">", -(10**30)), ("size", ">", 10**30)]).empty
        for column in ("qty", "small", "held"):  # beyond any integer column's values, as 1000 is beyond int8's
            present = int(ticks[column].notna().sum())
            for op, value, rows in (
                ("<", 2**64, present),
                ("<=", 2**70, present),
                ("!=", 2**64, present),
                (">", 2**64, 0),
                ("==", 2**64, 0),
                (">", -(2**64), present),
                ("<", -(2**63) - 1, 0),
            ):
                assert len(store.select("X", filters=[(column, op, value)])) == rows, (column, op, value)
            one = int((ticks[column] == 1).sum())
            assert len(store.select("X", filters=[(column, "in", [1, -(2**63) - 1, 2**64])])) == one
            assert len(store.select("X", filters=[(column, "not in", [1, 2**64])])) == present - one
