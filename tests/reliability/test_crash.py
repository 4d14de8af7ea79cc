"""Writers killed with SIGKILL in the middle of an insert, on every backend other processes can reach.

A child process opens the store, arms a kill point and inserts; the kill point sends the child
SIGKILL at an exact moment of the commit protocol:

``before_upload``   when it is about to write the first data object;
``mid_upload``      half-way through writing a data object (half the HTTP body sent; on local disk,
                    the temporary file written and fsynced but not renamed into place);
``after_upload``    with every data object written, as it is about to commit the index;
``mid_commit``      half-way through writing the index (as for ``mid_upload``);
``after_commit``    right after the index was written, before ``insert`` returns.

Afterwards the store must open, every committed version must read back exactly as inserted as
of its transaction time (the killed insert all or nothing, over both of its days), ``gc`` with
no grace period must remove whatever the writer left behind, ``fsck`` must be clean, and the
next insert must be numbered right after the last committed version.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import random
import signal
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from crashing import arm

from tickstore_core import open_store
from tickstore_core.maintenance import find_orphans, fsck, gc
from tickstore_core.store import Tickstore
from tickstore_core.testing import make_ticks

SYMBOL = "CRASH"
D1, D2 = dt.date(2024, 3, 4), dt.date(2024, 3, 5)
ROWS = 300
NO_GRACE = dt.timedelta(0)
Insert = tuple[str, int, tuple[dt.date, ...]]  # symbol, seed, days

COMMITTED: list[Insert] = [(SYMBOL, 1, (D1, D2)), (SYMBOL, 2, (D1,))]
"""Inserted before the writer is started, so the killed insert replaces versions (If-Match commits)."""

# kill point -> (whether the killed insert is committed, how many orphan objects it may leave)
POINTS: dict[str, tuple[bool, set[int]]] = {
    "before_upload": (False, {0}),
    "mid_upload": (False, {0, 1}),  # on object stores the other day's upload may have finished
    "after_upload": (False, {2}),
    "mid_commit": (False, {2}),
    "after_commit": (True, {0}),
}


def ticks(seed: int, days: tuple[dt.date, ...]) -> pd.DataFrame:
    """The frame of one insert: ROWS ticks on each day, trade ids telling the seed (``id // 1e6``)."""
    return pd.concat([make_ticks(day, ROWS, seed=seed) for day in days])


# --- the child ---------------------------------------------------------------------------------


def _writer(url: str, options: dict[str, Any], cache_dir: str, point: str, insert: Insert) -> None:
    with open_store(url, cache_dir=cache_dir, **options) as store:
        symbol, seed, days = insert
        arm(store, symbol, point)
        store.insert(symbol, ticks(seed, days))
    raise SystemExit(f"the kill point {point} was never reached")


def _looping_writer(url: str, options: dict[str, Any], cache_dir: str, ready: Any) -> None:
    with open_store(url, cache_dir=cache_dir, **options) as store:
        for seed in range(1, 10_000):
            store.insert(SYMBOL, ticks(seed, (D1, D2)))
            ready.set()


# --- checks ------------------------------------------------------------------------------------


def _day_range(day: dt.date) -> tuple[pd.Timestamp, pd.Timestamp]:
    start = pd.Timestamp(day, tz="UTC")
    return start, start + pd.Timedelta(days=1) - pd.Timedelta(1, "ns")


def check_history(store: Tickstore, inserts: list[Insert]) -> None:
    """Each symbol's history is exactly ``inserts``, in order, and each version reads back as inserted."""
    store.flush()
    for symbol in sorted({s for s, _, _ in inserts}):
        history = store.history(symbol)
        for day in sorted({d for s, _, days in inserts if s == symbol for d in days}):
            seeds = [seed for s, seed, days in inserts if s == symbol and day in days]
            versions = history[history["day"] == day]
            assert versions["version"].tolist() == list(range(len(seeds))), f"{symbol} {day}"
            assert versions["current"].tolist() == [False] * (len(seeds) - 1) + [True]
            for row, seed in zip(versions.itertuples(), seeds, strict=True):
                as_of = row.start_time if row.version else row.end_time - pd.Timedelta(1, "ns")
                got = store.select(symbol, *_day_range(day), as_of=as_of)
                pd.testing.assert_frame_equal(got, make_ticks(day, ROWS, seed=seed), check_freq=False)
        assert history["key"].is_unique


def check_recovered(store: Tickstore, inserts: list[Insert], orphans: set[int]) -> None:
    """Committed versions intact, orphans as expected and removed by gc, fsck clean, inserts go on."""
    check_history(store, inserts)
    found = find_orphans(store, NO_GRACE)
    assert len(found) in orphans, [m.key for m in found]
    assert {m.key for m in gc(store, dry_run=False, grace=NO_GRACE)} == {m.key for m in found}
    report = fsck(store, deep=True, grace=NO_GRACE)
    assert report.ok and not report.orphans, report.problems
    check_history(store, inserts)
    after: Insert = (SYMBOL, 9, (D1, D2))
    store.insert(SYMBOL, ticks(9, (D1, D2)))
    check_history(store, [*inserts, after])
    assert fsck(store, deep=True, grace=NO_GRACE).ok


def processes() -> Any:
    """Children forked from a server that imported everything once: 15 ms to start one, not 700."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__, "tickstore_hdf5", "tickstore_s3", "tickstore_azure"])
    return context


def run_child(target: Any, *args: Any) -> multiprocessing.process.BaseProcess:
    child = processes().Process(target=target, args=args, daemon=True)
    child.start()
    return child


def prepare(url: str, options: dict[str, Any], cache_dir: Path) -> None:
    with open_store(url, cache_dir=str(cache_dir), **options) as store:
        for symbol, seed, days in COMMITTED:
            store.insert(symbol, ticks(seed, days))


# --- the tests ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("point", "new_symbol"), [*((point, False) for point in POINTS), ("mid_commit", True)], ids=[*POINTS, "mid_create"]
)
def test_a_writer_killed_during_an_insert_leaves_a_consistent_store(
    shared_store_location: Any, tmp_path: Path, point: str, new_symbol: bool
) -> None:
    url, options = shared_store_location()
    cache_dir = tmp_path / "cache"
    prepare(url, options, cache_dir)
    killed: Insert = ("FRESH" if new_symbol else SYMBOL, 3, (D1, D2))  # FRESH: the index is created
    child = run_child(_writer, url, options, str(cache_dir), point, killed)
    child.join(timeout=60)
    assert child.exitcode == -signal.SIGKILL, f"the writer did not die at {point}: exit code {child.exitcode}"
    committed, orphans = POINTS[point]
    with open_store(url, cache_dir=str(cache_dir), **options) as store:
        assert store.symbols() == sorted({SYMBOL, killed[0]} if committed else {SYMBOL})
        if new_symbol and store.layout.version_named:
            # a file of a symbol without an index is no proof of an orphan (the original store's files
            # look the same): gc leaves it, and the symbol's first insert overwrites it
            orphans = {0}
        check_recovered(store, [*COMMITTED, killed] if committed else COMMITTED, orphans)
        if new_symbol:
            store.insert(killed[0], ticks(4, killed[2]))
            check_history(store, [*COMMITTED, (SYMBOL, 9, (D1, D2)), (killed[0], 4, killed[2])])


def test_a_writer_killed_at_a_random_moment_leaves_a_consistent_store(
    shared_store_location: Any, tmp_path: Path
) -> None:
    url, options = shared_store_location()
    cache_dir = tmp_path / "cache"
    ready = processes().Event()
    child = run_child(_looping_writer, url, options, str(cache_dir), ready)
    try:
        assert ready.wait(timeout=60), "the writer committed nothing"
        time.sleep(random.uniform(0.05, 0.6))
    finally:
        os.kill(child.pid, signal.SIGKILL)  # type: ignore[arg-type]
        child.join(timeout=30)
    with open_store(url, cache_dir=str(cache_dir), **options) as store:
        history = store.history(SYMBOL)
        committed = len(history[history["day"] == D1])
        assert committed >= 1 and len(history[history["day"] == D2]) == committed  # both days, or neither
        check_recovered(store, [(SYMBOL, seed, (D1, D2)) for seed in range(1, committed + 1)], {0, 1, 2})
