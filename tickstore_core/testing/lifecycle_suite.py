"""Conformance tests of the version lifecycle (append, compaction, tags, pruning, metadata) over a backend.

A backend's test class runs them beside `StoreConformance`, whose fixtures (``store``,
``open_new``) they use: ``class TestMyStore(StoreConformance, LifecycleConformance)``.
``lifecycle_examples`` sets how many sequences the model-based test runs.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from typing import Any, cast

import pandas as pd
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from ..config import open_store
from ..errors import InvalidInputError, InvalidTimeError, PrunedError, UnknownTagError
from ..store import Tickstore
from .model import BitemporalModel
from .store_suite import make_ticks

__all__ = ["LifecycleConformance"]

DAY1, DAY2 = dt.date(2024, 3, 4), dt.date(2024, 3, 5)


def _same(actual: pd.DataFrame, expected: pd.DataFrame) -> None:
    """Same ticks in the same order; index names and frequency aside."""
    expected = expected.copy()
    expected.index = pd.DatetimeIndex(expected.index).tz_convert("UTC").as_unit("ns")
    pd.testing.assert_frame_equal(actual, expected, check_names=False, check_freq=False)


def _reopen(store: Tickstore, **options: Any) -> Tickstore:
    url, backend_options = store._test_location  # type: ignore[attr-defined]
    return open_store(url, **backend_options, **options)


class LifecycleConformance:
    """The version lifecycle of `Tickstore`, run over one backend."""

    lifecycle_examples: int = 6

    def test_lifecycle_matches_the_model(self, open_new: Callable[..., Tickstore]) -> None:
        """Sequences of insert/append/delete/compact/tag/untag/prune against the model, selects as of every time."""
        days = [DAY1, DAY2]
        base = pd.Timestamp("2024-06-01", tz="UTC").value
        suite = self

        class Lifecycle(RuleBasedStateMachine):
            def __init__(self) -> None:
                super().__init__()
                self.store = open_new()
                self.store.insert("OTHER", make_ticks(DAY1, 1))  # the store exists: selects read it
                self.model = BitemporalModel(self.store.timestamp_column)
                self.now = base
                self.tagged = 0

            def tick(self) -> pd.Timestamp:
                self.now += 1_000
                return cast(pd.Timestamp, pd.Timestamp(self.now, tz="UTC"))

            @rule(day=st.sampled_from(days), rows=st.integers(0, 4), seed=st.integers(0, 99))
            def insert(self, day: dt.date, rows: int, seed: int) -> None:
                ticks = make_ticks(day, rows, seed=seed)
                self.store.insert("L", ticks, day=day, as_of=self.tick())
                self.model.insert(day, ticks, self.now)

            @rule(day=st.sampled_from(days), rows=st.integers(1, 3), seed=st.integers(0, 99), repeat=st.booleans())
            def append(self, day: dt.date, rows: int, seed: int, repeat: bool) -> None:
                ticks = make_ticks(day, rows, seed=seed + 100)
                current = self.model.state(day, None)
                if repeat and current is not None and len(current):  # same timestamps as ticks already there
                    ticks.index = pd.DatetimeIndex([current.index[0]] * rows, name=ticks.index.name)
                self.store.append("L", ticks, as_of=self.tick(), metadata={"seed": seed})
                self.model.append(day, ticks, self.now)

            @rule(day=st.sampled_from(days))
            def delete(self, day: dt.date) -> None:
                self.store.delete("L", day, as_of=self.tick())
                self.model.delete(day, self.now)

            @rule()
            def compact(self) -> None:
                for version in self.store.compact("L"):
                    assert version.segments is None and version.kind == "compaction"

            @rule()
            def tag(self) -> None:
                self.tagged += 1
                self.store.tag(f"t{self.tagged}", as_of=self.tick())
                self.model.tag(f"t{self.tagged}", self.now)

            @rule()
            def untag(self) -> None:
                if self.model.tags:
                    name = sorted(self.model.tags)[0]
                    self.store.untag(name)
                    self.model.untag(name)

            @rule(back=st.integers(0, 20_000), keep=st.sampled_from([None, 0, 2]))
            def prune(self, back: int, keep: int | None) -> None:
                before = self.now - back
                plans = self.store.prune(
                    before=pd.Timestamp(before, tz="UTC"), keep_versions=keep, dry_run=False, grace=dt.timedelta(0)
                )
                assert sum(len(p.versions) for p in plans) == self.model.prune(before, keep)

            @invariant()
            def selects_agree(self) -> None:
                start = pd.Timestamp(DAY1, tz="UTC")
                end = pd.Timestamp(DAY2, tz="UTC") + pd.Timedelta(hours=23, minutes=59)
                for as_of in [None, base - 1, *range(base + 500, self.now + 1, 1_000)]:
                    stamp = None if as_of is None else pd.Timestamp(as_of, tz="UTC")
                    try:
                        expected = self.model.select(start, end, as_of)
                    except PrunedError:
                        with pytest.raises(PrunedError):
                            self.store.select("L", start, end, as_of=stamp)
                        continue
                    actual = self.store.select("L", start, end, as_of=stamp)
                    if expected.empty:
                        assert actual.empty
                    else:
                        _same(actual, expected)
                for name, when in self.model.tags.items():
                    tagged = self.store.select("L", start, end, as_of=f"tag:{name}")
                    expected = self.model.select(start, end, when)
                    assert len(tagged) == len(expected)
                for day in days:
                    assert len(self.store.history("L", day)) == self.model.versions(day)

            def teardown(self) -> None:
                self.store.destroy()

        run_state_machine_as_test(
            Lifecycle,
            settings=settings(
                max_examples=suite.lifecycle_examples,
                stateful_step_count=10,
                deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
            ),
        )

    def test_append_adds_a_segment_and_as_of_before_does_not_see_it(self, store: Tickstore) -> None:
        ticks = make_ticks(DAY1, 20, seed=1)
        (first,) = store.insert("A", ticks)
        (appended,) = store.append("A", make_ticks(DAY1, 3, seed=2), metadata={"feed": "minute"})
        assert appended.kind == "append" and appended.segments is not None
        assert appended.keys[0] == first.key  # the existing object is reused, not rewritten
        assert appended.user_metadata == {"feed": "minute"}
        _same(store.select("A", as_of=pd.Timestamp(appended.start_time - 1, tz="UTC")), ticks)
        expected = pd.concat([ticks, make_ticks(DAY1, 3, seed=2)]).sort_index(kind="stable")
        _same(store.select("A"), expected)
        history = store.history("A")
        assert list(history["kind"]) == ["insert", "append"]
        assert list(history["segments"]) == [1, 2]
        assert history["metadata"].iloc[1] == {"feed": "minute"}

    def test_concurrent_appenders_lose_nothing(self, store: Tickstore) -> None:
        store.insert("C", make_ticks(DAY1, 5, seed=0))
        writers, each = 4, 3
        errors: list[BaseException] = []

        def append(worker: int) -> None:
            try:
                with _reopen(store) as mine:
                    for i in range(each):
                        mine.append("C", make_ticks(DAY1, 1, seed=1 + worker * 10 + i))
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=append, args=(w,)) for w in range(writers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not errors
        store.refresh()
        assert len(store.select("C")) == 5 + writers * each
        assert len(store.history("C", DAY1)) == 1 + writers * each

    def test_compaction_changes_no_select(self, store: Tickstore) -> None:
        store.insert("K", make_ticks(DAY1, 10, seed=1))
        times = []
        for i in range(4):
            (version,) = store.append("K", make_ticks(DAY1, 2, seed=10 + i))
            times.append(version.start_time)
        before = {t: store.select("K", as_of=pd.Timestamp(t, tz="UTC")) for t in times}
        latest = store.select("K")
        (compacted,) = store.compact()
        assert compacted.kind == "compaction" and compacted.segments is None
        for t, frame in before.items():
            _same(store.select("K", as_of=pd.Timestamp(t, tz="UTC")), frame)
        _same(store.select("K"), latest)
        assert store.history("K")["kind"].iloc[-1] == "compaction"
        assert store.compact() == []  # nothing left to compact

    def test_the_first_append_to_a_later_day_compacts_the_day_before(self, store: Tickstore) -> None:
        store.insert("E", make_ticks(DAY1, 10, seed=1))
        for i in range(3):
            store.append("E", make_ticks(DAY1, 2, seed=20 + i))
        day_one = store.select("E", DAY1, DAY1)
        (started,) = store.append("E", make_ticks(DAY2, 2, seed=30))
        history = store.history("E", DAY1)
        assert history["kind"].iloc[-1] == "compaction" and history["segments"].iloc[-1] == 1
        _same(store.select("E", DAY1, DAY1), day_one)
        (more,) = store.append("E", make_ticks(DAY2, 2, seed=31))  # the current day keeps its segments
        assert more.segments is not None and len(more.segments) == 2 and started.day == more.day == DAY2
        assert list(store.history("E", DAY1)["kind"]).count("compaction") == 1

    def test_tags_pin_the_store_and_prune_keeps_them(self, store: Tickstore) -> None:
        original = make_ticks(DAY1, 10, seed=1)
        store.insert("T", original)
        store.tag("paper", message="section 4")
        store.insert("T", make_ticks(DAY1, 7, seed=2))
        store.insert("T", make_ticks(DAY1, 8, seed=3))
        assert list(store.tags().index) == ["paper"]
        _same(store.select("T", as_of="tag:paper"), original)
        assert store.days("T", as_of="tag:paper") == [DAY1]
        plans = store.prune(dry_run=True)
        assert [len(p.versions) for p in plans] == [1]  # version 1; version 0 is tagged, version 2 current
        assert repr(plans) == f"[PrunePlan(T: 1 version on 1 day, 1 object, {plans[0].bytes:,} bytes)]"
        assert len(store.history("T")) == 3  # a dry run removes nothing
        store.prune(dry_run=False, grace=dt.timedelta(0))
        assert list(store.history("T")["version"]) == [0, 2]
        _same(store.select("T", as_of="tag:paper"), original)
        store.untag("paper")
        with pytest.raises(UnknownTagError):
            store.select("T", as_of="tag:paper")
        with pytest.raises(InvalidInputError):
            store.tag("../bad")
        store.prune(dry_run=False, grace=dt.timedelta(0))
        with pytest.raises(PrunedError, match="pruned"):
            store.select("T", as_of="2020-01-01")  # version 0, valid from the beginning of time, is gone

    def test_metadata_must_be_small_json(self, store: Tickstore) -> None:
        with pytest.raises(InvalidInputError, match="JSON"):
            store.insert("M", make_ticks(DAY1, 2), metadata={"when": dt.date(2024, 1, 1)})
        with pytest.raises(InvalidInputError, match="limit"):
            store.append("M", make_ticks(DAY1, 2), metadata={"blob": "x" * 20_000})
        with pytest.raises(InvalidInputError, match="keys must be strings, got 7 "):
            store.insert("M", make_ticks(DAY1, 2), metadata={"runs": [{"n": 1}, {7: "seven"}]})  # JSON: "7"
        circular: dict[str, object] = {}
        circular["self"] = circular
        with pytest.raises(InvalidInputError, match="JSON"):
            store.append("M", make_ticks(DAY1, 2), metadata=circular)
        store.insert("OTHER", make_ticks(DAY1, 1), metadata={"runs": [{"n": 1}, {"n": None}], "ok": True})
        assert store.symbols() == ["OTHER"]  # nothing of M was written
        assert store.history("OTHER")["metadata"].tolist() == [{"runs": [{"n": 1}, {"n": None}], "ok": True}]

    def test_a_bad_prune_time_is_named_by_its_parameter(self, store: Tickstore) -> None:
        with pytest.raises(InvalidTimeError, match=r"^before='soon' is not a timestamp"):
            store.prune(before="soon")

    def test_a_long_history_is_sealed_into_chunks_and_compacted(self, store: Tickstore) -> None:
        """40 one-tick appends: compaction at 32 segments, old versions sealed out of the index object."""
        states = {}
        for i in range(40):
            (version,) = store.append("H", make_ticks(DAY1, 1, seed=i))
            states[version.start_time] = store.select("H")
        history = store.history("H")
        assert (history["kind"] == "compaction").sum() == 1
        # the version with 32 segments was replaced by its compaction (same validity, one object)
        assert len(history) == 40 and history["segments"].max() == 31 and history["segments"].iloc[-1] == 9
        store.refresh()
        index = store.engine.load_index("H").index
        assert index.chunks and len(index.held) <= 34  # the index object stays small
        for when, expected in states.items():  # every state, read back through the chunks
            _same(store.select("H", as_of=pd.Timestamp(when, tz="UTC")), expected)
