"""Small days at hand are read one after the other on the calling thread, not on the pool: each decodes
in less time than threads lose handing Python's GIL to each other. Days still to fetch, and large days,
go to the pool as before; the results are the same either way."""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading

import pandas as pd
import pytest

import tickstore_core as ts
from tickstore_core import engine as engine_module
from tickstore_core.query import read_in_turn
from tickstore_core.testing import make_ticks

DAYS = [dt.date(2024, 3, 4) + dt.timedelta(days=i) for i in range(5)]


def _days(rows: int, seed: int = 0) -> pd.DataFrame:
    return pd.concat([make_ticks(day, rows, seed=seed + i) for i, day in enumerate(DAYS)])


@pytest.fixture
def read_threads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The ident of the thread of every object read (the engine's one way to a tickstore-arrow object)."""
    seen: list[int] = []
    real = engine_module.read_arrow

    def recorded(*args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        seen.append(threading.get_ident())
        yield from real(*args, **kwargs)

    monkeypatch.setattr(engine_module, "read_arrow", recorded)
    return seen


def _reads(store: ts.Tickstore, start: str, end: str) -> dict[str, object]:
    """Every read path that maps over days: select into pandas and Arrow, select_many, bars, asof_join."""
    return {
        "pandas": store.select("A", start, end),
        "arrow": store.select("A", start, end, output="arrow"),
        "many": store.select_many(["A", "B"], start, end),
        "bars": store.bars(["A", "B"], start, end, "1h"),
        "join": store.asof_join("A", "B", start, end),
    }


def test_small_days_at_hand_are_read_on_the_calling_thread_on_every_backend(store_location, read_threads) -> None:
    url, options = store_location()
    with ts.open_store(url, **options) as store:
        store.insert("A", _days(300))
        store.insert("B", _days(200, seed=10))
        first = _reads(store, "2024-03-04", "2024-03-08")
        if not store.backend.is_local:  # fetched on the pool first, then at hand in the cache
            assert set(read_threads) != {threading.get_ident()}
            store._engine.fills.wait_all()
        read_threads.clear()
        again = _reads(store, "2024-03-04", "2024-03-08")
        if store._engine.cache is None and not store.backend.is_local:
            pytest.skip("a remote store without a cache never has its objects at hand")
    assert read_threads and set(read_threads) == {threading.get_ident()}
    for name, result in first.items():
        if isinstance(result, pd.DataFrame):
            pd.testing.assert_frame_equal(again[name], result)
        else:
            assert again[name].equals(result)


def test_large_days_are_read_on_the_pool(tmp_path, read_threads, monkeypatch) -> None:
    monkeypatch.setattr("tickstore_core.query.READ_IN_TURN", 1024)  # every day here is larger than this
    with ts.open_store(tmp_path.as_uri()) as store:
        store.insert("A", _days(300))
        store.insert("B", _days(200, seed=10))
        _reads(store, "2024-03-04", "2024-03-08")
    on_pool = [ident for ident in read_threads if ident != threading.get_ident()]
    assert len(on_pool) > len(read_threads) / 2  # the first chunk of a select's first day is read here


def test_the_rule_asks_for_known_small_objects_all_at_hand(tmp_path) -> None:
    with ts.open_store(tmp_path.as_uri()) as store:
        store.insert("A", _days(300))
        versions = store._engine.load_index("A").index.lookup(DAYS[0], DAYS[-1])
        assert read_in_turn(store._engine, versions)
        assert not read_in_turn(store._engine, versions[:1])  # one day: nothing to hand out
        unknown = [dataclasses.replace(v, bytes=None) for v in versions]
        assert not read_in_turn(store._engine, unknown)  # a serenity index does not know the sizes
        large = [dataclasses.replace(v, bytes=1 << 20) for v in versions]
        assert not read_in_turn(store._engine, large)
