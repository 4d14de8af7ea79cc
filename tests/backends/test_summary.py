"""Listing a store reads its summary shards, which every commit updates, not every symbol's index."""

from __future__ import annotations

import datetime as dt

import tickstore_core as ts
from tickstore_core.testing import make_ticks
from tickstore_core.testing.spy import count_requests

DAY = dt.date(2024, 3, 4)


def _reads_of_indexes(store: ts.Tickstore) -> list[str]:
    """Wrap ``store``'s backend so that the keys it GETs are recorded; returns that record."""
    got: list[str] = []
    real = store.backend.get

    def get(key: str) -> bytes:
        got.append(key)
        return real(key)

    store.backend.get = get  # type: ignore[method-assign]
    return got


def test_a_listing_after_inserts_reads_no_index(store_location, tmp_path):
    url, options = store_location()
    symbols = [f"S{i:02d}" for i in range(40)]
    with ts.open_store(url, **options) as store:
        for n, symbol in enumerate(symbols):
            store.insert(symbol, make_ticks(DAY, 5 + n % 3, seed=n))
        store.insert("S00", make_ticks(DAY + dt.timedelta(days=1), 4))
        store.delete("S01", DAY)
    fresh = (
        {**options, "cache_dir": str(tmp_path / "other-machine")} if not url.startswith(("memory", "file")) else options
    )
    with ts.open_store(url, **fresh) as store:
        got = _reads_of_indexes(store)
        calls, _ = count_requests(store.backend)
        summary = store.summary()
    assert list(summary.index) == symbols
    assert (
        summary.loc["S00", "days"] == 2 and summary.loc["S00", "rows"] == 5 + 4 and summary.loc["S00", "versions"] == 2
    )
    assert summary.loc["S01", "days"] == 0 and summary.loc["S01", "versions"] == 1
    assert summary.loc["S02", "rows"] == 7
    assert not [key for key in got if key.startswith("_index/")], got
    assert calls["put"] == 0 and calls["get"] <= 32, calls
