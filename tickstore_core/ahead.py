"""Work on a sequence done a few items ahead of its consumer on a thread pool, handed over in order.

A select of one day reads that day on one thread, chunk after chunk, so on a machine with more
cores than days only one core decoded. `in_order` lets the store's pool decode the next chunks
while the consumer takes (places) the current one. When the consumer would wait for an item the
pool is still working on, it takes a later item that no worker has started and does it itself;
and an item no worker has started is never waited for, it is done by the consumer. So a pool busy
with other work only makes this slower, never stuck, and at most ``ahead + 1`` results are held
that the consumer has not taken.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, Future
from typing import TypeVar

__all__ = ["in_order"]

_T = TypeVar("_T")
_R = TypeVar("_R")


def in_order(items: Sequence[_T], work: Callable[[_T], _R], pool: Executor | None, ahead: int) -> Iterator[_R]:
    """``work(item)`` for each of ``items``, yielded in order, up to ``ahead`` items done ahead on ``pool``.

    With no pool, ``ahead`` below 1 or a single item, this is a plain loop. An exception of any
    item's work is raised where that item is due; work still queued then is cancelled.
    """
    if pool is None or ahead < 1 or len(items) < 2:
        for item in items:
            yield work(item)
        return
    queued: dict[int, Future[_R]] = {}
    taken: dict[int, _R] = {}  # later items the consumer did itself while it waited
    following = 1  # the next item to hand to the pool; item 0 is the consumer's own
    try:
        for position, item in enumerate(items):
            while following < len(items) and following <= position + ahead:
                queued[following] = pool.submit(work, items[following])
                following += 1
            if position in taken:
                result = taken.pop(position)
            else:
                future = queued.pop(position, None)
                if future is None or future.cancel():  # nobody started it: do it here
                    result = work(item)
                else:
                    while not future.done() and (later := _unstarted(queued)) is not None:
                        taken[later] = work(items[later])
                    result = future.result()
            yield result
            del result  # not held while the next item is done
    finally:
        for future in queued.values():
            future.cancel()


def _unstarted(queued: dict[int, Future[_R]]) -> int | None:
    """The first queued item no worker has started, withdrawn from the pool (so the caller does it)."""
    for position in sorted(queued):
        if queued[position].cancel():
            del queued[position]
            return position
    return None
