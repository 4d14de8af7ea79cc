"""Several processes writing one symbol and day at once, with readers running meanwhile.

Every writer's every version must be committed, numbered 0..N-1 without gaps or duplicates, and
readable as of its commit; a reader must only ever see a complete version.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import pickle
from typing import Any

import pandas as pd
import pytest

from tickstore_core import StoreClosedError, StoreNotFoundError, open_store
from tickstore_core.testing import make_ticks

DAY = dt.date(2024, 3, 4)
ROWS = 40


def _frame(writer: int, n: int) -> pd.DataFrame:
    return make_ticks(DAY, ROWS, seed=writer * 1000 + n)


def _write(url: str, options: dict[str, Any], writer: int, count: int, start: Any) -> list[tuple[int, int, int]]:
    start.wait()
    with open_store(url, **options) as store:
        return [(writer, n, store.insert("RACE", _frame(writer, n), day=DAY)[0].version) for n in range(count)]


def _read(url: str, options: dict[str, Any], stop: Any, start: Any) -> tuple[int, list[str]]:
    """Select over and over; every non-empty result must be exactly one writer's frame."""
    start.wait()
    problems, reads = [], 0
    with open_store(url, index_ttl=0, **options) as store:
        while not stop.is_set() or reads == 0:
            try:
                ticks = store.select("RACE")
            except StoreNotFoundError:  # a read before the first writer created the store
                continue
            reads += 1
            if ticks.empty:
                continue
            writer, n = divmod(int(ticks["trade_id"].iloc[0]) // 1_000_000, 1000)
            if not ticks.equals(_frame(writer, n).rename_axis(ticks.index.name)):
                problems.append(f"read {reads}: not a complete version of writer {writer} insert {n}")
    return reads, problems


@pytest.mark.parametrize("writers,each", [(4, 25)])
def test_concurrent_processes_lose_no_version(shared_store_location, writers, each):
    url, options = shared_store_location()
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager, context.Pool(writers + 1) as pool:
        start, stop = manager.Barrier(writers + 1), manager.Event()
        reader = pool.apply_async(_read, (url, options, stop, start))
        jobs = [pool.apply_async(_write, (url, options, w, each, start)) for w in range(writers)]
        written = [row for job in jobs for row in job.get(timeout=600)]
        stop.set()
        reads, problems = reader.get(timeout=120)
    assert not problems, problems[:5]
    assert reads > 0
    assert sorted(version for _, _, version in written) == list(range(writers * each))
    with open_store(url, **options) as store:
        history = store.history("RACE", DAY)
        assert list(history["version"]) == list(range(writers * each))
        assert history["current"].tolist() == [False] * (writers * each - 1) + [True]
        by_version = {version: (w, n) for w, n, version in written}
        for row in history.itertuples():
            w, n = by_version[row.version]
            as_of = row.start_time if row.version else row.end_time - pd.Timedelta(1)
            assert store.select("RACE", as_of=as_of)["trade_id"].tolist() == _frame(w, n)["trade_id"].tolist()


def _select_in_child(store: Any, symbol: str) -> tuple[int, float, bool]:
    """What a pickled store reads in another process, and whether it closes there on its own."""
    with store:
        ticks = store.select(symbol)
        return len(ticks), float(ticks.price.sum()), store.cache is not None


def test_a_store_pickles_into_a_process_pool_and_reads_there_as_here(shared_store_location):
    url, options = shared_store_location()
    with open_store(url, **options) as store:
        store.insert("PICKLED", make_ticks(DAY, ROWS))
        here = store.select("PICKLED")
        with multiprocessing.get_context("spawn").Pool(1) as pool:
            there = pool.apply(_select_in_child, (store, "PICKLED"))
        assert there == (len(here), float(here.price.sum()), store.cache is not None)
        assert len(store.select("PICKLED")) == ROWS  # the copy closed itself, not this store
    with pytest.raises(StoreClosedError, match="closed"):
        pickle.dumps(store)
