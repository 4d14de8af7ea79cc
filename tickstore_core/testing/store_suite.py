"""Conformance tests of the bitemporal store over a backend: the rules of docs/design.md, end to end.

A backend package runs them by subclassing `StoreConformance` (its docstring shows how).
"""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Any, cast

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ..config import open_store
from ..errors import (
    ColumnNotFoundError,
    CorruptObjectError,
    InvalidInputError,
    InvalidSymbolError,
    InvalidTicksError,
    InvalidTimeError,
    StoreClosedError,
    TransactionTimeError,
)
from ..store import Tickstore
from ..times import TIME_MAX, TIME_MIN, BiTimestamp
from .bypass import RawGet, RawPut, required
from .model import BitemporalModel

__all__ = ["StoreConformance", "make_ticks"]

StoreLocation = Callable[[], tuple[str, dict[str, Any]]]
DAY1, DAY2, DAY3 = dt.date(2024, 3, 4), dt.date(2024, 3, 5), dt.date(2024, 3, 6)


def make_ticks(day: dt.date, n: int, *, seed: int = 0, start_hour: int = 0) -> pd.DataFrame:
    """``n`` trades spread over ``day`` (UTC): price, size, side, trade_id; deterministic by seed.

    Parameters
    ----------
    day : datetime.date
        The UTC day the trades fall on.
    n : int
        How many trades.
    seed : int, default 0
        The random seed; the same arguments give the same frame.
    start_hour : int, default 0
        The trades fall between this hour and midnight.

    Returns
    -------
    pandas.DataFrame
        Sorted, indexed by a tz-aware UTC ``time`` index.

    Examples
    --------
    >>> from tickstore_core.testing import make_ticks
    >>> make_ticks(dt.date(2024, 3, 4), 3).columns.tolist()
    ['price', 'size', 'side', 'trade_id']
    """
    rng = np.random.default_rng(seed)
    start = pd.Timestamp(day, tz="UTC") + pd.Timedelta(hours=start_hour)
    span = pd.Timedelta(hours=24 - start_hour).value
    offsets = np.sort(rng.integers(0, span, n))
    ticks: pd.DataFrame = pd.DataFrame(
        {
            "price": np.round(40_000 + rng.normal(0, 50, n).cumsum(), 2),
            "size": rng.exponential(0.5, n),
            "side": rng.choice(["buy", "sell"], n),
            "trade_id": np.arange(n, dtype="int64") + seed * 1_000_000,
        },
        index=pd.DatetimeIndex(start.value + offsets, tz="UTC", name="time"),
    )
    return ticks


def _same(actual: pd.DataFrame, expected: pd.DataFrame) -> None:
    """Same ticks in the same order; index names and frequency aside."""
    assert list(actual.columns) == list(expected.columns)
    assert len(actual) == len(expected)
    if len(expected):
        expected = expected.copy()
        expected.index = pd.DatetimeIndex(expected.index).tz_convert("UTC").as_unit("ns")
        pd.testing.assert_frame_equal(actual, expected, check_names=False, check_freq=False)


class StoreConformance:
    """The bitemporal contract of a whole [`Tickstore`][tickstore_core.Tickstore], run over one backend.

    The design's rules end to end, and a hypothesis test against an in-memory model. Subclass it
    in a test module of the backend package and override these fixtures:

    - ``new_store_location`` (required): ``() -> (url, options)`` of a new, empty store each
      time it is called (the property test opens several);
    - ``raw_get``, ``raw_put``: the bypass hooks (`tickstore_core.testing.bypass`) for the
      ``store`` fixture's objects, without the store or its backend (``store._test_location``
      holds its ``(url, options)``); tests needing a missing hook are skipped.

    Examples
    --------
    In the backend package's ``tests/test_store.py``, run with ``pytest``:

    ```python
    import uuid
    import pytest
    from tickstore_core.testing import StoreConformance

    class TestMyStore(StoreConformance):
        property_examples = 10  # hypothesis examples of the model-based test (default 25)
        @pytest.fixture
        def new_store_location(self, tmp_path):
            return lambda: (f"mystore://{tmp_path}/{uuid.uuid4().hex}", {"timeout": 5})
    ```
    """

    property_examples: int = 25

    @pytest.fixture
    def new_store_location(self) -> StoreLocation:
        raise NotImplementedError("override 'new_store_location' to return (url, options) of a fresh store")

    @pytest.fixture
    def open_new(self, new_store_location: StoreLocation) -> Iterator[Callable[..., Tickstore]]:
        opened: list[Tickstore] = []

        def open_new(**options: Any) -> Tickstore:
            url, backend_options = new_store_location()
            store = open_store(url, **backend_options, **options)
            store._test_location = (url, backend_options)  # type: ignore[attr-defined]
            opened.append(store)
            return store

        yield open_new
        for store in opened:
            store.close()

    @pytest.fixture
    def store(self, open_new: Callable[..., Tickstore]) -> Tickstore:
        return open_new()

    @pytest.fixture
    def raw_get(self, store: Tickstore) -> RawGet | None:
        """Reads a stored object's bytes without the store or its backend; ``None`` skips the raw tests."""
        return None

    @pytest.fixture
    def raw_put(self, store: Tickstore) -> RawPut | None:
        """Stores bytes under a key without the store or its backend; ``None`` skips the raw tests."""
        return None

    @staticmethod
    def reopen(store: Tickstore, **options: Any) -> Tickstore:
        """A second store over the location of ``store`` (opened by ``open_new``); the caller closes it."""
        url, backend_options = store._test_location  # type: ignore[attr-defined]
        return open_store(url, **backend_options, **options)

    # --- round trips -------------------------------------------------------------------------

    def test_insert_then_select_returns_the_ticks(self, store: Tickstore) -> None:
        ticks = make_ticks(DAY1, 500)
        versions = store.insert("BTCUSD", ticks)
        assert [(v.day, v.version, v.rows) for v in versions] == [(DAY1, 0, 500)]
        result = store.select("BTCUSD", DAY1, pd.Timestamp(DAY2) - pd.Timedelta(1))
        _same(result, ticks)
        assert result.index.name == store.timestamp_column
        assert str(cast(pd.DatetimeIndex, result.index).tz) == "UTC"
        assert result.index.dtype == "datetime64[ns, UTC]"

    def test_selected_frames_belong_to_the_caller(self, store: Tickstore) -> None:
        ticks = make_ticks(DAY1, 50)
        store.insert("BTCUSD", ticks.assign(seen=ticks.index))
        for _ in range(2):  # from the backend, then (if the store has one) from the cache
            result = store.select("BTCUSD")
            result.iloc[0, 0] = -1.0
            result.loc[result.index[1], "seen"] = pd.Timestamp("2000-01-01", tz="UTC")
            result["size"] *= 2
            assert result["price"].iloc[0] == -1.0 and result["seen"].iloc[1].year == 2000
        assert store.select("BTCUSD")["price"].iloc[0] == ticks["price"].iloc[0]

    def test_dtypes_survive(self, store: Tickstore) -> None:
        index = pd.date_range(pd.Timestamp(DAY1, tz="UTC"), periods=4, freq="1min")
        ticks = pd.DataFrame(
            {
                "f": [1.5, np.nan, 3.0, 4.0],
                "i": np.array([1, 2, 3, 4], dtype="int32"),
                "b": [True, False, True, False],
                "s": ["a", "bé", None, "d"],
                "cat": pd.Categorical(["x", "y", "x", "y"]),
                "ni": pd.array([1, None, 3, 4], dtype="Int64"),
                "when": pd.date_range("2020-01-01", periods=4, tz="Europe/London"),
            },
            index=index,
        )
        store.insert("DT", ticks)
        result = store.select("DT")
        for column in ticks.columns:
            assert result[column].dtype == ticks[column].dtype, column
        _same(result, ticks)

    def test_select_bounds_are_inclusive_and_cross_days(self, store: Tickstore) -> None:
        ticks = pd.concat([make_ticks(d, 50, seed=i) for i, d in enumerate((DAY1, DAY2, DAY3))])
        store.insert("X", ticks)
        start, end = ticks.index[10], ticks.index[120]
        _same(store.select("X", start, end), ticks.iloc[10:121])
        _same(store.select("X", start=ticks.index[-1]), ticks.iloc[-1:])
        _same(store.select("X", end=ticks.index[0]), ticks.iloc[:1])
        _same(store.select("X"), ticks)

    def test_an_end_given_as_a_date_covers_the_whole_day_like_df_loc(self, store: Tickstore) -> None:
        ticks = pd.concat([make_ticks(d, 50, seed=i) for i, d in enumerate((DAY1, DAY2, DAY3))])
        store.insert("X", ticks)
        for end in (str(DAY2), DAY2):
            _same(store.select("X", str(DAY1), end), ticks.loc[str(DAY1) : str(DAY2)])
        month = f"{DAY1:%Y-%m}"
        _same(store.select("X", month, month), ticks.loc[month:month])
        minute = ticks.index[60].floor("min")
        as_text = f"{minute:%Y-%m-%d %H:%M}"
        _same(store.select("X", as_text, as_text), ticks.loc[as_text:as_text])
        _same(store.select("X", end=minute), ticks.loc[:minute])  # a Timestamp is an instant

    def test_naive_times_are_utc_and_other_zones_are_converted(self, store: Tickstore) -> None:
        ticks = make_ticks(DAY1, 20, start_hour=8)
        naive = ticks.tz_convert(None)
        store.insert("N", naive)
        _same(store.select("N", naive.index[0], naive.index[-1]), ticks)
        tokyo = make_ticks(DAY2, 20, seed=2).tz_convert("Asia/Tokyo")
        store.insert("T", tokyo)
        _same(store.select("T", tokyo.index[0], tokyo.index[-1]), tokyo)

    def test_mixed_offset_index_is_converted_to_utc(self, store: Tickstore) -> None:
        stamps = [pd.Timestamp("2024-03-04 10:00", tz="UTC"), pd.Timestamp("2024-03-04 12:00+02:00")]
        ticks = pd.DataFrame({"price": [1.0, 2.0]}, index=pd.Index(stamps, dtype=object))
        store.insert("MIX", ticks)
        result = store.select("MIX")
        assert list(result.index) == [pd.Timestamp("2024-03-04 10:00", tz="UTC")] * 2
        assert list(result["price"]) == [1.0, 2.0]

    def test_unsorted_input_is_sorted_stably_and_duplicates_kept(self, store: Tickstore) -> None:
        t = pd.Timestamp("2024-03-04 10:00", tz="UTC")
        index = pd.DatetimeIndex([t + pd.Timedelta(seconds=s) for s in (5, 1, 5, 3, 1)])
        ticks = pd.DataFrame({"seq": [0, 1, 2, 3, 4]}, index=index)
        store.insert("U", ticks)
        assert list(store.select("U")["seq"]) == [1, 4, 3, 0, 2]

    def test_schema_may_change_between_days(self, store: Tickstore) -> None:
        first = make_ticks(DAY1, 10)
        second = make_ticks(DAY2, 10, seed=1).drop(columns=["side"]).assign(venue="X")
        store.insert("S", first)
        store.insert("S", second)
        result = store.select("S")
        assert set(result.columns) == {"price", "size", "side", "trade_id", "venue"}
        assert result["side"].iloc[:10].tolist() == first["side"].tolist()
        assert result["side"].iloc[10:].isna().all() and result["venue"].iloc[:10].isna().all()

    def test_columns_limit_what_is_read(self, store: Tickstore) -> None:
        ticks = make_ticks(DAY1, 30)
        store.insert("C", ticks)
        _same(store.select("C", columns=["size", "price"]), ticks[["size", "price"]])
        _same(store.select("C", columns="side"), ticks[["side"]])
        with pytest.raises(ColumnNotFoundError, match="nope"):
            store.select("C", columns=["price", "nope"])

    def test_unknown_symbol_or_empty_range_gives_an_empty_frame(self, store: Tickstore) -> None:
        store.insert("E", make_ticks(DAY1, 5, start_hour=12))  # an existing store; a missing one is an error
        for result in (
            store.select("NEVER"),
            store.select("NEVER", DAY1, DAY2),
        ):
            assert result.empty and isinstance(result.index, pd.DatetimeIndex)
            assert result.index.name == store.timestamp_column and str(result.index.tz) == "UTC"
        assert store.select("E", pd.Timestamp(DAY1), pd.Timestamp(DAY1) + pd.Timedelta(hours=11)).empty
        assert store.select("E", pd.Timestamp(DAY3)).empty
        with pytest.raises(InvalidTimeError):
            store.select("E", DAY2, DAY1)

    def test_an_empty_range_of_a_known_symbol_has_its_columns_and_dtypes(self, store: Tickstore) -> None:
        ticks = make_ticks(DAY2, 5, start_hour=12).assign(level=pd.array([1, None, 3, 4, 5], dtype="Int64"))
        store.insert("E", ticks)
        full, arrow = store.select("E"), store.select("E", output="arrow")
        before = pd.Timestamp.now(tz="UTC")
        store.insert("E", ticks.assign(venue="X"), day=DAY2)  # a correction adds a column
        morning = (pd.Timestamp(DAY2, tz="UTC"), pd.Timestamp(DAY2, tz="UTC") + pd.Timedelta(hours=11))
        # no tick in range: the columns of the day's version, the day before's, the day after's
        for start, end in (morning, (DAY3, DAY3 + dt.timedelta(days=30)), (DAY1 - dt.timedelta(days=3), DAY1)):
            empty = store.select("E", start, end, as_of=before)
            assert empty.empty and dict(empty.dtypes) == dict(full.dtypes), (start, end)
            assert empty.index.dtype == full.index.dtype and empty.index.name == full.index.name
            assert store.select("E", start, end, as_of=before, output="arrow").schema.types == arrow.schema.types
            assert list(store.select("E", start, end).columns) == [*full.columns, "venue"]
            picked = store.select("E", start, end, columns=["level", "price"], as_of=before)
            assert dict(picked.dtypes) == dict(full[["level", "price"]].dtypes)

    # --- versions and transaction time --------------------------------------------------------

    def test_correction_creates_a_version_and_as_of_sees_both(self, store: Tickstore) -> None:
        original, corrected = make_ticks(DAY1, 40), make_ticks(DAY1, 30, seed=9)
        store.insert("BTCUSD", original)
        between = pd.Timestamp.now(tz="UTC")
        (v1,) = store.insert("BTCUSD", corrected, day=DAY1)
        assert v1.version == 1
        _same(store.select("BTCUSD"), corrected)
        _same(store.select("BTCUSD", as_of=between), original)
        _same(store.select("BTCUSD", as_of="1990-01-01"), original)  # the first version: since forever
        history = store.history("BTCUSD", DAY1)
        assert list(history["version"]) == [0, 1]
        assert history["start_time"].iloc[0] == pd.Timestamp(TIME_MIN, tz="UTC")
        assert history["end_time"].iloc[0] == history["start_time"].iloc[1]
        assert history["end_time"].iloc[1] == pd.Timestamp(TIME_MAX, tz="UTC")
        assert list(history["current"]) == [False, True]
        assert list(history["rows"]) == [40, 30]

    def test_delete_ends_the_current_version_only(self, store: Tickstore) -> None:
        ticks = make_ticks(DAY1, 20)
        store.insert("D", ticks)
        store.insert("D", make_ticks(DAY2, 20, seed=1))
        before = pd.Timestamp.now(tz="UTC")
        ended = store.delete("D", DAY1)
        assert ended is not None and ended.version == 0 and not ended.current
        assert store.days("D") == [DAY2]
        assert store.days("D", as_of=before) == [DAY1, DAY2]
        assert store.select("D", DAY1, pd.Timestamp(DAY2) - pd.Timedelta(1)).empty
        _same(store.select("D", DAY1, pd.Timestamp(DAY2) - pd.Timedelta(1), as_of=before), ticks)
        assert store.delete("D", DAY1) is None  # nothing current: no-op
        assert store.delete("D", DAY3) is None
        (again,) = store.insert("D", ticks.iloc[:5])
        assert again.version == 1 and again.start_time > ended.start_time
        _same(store.select("D", DAY1, pd.Timestamp(DAY2) - pd.Timedelta(1)), ticks.iloc[:5])

    def test_explicit_transaction_times(self, store: Tickstore) -> None:
        t1, t2 = pd.Timestamp("2024-03-05 09:00", tz="UTC"), pd.Timestamp("2024-03-06 09:00", tz="UTC")
        a, b = make_ticks(DAY1, 10), make_ticks(DAY1, 12, seed=1)
        store.insert("BT", a, day=BiTimestamp(DAY1, t1))
        store.insert("BT", b, day=BiTimestamp(DAY1, t2))
        _same(store.select("BT", as_of=t2 - pd.Timedelta(1)), a)
        _same(store.select("BT", as_of=t2), b)
        with pytest.raises(TransactionTimeError):
            store.insert("BT", a, day=BiTimestamp(DAY1, t1))
        with pytest.raises(TransactionTimeError):
            store.insert("BT", a, day=BiTimestamp(DAY1, pd.Timestamp.now(tz="UTC") + pd.Timedelta(days=1)))
        with pytest.raises(TransactionTimeError):
            store.delete("BT", BiTimestamp(DAY1, t1))
        assert len(store.history("BT")) == 2
        _same(store.select("BT"), b)

    def test_an_explicit_as_of_on_a_first_version_starts_it_then(self, store: Tickstore) -> None:
        t1, t2, t3 = (pd.Timestamp(f"2024-03-0{d} 09:00", tz="UTC") for d in (5, 6, 7))
        just_before = t1 - pd.Timedelta(1, "ns")
        a, b = make_ticks(DAY1, 10), make_ticks(DAY1, 12, seed=1)
        (first,) = store.insert("FB", a, day=BiTimestamp(DAY1, t1))
        assert first.start_time == t1.value  # not the beginning of time: nobody knew it before t1
        assert store.select("FB", as_of=just_before).empty and store.days("FB", as_of=just_before) == []
        _same(store.select("FB", as_of=t1), a)
        assert store.history("FB")["start_time"].tolist() == [t1]
        (keyword,) = store.insert("FK", a, as_of=t1)  # the plain way to give it
        assert keyword.start_time == t1.value
        (second,) = store.insert("FK", b, as_of=t2)
        assert second.start_time == t2.value
        _same(store.select("FK", as_of=t2 - pd.Timedelta(1, "ns")), a)
        ended = store.delete("FK", DAY1, as_of=t3)
        assert ended is not None and ended.end_time == t3.value
        assert store.select("FK").empty
        _same(store.select("FK", as_of=t3 - pd.Timedelta(1, "ns")), b)
        (plain,) = store.insert("FP", a)  # no explicit time: a backfill, visible to any as-of query
        assert plain.start_time == TIME_MIN
        _same(store.select("FP", as_of=just_before), a)
        with pytest.raises(InvalidInputError, match="differ"):
            store.insert("FX", a, day=BiTimestamp(DAY1, t1), as_of=t2)
        with pytest.raises(TransactionTimeError):
            store.insert("FK", a, as_of=t1)
        assert "FX" not in store.symbols()

    def test_multi_day_insert_commits_every_day_at_one_time(self, store: Tickstore) -> None:
        store.insert("M", make_ticks(DAY1, 5))
        versions = store.insert("M", pd.concat([make_ticks(d, 5, seed=3) for d in (DAY1, DAY2, DAY3)]))
        assert [(v.day, v.version) for v in versions] == [(DAY1, 1), (DAY2, 0), (DAY3, 0)]
        assert versions[0].start_time != TIME_MIN
        assert versions[1].start_time == versions[2].start_time == TIME_MIN
        history = store.history("M")
        assert history.loc[history["day"] == DAY1, "end_time"].iloc[0].value == versions[0].start_time

    def test_empty_frame_with_a_day_records_an_empty_version(self, store: Tickstore) -> None:
        store.insert("Z", make_ticks(DAY1, 5))
        empty = make_ticks(DAY1, 0)
        (version,) = store.insert("Z", empty, day=DAY1)
        assert version.version == 1 and version.rows == 0
        assert store.select("Z").empty and store.days("Z") == []
        with pytest.raises(InvalidTicksError, match="day="):
            store.insert("Z", empty)

    # --- bad input: clear errors, nothing written -----------------------------------------------

    @pytest.mark.parametrize(
        "symbol", ["", "../x", "a/b", "a\\b", "nul\x00", "tab\tsym", "..", ".hidden", "x" * 129, "sp ace"]
    )
    def test_bad_symbols_are_refused_before_anything_is_written(self, store: Tickstore, symbol: str) -> None:
        with pytest.raises(InvalidSymbolError):
            store.insert(symbol, make_ticks(DAY1, 3))
        with pytest.raises(InvalidSymbolError):
            store.select(symbol)
        assert list(store.backend.list("")) == []

    @pytest.mark.parametrize(
        "ticks",
        [
            pd.DataFrame({"price": [1.0]}),  # RangeIndex
            pd.DataFrame({"price": [1.0]}, index=pd.Index(["not a time"])),
            pd.DataFrame({"price": [1.0]}, index=pd.DatetimeIndex([pd.NaT])),
            pd.DataFrame({"time": [1.0]}, index=pd.DatetimeIndex(["2024-03-04"])),  # clashes with index name
            pd.DataFrame({"mixed": [1, "a"]}, index=pd.DatetimeIndex(["2024-03-04", "2024-03-04"])),
            pd.DataFrame([[1.0]], columns=[0], index=pd.DatetimeIndex(["2024-03-04"])),
            "not a frame",
        ],
        ids=[
            "range-index",
            "string-index",
            "nat",
            "column-clash",
            "mixed-object",
            "int-column-name",
            "not-a-frame",
        ],
    )
    def test_bad_ticks_are_refused_before_anything_is_written(self, store: Tickstore, ticks: Any) -> None:
        with pytest.raises(InvalidTicksError):
            store.insert("BAD", ticks)
        assert list(store.backend.list("")) == []

    def test_ticks_spanning_days_with_a_day_given_are_refused(self, store: Tickstore) -> None:
        ticks = pd.concat([make_ticks(DAY1, 3), make_ticks(DAY2, 3, seed=1)])
        with pytest.raises(InvalidTicksError, match=str(DAY2)):
            store.insert("SPAN", ticks, day=DAY1)
        assert list(store.backend.list("")) == []

    # --- several readers and writers -------------------------------------------------------------

    def test_another_store_object_sees_commits(self, store: Tickstore) -> None:
        ticks = make_ticks(DAY1, 10)
        store.insert("O", ticks)
        with self.reopen(store) as other:
            _same(other.select("O"), ticks)
            store.insert("O", ticks.iloc[:3], day=DAY1)
            other.flush()
            _same(other.select("O"), ticks.iloc[:3])
            assert other.symbols() == ["O"]

    def test_concurrent_writers_lose_no_version(self, store: Tickstore) -> None:
        writers, each = 4, 3
        errors: list[BaseException] = []

        def write(w: int) -> None:
            try:
                with self.reopen(store) as mine:
                    for i in range(each):
                        mine.insert("RACE", make_ticks(DAY1, 5, seed=w * 100 + i), day=DAY1)
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not errors, errors
        store.flush()
        history = store.history("RACE")
        assert sorted(history["version"]) == list(range(writers * each))
        assert history["current"].sum() == 1
        starts, ends = history["start_time"].tolist(), history["end_time"].tolist()
        assert all(ends[i] == starts[i + 1] for i in range(len(starts) - 1))

    # --- integrity and lifecycle -------------------------------------------------------------------

    def test_a_damaged_object_is_an_error_never_wrong_data(self, store: Tickstore) -> None:
        (version,) = store.insert("BROKEN", make_ticks(DAY1, 50))
        data = bytearray(store.backend.get(version.key))
        data[len(data) // 2] ^= 0xFF
        store.backend.put(version.key, bytes(data))
        with pytest.raises(CorruptObjectError, match=version.key):
            store.select("BROKEN")

    def test_committed_ticks_are_stored_as_the_backend_reports(self, store: Tickstore, raw_get: RawGet | None) -> None:
        raw_get = required(raw_get, "raw_get")
        versions = store.insert("STORED", pd.concat([make_ticks(DAY1, 40), make_ticks(DAY2, 30, seed=1)]))
        store.flush()
        assert len(versions) == 2
        for version in versions:
            assert raw_get(version.key) == store.backend.get(version.key)
            assert len(raw_get(version.key)) == store.backend.head(version.key).size

    @pytest.mark.parametrize("damage", ["flipped byte", "truncated", "emptied"])
    def test_an_object_damaged_behind_the_store_is_refused(
        self, store: Tickstore, raw_get: RawGet | None, raw_put: RawPut | None, damage: str
    ) -> None:
        raw_get, raw_put = required(raw_get, "raw_get"), required(raw_put, "raw_put")
        (version,) = store.insert("DAMAGED", make_ticks(DAY1, 50))
        data = bytearray(raw_get(version.key))
        if damage == "flipped byte":
            data[len(data) // 2] ^= 0xFF
        elif damage == "truncated":
            del data[len(data) // 2 :]
        else:
            data.clear()
        raw_put(version.key, bytes(data))
        with pytest.raises(CorruptObjectError, match=version.key):
            store.select("DAMAGED")
        with self.reopen(store) as again, pytest.raises(CorruptObjectError, match=version.key):
            again.select("DAMAGED")

    def test_symbols_days_and_destroy(self, store: Tickstore) -> None:
        store.insert("B", pd.concat([make_ticks(DAY1, 3), make_ticks(DAY3, 3, seed=1)]))
        store.insert("A", make_ticks(DAY2, 3))
        assert store.symbols() == ["A", "B"]
        assert store.days("B") == [DAY1, DAY3] and store.days("NONE") == []
        with self.reopen(store) as other:
            other.destroy()
        assert list(store.backend.list("")) == []

    def test_a_closed_store_refuses_work(self, store: Tickstore) -> None:
        store.close()
        store.close()
        calls: list[tuple[str, tuple[Any, ...]]] = [(n, ("X",)) for n in ("select", "history", "bars", "prefetch")]
        calls += [(n, ("X", make_ticks(DAY1, 3))) for n in ("insert", "append")] + [("delete", ("X", DAY1))]
        calls += [("select_many", (["X"],)), ("tag", ("t",)), ("symbols", ()), ("prune", ()), ("compact", ())]
        for name, args in calls:
            with pytest.raises(StoreClosedError, match="closed; open it again"):
                getattr(store, name)(*args)

    # --- the rules as properties: the store answers like the model ----------------------------------

    @pytest.fixture
    def property_settings(self) -> settings:
        return settings(
            max_examples=self.property_examples,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        )

    def test_store_matches_the_model(self, open_new: Callable[..., Tickstore], property_settings: settings) -> None:
        days = [DAY1, DAY2, DAY3]
        base = pd.Timestamp("2024-06-01", tz="UTC").value
        operation = st.one_of(
            st.tuples(st.just("insert"), st.sampled_from(days), st.integers(0, 6), st.integers(0, 10_000)),
            st.tuples(st.just("delete"), st.sampled_from(days), st.just(0), st.just(0)),
        )

        @property_settings
        @given(
            operations=st.lists(st.tuples(operation, st.integers(1, 3)), min_size=1, max_size=8),
            probes=st.lists(
                st.tuples(st.integers(0, 30), st.integers(0, 3), st.integers(0, 3)), min_size=1, max_size=4
            ),
        )
        def check(
            operations: list[tuple[tuple[str, dt.date, int, int], int]], probes: list[tuple[int, int, int]]
        ) -> None:
            store = open_new()
            store.insert("Q", make_ticks(DAY1, 1))  # a store: a delete where there is none writes nothing
            model = BitemporalModel(store.timestamp_column)
            now = base
            times = []
            for (kind, day, rows, seed), step in operations:
                now += step
                times.append(now)
                stamp = BiTimestamp(day, pd.Timestamp(now, tz="UTC"))
                if kind == "insert":
                    ticks = make_ticks(day, rows, seed=seed)
                    stamped = {"day": day, "as_of": pd.Timestamp(now, tz="UTC")} if seed % 2 else {"day": stamp}
                    store.insert("P", ticks, **stamped)  # the as_of keyword and a BiTimestamp mean the same
                    model.insert(day, ticks, now)
                else:
                    store.delete("P", stamp)
                    model.delete(day, now)
            for offset, first, span in probes:
                as_of = None if offset == 30 else base + offset
                start = pd.Timestamp(days[min(first, 2)], tz="UTC") + pd.Timedelta(hours=6 * first)
                end = start + pd.Timedelta(hours=20 * span)
                expected = model.select(start, end, as_of)
                actual = store.select("P", start, end, as_of=None if as_of is None else pd.Timestamp(as_of, tz="UTC"))
                if expected.empty:
                    assert actual.empty
                else:
                    _same(actual, expected)
            for day in days:
                assert len(store.history("P", day)) == model.versions(day)
            store.destroy()

        check()


def unique_name(prefix: str = "t") -> str:
    """A short unique name for a fresh store location."""
    return f"{prefix}{uuid.uuid4().hex[:12]}"
