"""Selects over many days: fetched concurrently on a bounded pool, with a progress bar only when wanted."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import threading
import time
import uuid

import pytest

from tickstore_core import open_store
from tickstore_core.testing import make_ticks

DAYS = [dt.date(2024, 3, 1) + dt.timedelta(days=n) for n in range(12)]


@pytest.fixture
def url():
    url = f"memory://progress-{uuid.uuid4().hex}"
    with open_store(url) as writer:
        for n, day in enumerate(DAYS):
            writer.insert("BTCUSD", make_ticks(day, 50, seed=n))
    return url


def test_days_are_fetched_concurrently_but_never_more_than_max_workers_at_once(url, monkeypatch):
    monkeypatch.setattr("tickstore_core.query.READ_IN_TURN", 0)  # no day is small enough to read in turn
    with open_store(url, max_workers=3, progress=False) as store:
        store.select("BTCUSD", DAYS[0], DAYS[0])  # the index is loaded; only data reads follow
        running, peak, lock = 0, 0, threading.Lock()
        real_get = store.backend.get

        def slow_get(key):
            nonlocal running, peak
            with lock:
                running += 1
                peak = max(peak, running)
            time.sleep(0.05)
            with lock:
                running -= 1
            return real_get(key)

        store.backend.get = slow_get
        started = time.monotonic()
        frame = store.select("BTCUSD")
        elapsed = time.monotonic() - started
    assert len(frame) == 50 * len(DAYS) and frame.index.is_monotonic_increasing
    assert peak == 3
    assert elapsed < 0.05 * len(DAYS) * 0.75  # clearly faster than one day after another


def test_a_long_select_shows_a_progress_bar_when_asked(url, capsys):
    with open_store(url, progress=True) as store:
        store.select("BTCUSD")
    err = capsys.readouterr().err
    assert "BTCUSD 2024-03-01..2024-03-12" in err and "0/12" in err  # tqdm redraws at most every 0.1 s


@pytest.mark.parametrize("progress", [None, False])
def test_no_bar_when_not_interactive_or_switched_off(url, capsys, progress):
    with open_store(url, progress=progress) as store:  # pytest's stderr is not a terminal
        store.select("BTCUSD")
    err = capsys.readouterr().err
    assert "BTCUSD" not in err and "/12" not in err, err  # no bar (other threads' log lines may appear)


def test_a_select_that_shows_no_bar_never_imports_tqdm(tmp_path):
    """tqdm's import takes about 10 ms: a cost of a new process's first select of several days when no
    bar is drawn. The check runs in a fresh interpreter, where nothing has imported tqdm yet."""
    script = f"""
import sys, datetime as dt
from tickstore_core import open_store
from tickstore_core.testing import make_ticks
with open_store("file://{tmp_path.as_posix()}/store") as store:
    for n in range(10):
        store.insert("BTCUSD", make_ticks(dt.date(2024, 3, 1) + dt.timedelta(days=n), 20, seed=n))
with open_store("file://{tmp_path.as_posix()}/store", progress=False) as store:
    assert len(store.select("BTCUSD")) == 200
print("tqdm" in sys.modules)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.strip() == "False", done.stdout + done.stderr


@pytest.mark.parametrize("threads", [2, 0], ids=["on a pool", "in turn"])
def test_an_error_lets_go_of_the_results_made_before_it(threads):
    """A notebook keeps the last traceback, and with it the mapping's frame: the results made before
    the error must not stay alive through it."""
    import gc
    import weakref
    from concurrent.futures import ThreadPoolExecutor

    from tickstore_core.progress import map_with_progress

    class Result:
        pass

    made: list[weakref.ref[Result]] = []

    def work(n: int) -> Result:
        if n == 3:
            raise ValueError("day 3 is damaged")
        result = Result()
        made.append(weakref.ref(result))
        return result

    pool = ThreadPoolExecutor(threads) if threads else None
    try:
        with pytest.raises(ValueError) as raised:
            map_with_progress(pool, work, [0, 1, 2, 3, 4], "x", False)
    finally:
        if pool is not None:
            pool.shutdown(wait=True)
    kept = raised.value.__traceback__  # what a notebook holds on to
    gc.collect()
    assert kept is not None and made and all(ref() is None for ref in made)
