"""Hostile input against real stores on every backend: refused with a clear error, nothing written.

The unit-level rules (which symbols, times and frames are valid) are in tests/core/test_inputs.py;
here each refusal goes through a whole store, which must be unchanged afterwards.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from tickstore_core import BiTimestamp, open_store
from tickstore_core.errors import (
    InvalidInputError,
    InvalidSymbolError,
    InvalidTicksError,
    InvalidTimeError,
    InvalidURLError,
    TickstoreError,
    TransactionTimeError,
)
from tickstore_core.testing import make_ticks

DAY = dt.date(2024, 3, 4)
HOSTILE_SYMBOLS = ["..", "../etc/passwd", "a/b", "a\\b", "nul\x00byte", "x" * 10_000, "", " ", "C:evil", "sp ace"]


def objects(store) -> list[str]:
    return sorted(meta.key for meta in store.backend.list(""))


@pytest.fixture
def store(store_location):
    url, options = store_location()
    with open_store(url, **options) as store:
        store.insert("BTCUSD", make_ticks(DAY, 50))
        yield store


@pytest.mark.parametrize("symbol", HOSTILE_SYMBOLS, ids=lambda s: repr(s)[:20])
def test_hostile_symbols_are_refused_by_every_operation_and_write_nothing(store, symbol):
    before = objects(store)
    operations = [
        lambda: store.insert(symbol, make_ticks(DAY, 5)),
        lambda: store.select(symbol),
        lambda: store.delete(symbol, DAY),
        lambda: store.history(symbol),
        lambda: store.days(symbol),
    ]
    for operation in operations:
        with pytest.raises(InvalidSymbolError) as caught:
            operation()
        assert len(str(caught.value)) < 300  # a 10,000-character name is not echoed whole
    assert objects(store) == before


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda s: s.delete("BTCUSD", dt.date(1, 1, 1)), InvalidTimeError),
        (lambda s: s.delete("BTCUSD", "9999-12-31"), InvalidTimeError),
        (lambda s: s.insert("BTCUSD", make_ticks(DAY, 5), day=dt.date(1500, 1, 1)), InvalidTimeError),
        (lambda s: s.select("BTCUSD", "1500-01-01"), InvalidTimeError),
        (lambda s: s.select("BTCUSD", as_of="3000-01-01"), InvalidTimeError),
        (lambda s: s.select("BTCUSD", "2024-03-05", "2024-03-04"), InvalidTimeError),
        (lambda s: s.insert("BTCUSD", make_ticks(DAY, 5), day=dt.date(2024, 3, 5)), InvalidTicksError),
        (lambda s: s.select("BTCUSD", columns=["no_such_column"]), InvalidInputError),
    ],
    ids=[
        "delete-year-1",
        "delete-year-9999",
        "insert-day-1500",
        "select-from-1500",
        "as-of-3000",
        "start-after-end",
        "ticks-outside-day",
        "unknown-column",
    ],
)
def test_out_of_range_times_are_refused_and_write_nothing(store, call, error):
    before, history = objects(store), store.history("BTCUSD")
    with pytest.raises(error):
        call(store)
    assert objects(store) == before
    pd.testing.assert_frame_equal(store.history("BTCUSD"), history)


def test_an_explicit_as_of_cannot_rewrite_what_was_already_known(store):
    store.insert("BTCUSD", make_ticks(DAY, 60, seed=1))  # version 1, from now on
    before, history = objects(store), store.history("BTCUSD")
    with pytest.raises(TransactionTimeError, match="forward"):
        store.insert("BTCUSD", make_ticks(DAY, 5), day=BiTimestamp(DAY, "2000-01-01"))
    assert objects(store) == before
    pd.testing.assert_frame_equal(store.history("BTCUSD"), history)


def test_an_as_of_before_a_plain_first_insert_s_commit_is_refused(store):
    """The first version is valid from the beginning of time but was made at its commit C: an insert,
    delete or append as of before C would change what queries run since C answered."""
    (first,) = store.insert("FRESH", make_ticks(DAY, 60, seed=1))
    made = pd.Timestamp(first.recorded_at, tz="UTC")
    before, history = objects(store), store.history("FRESH")
    for write in (
        lambda: store.insert("FRESH", make_ticks(DAY, 5), day=str(DAY), as_of=made - pd.Timedelta("1s")),
        lambda: store.delete("FRESH", str(DAY), as_of=made - pd.Timedelta("1s")),
        lambda: store.append("FRESH", make_ticks(DAY, 5, seed=2), as_of=made),
    ):
        with pytest.raises(TransactionTimeError, match=r"last change at .*pass a later as_of"):
            write()
    assert objects(store) == before
    pd.testing.assert_frame_equal(store.history("FRESH"), history)
    store.delete("FRESH", str(DAY), as_of=made + pd.Timedelta("1ns"))  # a later one is taken
    assert store.select("FRESH", as_of=made).shape[0] == 60 and store.select("FRESH").empty


def test_mixed_time_zones_mean_the_same_instants_and_naive_mixed_with_aware_is_refused(store):
    instants = [pd.Timestamp("2024-03-05 10:00", tz="UTC"), pd.Timestamp("2024-03-05 12:00", tz="Europe/Berlin")]
    ticks = pd.DataFrame({"price": [1.0, 2.0]}, index=pd.Index(instants, dtype=object))
    store.insert("MIXED", ticks)
    got = store.select("MIXED")
    assert list(got.index) == [pd.Timestamp("2024-03-05 10:00", tz="UTC"), pd.Timestamp("2024-03-05 11:00", tz="UTC")]
    naive_and_aware = pd.Index([pd.Timestamp("2024-03-05 10:00"), pd.Timestamp("2024-03-05 11:00", tz="UTC")])
    with pytest.raises(InvalidTicksError, match="naive"):
        store.insert("MIXED", pd.DataFrame({"price": [1.0, 2.0]}, index=naive_and_aware))
    assert len(store.history("MIXED")) == 1


def test_object_columns_of_strings_round_trip_and_mixed_objects_are_refused(store):
    index = pd.date_range("2024-03-05", periods=3, freq="s", tz="UTC")
    ticks = pd.DataFrame({"side": pd.Series(["buy", None, "sell"], index, dtype=object), "price": [1.0, 2.0, 3.0]})
    store.insert("OBJ", ticks)
    got = store.select("OBJ")
    assert got["side"].tolist()[::2] == ["buy", "sell"] and pd.isna(got["side"].iloc[1])
    with pytest.raises(InvalidTicksError, match="'side'"):
        store.insert("OBJ", ticks.assign(side=pd.Series([{"a": 1}, 2, "x"], index=index, dtype=object)))
    assert len(store.history("OBJ")) == 1


def test_frames_of_zero_rows(store):
    empty = make_ticks(DAY, 0)
    with pytest.raises(InvalidTicksError, match="pass day="):
        store.insert("BTCUSD", empty)
    (version,) = store.insert("BTCUSD", empty, day=DAY)  # an explicit "this day has no ticks"
    assert version.rows == 0
    assert store.select("BTCUSD").empty
    assert len(store.select("BTCUSD", as_of=store.history("BTCUSD")["start_time"].iloc[0])) == 50


def test_a_huge_frame_round_trips_exactly(store):
    rows = 1_000_000
    index = pd.Timestamp(DAY, tz="UTC") + pd.to_timedelta(np.sort(np.random.default_rng(1).integers(0, 86_400e9, rows)))
    ticks = pd.DataFrame({"price": np.random.default_rng(2).random(rows), "size": np.arange(rows)}, index=index)
    ticks.index.name = "time"
    store.insert("HUGE", ticks)
    got = store.select("HUGE")
    assert got.index.equals(ticks.index) and list(got.columns) == ["price", "size"]  # assert_frame_equal: 6 s
    assert np.array_equal(got["price"].to_numpy(), ticks["price"].to_numpy())
    assert np.array_equal(got["size"].to_numpy(), ticks["size"].to_numpy()) and got["size"].dtype == np.int64


@pytest.mark.parametrize(
    "url",
    [
        "s3://AKIAEXAMPLEKEY:SeCrEtKeY123@bucket/db",
        "s3://bucket/db?aws_secret_access_key=SeCrEtKeY123",
        "az://container/db?sig=SeCrEtKeY123",
        "az://container/db?connection_string=AccountKey%3DSeCrEtKeY123",
        "file://user:SeCrEtKeY123@host/db",
    ],
)
def test_credentials_in_a_url_are_refused_and_never_echoed(url):
    with pytest.raises(TickstoreError) as caught:
        open_store(url)
    assert isinstance(caught.value, InvalidURLError)
    assert "SeCrEtKeY123" not in str(caught.value) and "SeCrEtKeY123" not in repr(caught.value)
    assert "SeCrEtKeY123" not in "".join(str(c) for c in _chain(caught.value))


def _chain(exc: BaseException | None):
    while exc is not None:
        yield exc
        exc = exc.__cause__ or exc.__context__


def test_history_as_of_shows_what_the_store_held_then_not_the_later_end(store):
    (first,) = store.insert("HIST", make_ticks(DAY, 5, seed=1))
    then = pd.Timestamp(first.recorded_at, tz="UTC")
    store.insert("HIST", make_ticks(DAY, 6, seed=2))
    store.delete("HIST", str(DAY))
    at_first = store.history("HIST", as_of=then)
    assert at_first["version"].tolist() == [0] and at_first["current"].tolist() == [True]
    assert at_first["end_time"].iloc[0] == pd.Timestamp.max.tz_localize("UTC")
    now = store.history("HIST")
    assert now["current"].tolist() == [False, False]
