"""A remote read gives the C heap's free memory back once its fetched bytes are released (heap.py)."""

from __future__ import annotations

import datetime as dt
import sys
import threading
import weakref
from typing import ClassVar

import pandas as pd
import pytest

from tickstore_core import Tickstore, fills, heap, objects
from tickstore_core.cache import ObjectCache
from tickstore_core.memory import MemoryBackend
from tickstore_core.testing import make_ticks

DAYS = [dt.date(2024, 3, 4) + dt.timedelta(days=n) for n in range(3)]


class _Fetched(bytearray):
    """Fetched bytes a test can watch being freed (``bytes`` cannot be referenced weakly)."""


class _RemoteMemory(MemoryBackend):
    """The in-process backend, taken for a remote one: its objects are fetched, not memory-mapped."""

    is_local: ClassVar[bool] = False
    fetched: ClassVar[list[weakref.ref[_Fetched]]] = []

    def get(self, key: str) -> bytes:
        data = super().get(key)
        if not key.startswith("data/BIG/"):
            return data
        watched = _Fetched(data)
        self.fetched.append(weakref.ref(watched))
        return watched  # type: ignore[return-value]  # any buffer will do for the reader


def _resident_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096


@pytest.mark.skipif(heap._malloc_trim() is None, reason="needs glibc's malloc_trim")
def test_release_free_heap_returns_freed_blocks_to_the_system():
    kept = []  # what the workers allocated after their days: it keeps the freed days inside their arenas

    def fetch_and_drop() -> None:  # what a worker does with fetched days: hold them, then let go
        bytes(6_000_000)  # the first large block freed raises glibc's mmap threshold above this size
        days = [bytes(6_000_000) for _ in range(3)]
        kept.append(bytes(200_000))
        del days

    for _ in range(2):
        workers = [threading.Thread(target=fetch_and_drop) for _ in range(4)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    before = _resident_bytes()
    heap.release_free_heap()
    assert before - _resident_bytes() > 10_000_000


@pytest.mark.parametrize("cached", [True, False])
def test_a_cold_remote_read_releases_the_heap_after_its_fetched_bytes_are_freed(monkeypatch, tmp_path, cached):
    backend = _RemoteMemory(f"heap-{cached}")
    with Tickstore(backend) as writer:
        for day in DAYS:
            writer.insert("BIG", make_ticks(day, 2_000))
    seen: list[list[bool]] = []
    lock = threading.Lock()

    def watched() -> None:
        with lock:
            seen.append([ref() is None for ref in _RemoteMemory.fetched])

    monkeypatch.setattr(heap, "_malloc_trim", lambda: None)
    monkeypatch.setattr(objects, "release_free_heap", watched)
    monkeypatch.setattr(fills, "release_free_heap", watched)
    _RemoteMemory.fetched.clear()
    cache = ObjectCache(tmp_path / "cache") if cached else None
    with Tickstore(backend, cache=cache) as store:
        frame = store.select(
            "BIG", pd.Timestamp(DAYS[0], tz="UTC"), pd.Timestamp(DAYS[-1], tz="UTC") + pd.Timedelta(days=1)
        )
        store.flush()
    assert len(frame) == 3 * 2_000
    assert len(_RemoteMemory.fetched) == 3
    assert seen and all(seen[-1]), "the heap was last released while fetched bytes were still held"
    freed_when_released = {n for call in seen for n, freed in enumerate(call) if freed}
    assert freed_when_released == {0, 1, 2}


def test_release_free_heap_does_nothing_without_malloc_trim(monkeypatch):
    monkeypatch.setattr(sys, "platform", "darwin")
    heap._malloc_trim.cache_clear()
    try:
        assert heap._malloc_trim() is None
        heap.release_free_heap()  # no error
    finally:
        monkeypatch.undo()
        heap._malloc_trim.cache_clear()
