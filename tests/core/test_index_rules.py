"""The index, the bitemporal rules as pure functions, and key layouts."""

import dataclasses
import datetime as dt
import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tickstore_core.bitemporal import plan_delete, plan_insert
from tickstore_core.errors import CorruptObjectError, TransactionTimeError
from tickstore_core.index import SymbolIndex, Version
from tickstore_core.layout import layout_for
from tickstore_core.times import TIME_MAX, TIME_MIN

DAY = dt.date(2024, 1, 2)


def _new(day=DAY, rows=1):
    return Version(day, -1, f"k/{day}/{rows}", 0, 0, 0, rows, 10, None, None, ("price",), "s", "sha256:x")


def _insert(index, when, day=DAY, explicit=False):
    changed = plan_insert(index, _new(day), wanted=when, explicit=explicit)
    return index.replace(changed), changed[-1]


def test_first_version_is_valid_since_the_beginning_of_time():
    index, first = _insert(SymbolIndex("S"), 1_000)
    assert (first.version, first.start_time, first.end_time) == (0, TIME_MIN, TIME_MAX)
    index, second = _insert(index, 2_000)
    assert (second.version, second.start_time) == (1, 2_000)
    assert index.versions(DAY)[0].end_time == 2_000
    assert [v.version for v in index.lookup(DAY, DAY, 1_999)] == [0]
    assert [v.version for v in index.lookup(DAY, DAY, 2_000)] == [1]
    assert [v.version for v in index.lookup(DAY, DAY, TIME_MIN)] == [0]


def test_delete_ends_the_current_version_and_a_reinsert_starts_later():
    index, _ = _insert(SymbolIndex("S"), 1_000)
    ended = plan_delete(index, DAY, wanted=3_000, explicit=False)
    assert ended is not None and ended.end_time == 3_000
    index = index.replace([ended])
    assert index.lookup(DAY, DAY) == [] and plan_delete(index, DAY, wanted=4_000, explicit=False) is None
    index, again = _insert(index, 2_500)  # clock behind the delete: order is kept
    assert (again.version, again.start_time) == (1, 3_000)


def test_a_slow_clock_never_reorders_versions_but_an_explicit_time_must_be_later():
    index, _ = _insert(SymbolIndex("S"), 1_000)
    index, _ = _insert(index, 5_000)
    index, third = _insert(index, 4_000)
    assert third.start_time == 5_001
    with pytest.raises(TransactionTimeError, match="only moves forward"):
        _insert(index, 5_001, explicit=True)
    with pytest.raises(TransactionTimeError):
        plan_delete(index, DAY, wanted=10, explicit=True)


@given(
    st.lists(
        st.tuples(st.booleans(), st.integers(-5, 50), st.sampled_from([DAY, DAY + dt.timedelta(1)])),
        max_size=30,
    )
)
def test_versions_of_a_day_tile_transaction_time(changes):
    """Whatever happens, each day's versions are numbered 0.. and their intervals never overlap."""
    index = SymbolIndex("S")
    now = 0
    for is_insert, step, day in changes:
        now += step
        if is_insert:
            index, _ = _insert(index, now, day)
        else:
            ended = plan_delete(index, day, wanted=now, explicit=False)
            index = index.replace([ended]) if ended else index
    for day in index.days():
        versions = index.versions(day)
        assert [v.version for v in versions] == list(range(len(versions)))
        assert versions[0].start_time == TIME_MIN
        assert all(v.start_time < v.end_time for v in versions)
        assert all(a.end_time <= b.start_time for a, b in itertools.pairwise(versions))
        assert not any(v.current for v in versions[:-1])


@given(st.sets(st.integers(0, 4000), max_size=200), st.integers(0, 4000), st.integers(0, 4000))
def test_lookup_by_bisection_matches_a_scan(day_numbers, a, b):
    base = dt.date(2015, 1, 1)
    versions = [
        dataclasses.replace(_new(base + dt.timedelta(n)), version=0, start_time=TIME_MIN, end_time=TIME_MAX)
        for n in day_numbers
    ]
    index = SymbolIndex("S", versions)
    first, last = base + dt.timedelta(min(a, b)), base + dt.timedelta(max(a, b))
    assert [v.day for v in index.lookup(first, last)] == sorted(v.day for v in versions if first <= v.day <= last)


@given(
    st.lists(
        st.tuples(st.integers(0, 30), st.integers(0, 3), st.sampled_from([("f8",), ("i8",)]), st.booleans()),
        max_size=40,
    )
)
def test_a_replace_rebuilds_only_touched_days_yet_equals_an_index_built_from_scratch(changes):
    base = dt.date(2020, 1, 1)
    index = SymbolIndex("S")
    for day_number, number, types, ended in changes:
        version = dataclasses.replace(
            _new(base + dt.timedelta(day_number)),
            version=number,
            start_time=TIME_MIN,
            end_time=5 if ended else TIME_MAX,
            types=types,
        )
        dropped = [v for v in index.held if v.day == version.day and v.version > number][:1]
        index = index.replace([version], dropped=dropped)
        scratch = SymbolIndex("S", index.held)
        assert index.days() == scratch.days() == sorted({v.day for v in index.held})
        assert [index.versions(d) for d in index.days()] == [scratch.versions(d) for d in scratch.days()]
        assert index.signatures() == scratch.signatures()
    expected: dict = {}
    for day in index.days():
        latest = index.latest(day)
        if latest is not None and latest.current:
            expected.setdefault((latest.columns, latest.types), []).append(day)
    assert index.signatures() == expected
    assert SymbolIndex.from_bytes(index.to_bytes(), where="test") == index


@given(
    st.lists(
        st.tuples(
            st.integers(0, 400),
            st.integers(0, 3),
            st.booleans(),
            st.sampled_from([None, "arrow", "hdf5-arrow"]),
            st.sampled_from(["insert", "append", "drop day", "seal"]),
        ),
        max_size=60,
    )
)
def test_an_index_written_after_many_commits_is_byte_for_byte_one_written_from_scratch(changes):
    """`to_bytes` reuses the text of every month a commit did not touch; what it writes must not differ."""
    base = dt.date(2023, 11, 20)  # the days span December and a new year
    index = SymbolIndex("S")
    for step, (day_number, number, ended, encoding, action) in enumerate(changes):
        day = base + dt.timedelta(day_number)
        if action == "drop day":
            index = index.replace([], dropped=index.held_on(day))
        else:
            version = dataclasses.replace(
                _new(day),
                version=number,
                start_time=TIME_MIN,
                end_time=5 if ended else TIME_MAX,
                encoding=encoding,
                kind="append" if action == "append" else None,
            )
            index = index.replace([version], dropped=[v for v in index.held_on(day) if v.version > number][:1])
        if action == "seal" and len(index.held) > len(index.days()):
            index, _ = index.seal(f"chunk-{step}")
        scratch = SymbolIndex("S", index.held, chunks=index.chunks)
        assert index.to_bytes() == scratch.to_bytes()
        assert index.needs_seal == scratch.needs_seal
        assert index.days() == scratch.days()


def test_index_round_trips_through_json_and_rejects_garbage():
    index, _ = _insert(SymbolIndex("S"), 1_000)
    index, _ = _insert(index, 2_000, DAY + dt.timedelta(3))
    assert SymbolIndex.from_bytes(index.to_bytes(), where="test") == index
    for garbage in (b"not json", b'{"format": "other/9"}', b'{"format": "tickstore-index/1"}', b"[]"):
        with pytest.raises(CorruptObjectError, match="test"):
            SymbolIndex.from_bytes(garbage, where="test")


@pytest.mark.parametrize(
    ("layout", "expected"),
    [("default", "data/ES=F/2024/01/02/tok.parquet"), ("behemoth", "2024/01/02/ES=F_0007.h5")],
)
def test_layouts_name_and_parse_data_keys(layout, expected):
    chosen = layout_for(layout)
    key = chosen.data_key("ES=F", DAY, 7, "tok", "parquet")
    assert key == expected
    parsed = chosen.parse_data_key(key)
    assert (parsed.symbol, parsed.day) == ("ES=F", DAY)
    assert parsed.version == (7 if layout == "behemoth" else None)
    assert chosen.parse_data_key("2024/02/31/X_0001.h5") is None and chosen.parse_data_key("junk") is None
    assert chosen.symbol_of_index_key(chosen.index_key("ES=F")) == "ES=F"
