"""Inserts, deletes and selects against the model while the backend fails at random.

Faults are injected at the backend contract: a request refused before it is carried out, a
response lost after it was carried out (the caller cannot know), and a lost response followed by
the SDK's retry of a conditional put (which then fails its precondition). Whatever happens, a
select returns exactly what the model says or raises a TickstoreError, a failed insert is either
wholly committed or not at all and never committed twice, and gc leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import random
import uuid
from collections.abc import Callable
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tickstore_core import open_store
from tickstore_core.errors import BackendError, ObjectExistsError, PreconditionFailedError, TickstoreError
from tickstore_core.maintenance import fsck, gc
from tickstore_core.testing import make_ticks
from tickstore_core.testing.model import BitemporalModel

DAYS = [dt.date(2024, 3, 4), dt.date(2024, 3, 5)]
pytestmark = pytest.mark.filterwarnings("ignore::tickstore_core.errors.OfflineWarning")  # selects, when HEAD fails
FAULTS = ["refused", "lost", "retried"]


class Faults:
    """Makes the store's backend fail at random, at ``rate`` of its requests, reproducibly from ``seed``."""

    def __init__(self, backend: Any, seed: int, rate: float) -> None:
        self.random = random.Random(seed)
        self.rate = rate
        self.on = True
        for verb in ("get", "head", "put", "list", "delete"):
            setattr(backend, verb, self._wrap(verb, getattr(backend, verb)))

    def _wrap(self, verb: str, real: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            fault = "ok"
            if self.on and self.random.random() < self.rate:
                fault = self.random.choice(FAULTS)
            if fault == "refused":
                raise BackendError(f"memory:// {verb}: connection reset (injected)")
            result = real(*args, **kwargs)
            if verb == "list":
                result = list(result)
            if fault == "lost":
                raise BackendError(f"memory:// {verb}: response lost (injected)")
            if fault == "retried" and verb == "put" and kwargs.get("mode", "overwrite") != "overwrite":
                if kwargs["mode"] == "create":
                    raise ObjectExistsError(f"{args[0]} exists (the retry of a put that had succeeded)")
                raise PreconditionFailedError(f"{args[0]} changed (the retry of a put that had succeeded)")
            return result

        return call


def _same(actual: pd.DataFrame, expected: pd.DataFrame) -> None:
    if expected.empty:
        assert actual.empty
    else:
        pd.testing.assert_frame_equal(actual, expected, check_freq=False, check_index_type=False)


operation = st.one_of(
    st.tuples(st.just("insert"), st.sampled_from(DAYS), st.integers(1, 5), st.integers(0, 1000)),
    st.tuples(st.just("delete"), st.sampled_from(DAYS), st.just(0), st.just(0)),
    st.tuples(st.just("select"), st.sampled_from(DAYS), st.just(0), st.just(0)),
)
EVERYTHING = (pd.Timestamp.min.tz_localize("UTC"), pd.Timestamp.max.tz_localize("UTC"))


def _history(store: Any, faults: Faults, day: dt.date) -> pd.DataFrame:
    """The day's versions, read with the faults paused."""
    faults.on = False
    try:
        return store.history("F", day)
    finally:
        faults.on = True


@pytest.mark.parametrize("cache", [False, True], ids=["no-cache", "cache"])
def test_random_faults_never_lose_duplicate_or_corrupt_a_version(cache, tmp_path):
    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(
        operations=st.lists(operation, min_size=1, max_size=10),
        seed=st.integers(0, 2**32),
        rate=st.sampled_from([0.05, 0.2, 0.5]),
    )
    def check(operations: list[tuple[str, dt.date, int, int]], seed: int, rate: float) -> None:
        url = f"memory://fuzz-{uuid.uuid4().hex}"
        options: dict[str, Any] = {"index_ttl": 0}
        if cache:
            options |= {"cache": True, "cache_dir": str(tmp_path / uuid.uuid4().hex)}
        store = open_store(url, **options)
        faults = Faults(store.backend, seed, rate)
        model = BitemporalModel(store.timestamp_column)
        for kind, day, rows, seed in operations:
            if kind == "select":
                try:
                    got = store.select("F")
                except TickstoreError:
                    continue
                _same(got, model.select(*EVERYTHING, None))
                continue
            ticks = make_ticks(day, rows, seed=seed)
            before = len(_history(store, faults, day))
            # at the real transaction time (a retried commit must recognise its own version); a
            # TickstoreError means refused, or done with the answer lost: the history tells which
            with contextlib.suppress(TickstoreError):
                store.insert("F", ticks) if kind == "insert" else store.delete("F", day)
            history = _history(store, faults, day)
            if kind == "insert":
                assert len(history) in (before, before + 1), "an insert was committed twice"
                if len(history) == before + 1:
                    model.insert(day, ticks, history["start_time"].iloc[-1].value)
            elif len(history) and not history["current"].iloc[-1]:
                model.delete(day, history["end_time"].iloc[-1].value)
        faults.on = False
        times = set()
        for day in DAYS:
            history = store.history("F", day)
            assert len(history) == model.versions(day)
            changes = [*history["start_time"][1:], *history["end_time"][history["end_time"].dt.year < 2262]]
            times |= {t.value + delta for t in changes for delta in (-1, 0)}
        for as_of in [None, *sorted(times)]:
            got = store.select("F", as_of=None if as_of is None else pd.Timestamp(as_of, tz="UTC"))
            _same(got, model.select(*EVERYTHING, as_of))
        report = fsck(store, deep=True, grace=dt.timedelta(0))
        assert not report.problems, report
        gc(store, dry_run=False, grace=dt.timedelta(0))
        assert not fsck(store, grace=dt.timedelta(0)).orphans
        store.destroy()

    check()
