"""copy (migration with history), gc and fsck, on in-process stores (the CLI tests run them on real backends)."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import pandas as pd
import pytest

from tickstore_core import BiTimestamp, open_store
from tickstore_core.errors import BackendError
from tickstore_core.frames import ticks_to_table
from tickstore_core.layout import summary_key, writer_token
from tickstore_core.maintenance import fsck, gc
from tickstore_core.migrate import CopyConflictError, copy_store
from tickstore_core.testing import make_ticks

D1, D2, D3 = dt.date(2024, 3, 4), dt.date(2024, 3, 5), dt.date(2024, 3, 6)
T = pd.Timestamp("2024-06-01", tz="UTC")


def _store():
    return open_store(f"memory://m-{uuid.uuid4().hex}")


@pytest.fixture
def source():
    store = _store()
    store.insert("A", pd.concat([make_ticks(D1, 30), make_ticks(D2, 20, seed=1)]), as_of=T - pd.Timedelta(days=1))
    store.insert("A", make_ticks(D1, 25, seed=2), day=BiTimestamp(D1, T))
    store.insert("A", make_ticks(D1, 0), day=BiTimestamp(D1, T + pd.Timedelta(hours=1)))
    store.delete("A", BiTimestamp(D2, T + pd.Timedelta(hours=2)))
    store.insert("B", make_ticks(D3, 10, seed=3))
    yield store
    store.close()


def _as_ofs(store, symbol):
    history = store.history(symbol)
    times = set(history["start_time"]) | set(history["end_time"])
    return [*sorted(t for t in times if t.year < 2200), None]


def test_copy_preserves_every_version_and_transaction_time(source):
    with _store() as destination:
        report = copy_store(source, destination)
        assert report.copied == {"A": 4, "B": 1} and report.versions_copied == 5
        for symbol in ("A", "B"):
            mine, theirs = destination.history(symbol), source.history(symbol)
            columns = ["day", "version", "start_time", "end_time", "recorded_at", "rows", "min_time", "max_time"]
            pd.testing.assert_frame_equal(mine[columns], theirs[columns])
            for as_of in _as_ofs(source, symbol):
                pd.testing.assert_frame_equal(
                    destination.select(symbol, as_of=as_of), source.select(symbol, as_of=as_of)
                )
        again = copy_store(source, destination)
        assert again.versions_copied == 0 and again.skipped == {"A": 4, "B": 1}


def test_an_interrupted_copy_resumes(source):
    with _store() as destination:
        real_put, puts = destination.backend.put, []

        def failing_put(key, data, **kwargs):
            puts.append(key)
            if len(puts) == 3:
                raise BackendError("connection reset (simulated)")
            return real_put(key, data, **kwargs)

        destination.backend.put = failing_put
        with pytest.raises(BackendError):
            copy_store(source, destination)
        destination.backend.put = real_put
        report = copy_store(source, destination)
        assert report.versions_copied + sum(report.skipped.values()) == 5 and report.versions_copied > 0
        assert destination.history("A")["version"].tolist() == source.history("A")["version"].tolist()
        pd.testing.assert_frame_equal(destination.select("A", as_of=T), source.select("A", as_of=T))


def test_copy_refuses_a_destination_with_other_data(source):
    with _store() as destination:
        destination.insert("A", make_ticks(D1, 3, seed=9))
        with pytest.raises(CopyConflictError, match="A 2024-03-04"):
            copy_store(source, destination, ["A"])


def test_gc_removes_only_orphans(source):
    orphan = f"data/B/2024/03/06/{writer_token()}-0.parquet"  # as a crashed writer left it
    source.backend.put(orphan, source.codec.encode(ticks_to_table(make_ticks(D3, 3), "time")))
    assert [m.key for m in gc(source, grace=dt.timedelta(0))] == [orphan]
    assert [m.key for m in gc(source, grace=dt.timedelta(hours=1))] == []  # too young to be sure
    gc(source, dry_run=False, grace=dt.timedelta(0))
    assert gc(source, grace=dt.timedelta(0)) == []
    assert len(source.select("B")) == 10 and fsck(source).ok


def test_fsck_finds_missing_and_damaged_objects(source):
    assert fsck(source, deep=True).ok
    keys = source.history("A")["key"].tolist()
    source.backend.delete(keys[0])
    data = bytearray(source.backend.get(keys[1]))
    data[-10] ^= 1
    source.backend.put(keys[1], bytes(data))
    report = fsck(source, deep=True)
    assert not report.ok
    assert any(keys[0] in p and "missing" in p for p in report.problems)
    assert any(keys[1] in p and "checksum" in p for p in report.problems)
    assert report.versions == 5


def test_fsck_accepts_a_first_version_inserted_with_an_explicit_as_of():
    with _store() as store:
        (version,) = store.insert("E", make_ticks(D1, 5), as_of=T)
        assert version.start_time == T.value
        assert fsck(store, deep=True).ok
        with _store() as destination:  # a copy keeps the version's start
            copy_store(store, destination)
            assert destination.history("E")["start_time"].tolist() == [T]


def test_a_burst_of_commits_writes_the_summary_shard_once_then_on_close(tmp_path, monkeypatch):
    monkeypatch.setattr("tickstore_core.summary.UPDATE_INTERVAL", 60.0)  # a slow machine stays inside it
    base = pd.Timestamp("2024-03-04 10:00", tz="UTC")

    def tick(i: int) -> pd.DataFrame:
        return pd.DataFrame({"price": [1.0 + i]}, index=pd.DatetimeIndex([base + pd.Timedelta(i, "s")], name="time"))

    def shard_rows() -> int:
        return json.loads((tmp_path / "db" / summary_key("BURST")).read_bytes())["symbols"]["BURST"]["rows"]

    with open_store((tmp_path / "db").as_uri(), progress=False) as store:
        store.insert("BURST", tick(0))
        for i in range(1, 5):  # within UPDATE_INTERVAL of the insert: held back
            store.append("BURST", tick(i))
        assert shard_rows() == 1  # written by the insert only
        with open_store((tmp_path / "db").as_uri(), progress=False) as reader:
            assert reader.summary().loc["BURST", "rows"] == 5  # a listing meanwhile recomputes the stale entry
        store.append("BURST", tick(5))
        store.flush()
        assert shard_rows() == 6
        store.append("BURST", tick(6))
    assert shard_rows() == 7  # written on close
