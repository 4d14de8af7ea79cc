"""A large payload's SHA-256 is computed while the payload is written (tickstore_core.writes)."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import tickstore_core as ts
from tickstore_core import writes
from tickstore_core.frames import ticks_to_table
from tickstore_core.integrity import checksum
from tickstore_core.maintenance import fsck
from tickstore_core.migrate import copy_store
from tickstore_core.testing import make_ticks

DAY = dt.date(2024, 3, 4)
LARGE = 1024  # the threshold, lowered so that a small frame's payload counts as large


@pytest.fixture(params=["memory", "file"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Both ways objects are written: uploaded before the commit (memory://), created inside it (file://)."""
    return f"memory://hashing-{tmp_path.name}" if request.param == "memory" else f"file://{tmp_path}/store"


def test_a_large_payload_is_hashed_while_it_is_written(store_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(writes, "HASH_BESIDE_WRITE_BYTES", LARGE)
    written = threading.Event()
    hashed_first: list[bool] = []

    def hash_once_written(data: Any) -> str:
        if len(data) >= LARGE:  # hashed before the write would wait here in vain
            hashed_first.append(not written.wait(10))
        return checksum(data)

    monkeypatch.setattr(writes, "checksum", hash_once_written)
    with ts.open_store(store_url, progress=False) as store:
        real_put = store.backend.put

        def put(key: str, data: bytes, *, mode: Any = "overwrite") -> Any:
            meta = real_put(key, data, mode=mode)
            if len(data) >= LARGE:
                written.set()
            return meta

        monkeypatch.setattr(store.backend, "put", put)
        ticks = make_ticks(DAY, 2_000)
        store.insert("BIG", ticks)
        assert hashed_first == [False]
        version = store.engine.index("BIG").latest(DAY)
        assert version is not None and version.checksum == checksum(store.backend.get(version.key))
        assert len(store.select("BIG")) == len(ticks)
        assert fsck(store, None, deep=True).ok


def test_small_payloads_are_hashed_at_once(store_url: str) -> None:
    """A one-row append's object is hashed by the writer: a thread hand-off would cost more than the hash."""
    with ts.open_store(store_url, progress=False) as store:
        encoded = store.engine.encode(DAY, ticks_to_table(make_ticks(DAY, 1), store.timestamp_column))
        assert encoded.digest is None and encoded.version.checksum == checksum(encoded.payload)
        store.append("SMALL", make_ticks(DAY, 1))
        version = store.engine.index("SMALL").latest(DAY)
        assert version is not None and version.checksum == checksum(store.backend.get(version.key))


def test_every_write_path_commits_the_payloads_checksum(
    store_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Inserts of several days, appends, a compaction and a copy all record each object's SHA-256."""
    monkeypatch.setattr(writes, "HASH_BESIDE_WRITE_BYTES", LARGE)
    with ts.open_store(store_url, progress=False) as store:
        store.insert("A", pd.concat([make_ticks(DAY, 1_000, seed=1), make_ticks(DAY + dt.timedelta(days=1), 1_000)]))
        for seed in range(3):
            store.append("A", make_ticks(DAY, 500, seed=10 + seed))
        store.compact("A")
        with ts.open_store(f"file://{tmp_path}/copy", progress=False) as copy:
            copy_store(store, copy)
            for written in (store, copy):
                versions = list(written.engine.index("A"))
                assert len(versions) >= 5  # two days, three appends, a compaction
                for version in versions:
                    for part in version.parts:
                        assert part.checksum == checksum(written.backend.get(part.key))
                assert fsck(written, None, deep=True).ok
            pd.testing.assert_frame_equal(copy.select("A"), store.select("A"))
