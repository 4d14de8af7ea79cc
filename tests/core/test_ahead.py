"""Work done ahead of its consumer on a pool, handed over in order (`tickstore_core.ahead.in_order`)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from tickstore_core.ahead import in_order


def test_results_come_in_order_and_the_pool_does_some_of_the_work() -> None:
    threads: list[str] = []

    def work(item: int) -> int:
        threads.append(threading.current_thread().name)
        return item * item

    with ThreadPoolExecutor(2, thread_name_prefix="pool") as pool:
        assert list(in_order(list(range(50)), work, pool, 2)) == [i * i for i in range(50)]
    assert len(threads) == 50
    assert any(name.startswith("pool") for name in threads)


def test_a_busy_pool_never_leaves_the_consumer_waiting_for_work_nobody_started() -> None:
    release = threading.Event()
    with ThreadPoolExecutor(1) as pool:
        blocker = pool.submit(release.wait)  # the pool's only worker is busy until the end
        consumer = threading.current_thread()
        ran_here = []

        def work(item: int) -> int:
            ran_here.append(threading.current_thread() is consumer)
            return item

        assert list(in_order(list(range(10)), work, pool, 3)) == list(range(10))
        release.set()
        blocker.result()
    assert all(ran_here)  # every item was withdrawn from the queue and done by the consumer


def test_at_most_ahead_results_are_held_beyond_the_one_taken() -> None:
    live = 0
    most = 0
    lock = threading.Lock()

    def work(item: int) -> int:
        nonlocal live, most
        with lock:
            live += 1
            most = max(most, live)
        return item

    with ThreadPoolExecutor(4) as pool:
        for _ in in_order(list(range(40)), work, pool, 2):
            with lock:
                live -= 1
    assert most <= 3


def test_an_item_that_fails_raises_where_it_is_due_and_later_work_is_cancelled() -> None:
    done: list[int] = []

    def work(item: int) -> int:
        if item == 3:
            raise ValueError("item 3")
        done.append(item)
        return item

    with ThreadPoolExecutor(2) as pool:
        got = []
        with pytest.raises(ValueError, match="item 3"):
            for result in in_order(list(range(100)), work, pool, 2):
                got.append(result)
    assert got == [0, 1, 2]
    assert max(done) <= 3 + 2  # nothing past the window was started


@pytest.mark.parametrize("pool_size", [0, 1])
def test_without_a_pool_or_with_nothing_ahead_it_is_a_plain_loop(pool_size: int) -> None:
    consumer = threading.current_thread()
    seen = []

    def work(item: int) -> int:
        seen.append(threading.current_thread() is consumer)
        return -item

    pool = ThreadPoolExecutor(pool_size) if pool_size else None
    assert list(in_order([1, 2, 3], work, pool, 0 if pool else 3)) == [-1, -2, -3]
    assert all(seen)
    if pool is not None:
        pool.shutdown()
