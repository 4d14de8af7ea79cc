"""Appenders, compactions and prunes killed with SIGKILL, on every backend other processes can reach.

A child process opens a prepared store and appends, compacts or prunes; a kill point sends it
SIGKILL at an exact moment of the commit:

``before_commit``  with every object written, as it is about to write the index;
``mid_commit``     half-way through writing the index (half the HTTP body sent; on local disk,
                   the temporary file written but not renamed into place);
``after_commit``   right after the index was written, before the call returns (a prune has not
                   deleted anything yet).

Afterwards the store must open; every select as of every time recorded before must return what
it returned before (the killed change all or nothing: appended ticks either there or not,
compaction and prune invisible to selects at kept times); ``fsck --deep`` must be clean; ``gc``
and the next prune must remove what the child left; and appends must go on.

Also: concurrent appenders in separate processes lose nothing, and a pruner running beside
readers never makes a reader return wrong data (a reader gets the data, or a PrunedError).
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import signal
import threading
import time
from typing import Any

import pandas as pd
import pytest
from crashing import arm

from tickstore_core import open_store
from tickstore_core.errors import PrunedError
from tickstore_core.maintenance import fsck, gc
from tickstore_core.store import Tickstore
from tickstore_core.testing import make_ticks

SYMBOL = "LIFE"
DAY = dt.date(2024, 3, 4)
NO_GRACE = dt.timedelta(0)
POINTS = ["before_commit", "mid_commit", "after_commit"]
OPERATIONS = ["append", "compact", "prune"]


def _child(url: str, options: dict[str, Any], operation: str, point: str) -> None:
    with open_store(url, cache=False, **options) as store:
        arm(store, SYMBOL, point)
        if operation == "append":
            store.append(SYMBOL, make_ticks(DAY, 1, seed=99))
        elif operation == "compact":
            store.compact(SYMBOL)
        else:
            store.prune(dry_run=False, grace=NO_GRACE)
    raise SystemExit(f"the kill point {point} was never reached")


def _appender(url: str, options: dict[str, Any], worker: int, count: int) -> None:
    with open_store(url, cache=False, **options) as store:
        for i in range(count):
            store.append(SYMBOL, make_ticks(DAY, 1, seed=1000 * worker + i))


def processes() -> Any:
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__, "tickstore_hdf5", "tickstore_s3", "tickstore_azure"])
    return context


def prepare(store: Tickstore) -> dict[int, pd.DataFrame]:
    """A day with an insert, a correction, three appends and a tag; every state, by a time it is valid at."""
    states = {}
    for seed in (1, 2):
        (version,) = store.insert(SYMBOL, make_ticks(DAY, 20, seed=seed))
        states[version.start_time] = store.select(SYMBOL)
    store.tag("kept")
    for seed in (3, 4, 5):
        (version,) = store.append(SYMBOL, make_ticks(DAY, 2, seed=seed))
        states[version.start_time] = store.select(SYMBOL)
    return states


@pytest.mark.parametrize("point", POINTS)
@pytest.mark.parametrize("operation", OPERATIONS)
def test_a_lifecycle_change_killed_mid_commit_leaves_a_consistent_store(
    shared_store_location: Any, operation: str, point: str
) -> None:
    url, options = shared_store_location()
    with open_store(url, cache=False, **options) as store:
        states = prepare(store)
        tagged = store.select(SYMBOL, as_of="tag:kept")
        latest = store.select(SYMBOL)
    child = processes().Process(target=_child, args=(url, options, operation, point), daemon=True)
    child.start()
    child.join(timeout=60)
    assert child.exitcode == -signal.SIGKILL, f"the child did not die at {point}: exit code {child.exitcode}"
    committed = point == "after_commit"
    with open_store(url, cache=False, **options) as store:
        history = store.history(SYMBOL)
        current = store.select(SYMBOL)
        if operation == "append" and committed:
            assert len(current) == len(latest) + 1
            assert history["kind"].iloc[-1] == "append"
        else:
            pd.testing.assert_frame_equal(current, latest, check_freq=False)
        if operation == "compact" and committed:
            assert history["kind"].iloc[-1] == "compaction"
        pd.testing.assert_frame_equal(store.select(SYMBOL, as_of="tag:kept"), tagged, check_freq=False)
        pruned = operation == "prune" and committed
        for when, expected in states.items():
            as_of = pd.Timestamp(when, tz="UTC")
            if pruned and expected is not states[max(states)] and not expected.equals(tagged):
                with pytest.raises(PrunedError):
                    store.select(SYMBOL, as_of=as_of)
            else:
                pd.testing.assert_frame_equal(store.select(SYMBOL, as_of=as_of), expected, check_freq=False)
        report = fsck(store, deep=True, grace=NO_GRACE)
        assert report.ok, report.problems
        gc(store, dry_run=False, grace=NO_GRACE)
        store.prune(dry_run=False, grace=NO_GRACE)  # deletes what a killed prune left to delete
        assert fsck(store, deep=True, grace=NO_GRACE).ok
        assert not gc(store, dry_run=True, grace=NO_GRACE)
        store.append(SYMBOL, make_ticks(DAY, 3, seed=7))
        assert len(store.select(SYMBOL)) == len(current) + 3
        pd.testing.assert_frame_equal(store.select(SYMBOL, as_of="tag:kept"), tagged, check_freq=False)


def test_appenders_in_separate_processes_lose_nothing(shared_store_location: Any) -> None:
    url, options = shared_store_location()
    with open_store(url, cache=False, **options) as store:
        store.insert(SYMBOL, make_ticks(DAY, 4, seed=0))
    workers, each = 3, 4
    children = [processes().Process(target=_appender, args=(url, options, w, each)) for w in range(workers)]
    for child in children:
        child.start()
    for child in children:
        child.join(timeout=120)
        assert child.exitcode == 0
    with open_store(url, cache=False, **options) as store:
        ticks = store.select(SYMBOL)
        assert len(ticks) == 4 + workers * each
        appended = {(1000 * w + i) * 1_000_000 for w in range(workers) for i in range(each)}
        assert set(ticks["trade_id"]) == {0, 1, 2, 3} | appended
        assert fsck(store, deep=True, grace=NO_GRACE).ok


def test_a_pruner_beside_readers_never_gives_them_wrong_data(shared_store_location: Any) -> None:
    url, options = shared_store_location()
    with open_store(url, cache=False, **options) as store:
        expected = {}
        for seed in range(1, 6):
            (version,) = store.insert(SYMBOL, make_ticks(DAY, 30, seed=seed))
            expected[version.start_time] = make_ticks(DAY, 30, seed=seed)
    stop = threading.Event()
    outcomes: list[str] = []
    failures: list[BaseException] = []

    def read() -> None:
        with open_store(url, cache=False, index_ttl=0, **options) as reader:
            while not stop.is_set():
                for when, ticks in expected.items():
                    try:
                        got = reader.select(SYMBOL, as_of=pd.Timestamp(when, tz="UTC"))
                    except PrunedError:
                        outcomes.append("pruned")
                        continue
                    except Exception as exc:  # noqa: BLE001 - any other failure is the test's failure
                        failures.append(exc)
                        return
                    try:
                        pd.testing.assert_frame_equal(got, ticks, check_names=False, check_freq=False)
                    except AssertionError as exc:
                        failures.append(exc)
                        return
                    outcomes.append("read")

    readers = [threading.Thread(target=read) for _ in range(2)]
    for thread in readers:
        thread.start()
    time.sleep(0.3)
    with open_store(url, cache=False, **options) as pruner:
        plans = pruner.prune(dry_run=False, grace=NO_GRACE)
    time.sleep(0.3)
    stop.set()
    for thread in readers:
        thread.join(timeout=60)
    assert not failures, failures[0]
    assert sum(len(p.versions) for p in plans) == 4
    assert "read" in outcomes
    with open_store(url, cache=False, **options) as store:
        assert fsck(store, deep=True, grace=NO_GRACE).ok
        pd.testing.assert_frame_equal(
            store.select(SYMBOL), expected[max(expected)], check_names=False, check_freq=False
        )
