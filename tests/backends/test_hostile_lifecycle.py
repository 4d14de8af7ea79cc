"""A store's life when others end it or the network goes, on every backend where a backend is involved.

Each test once failed: ``destroy`` wrote a held-back summary shard after deleting everything (the
location could not be opened again), a writer kept committing into a store another process had
destroyed without its manifest (its ticks read back in the wrong time zone), a day missing from the
cache raised a plain ``BackendError`` offline instead of ``OfflineError``, and every warning was
printed twice (once more by logging's last-resort handler).
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pandas as pd
import pytest

from tickstore_core import (
    BackendError,
    ConfigError,
    CorruptObjectError,
    OfflineError,
    OfflineWarning,
    SchemaError,
    open_store,
)
from tickstore_core.testing import make_ticks
from tickstore_core.testing.spy import count_requests

DAY = dt.date(2024, 3, 4)
NEXT = DAY + dt.timedelta(days=1)


def test_destroy_leaves_nothing_behind_and_the_location_opens_as_a_new_store(store_location):
    url, options = store_location()
    with open_store(url, **options) as store:
        store.insert("A", make_ticks(DAY, 10))
        store.insert("A", make_ticks(DAY, 10, seed=1))  # within a second: its summary update is held back
        store.insert("A", make_ticks(NEXT, 10))
        store.destroy()
    with open_store(url, **options) as reopened:
        assert list(reopened.backend.keys("")) == []
        assert reopened.symbols() == []
        reopened.insert("B", make_ticks(DAY, 3))
        assert reopened.symbols() == ["B"] and len(reopened.select("B")) == 3


def test_a_local_destroy_leaves_only_emptied_directories(tmp_path):
    root = tmp_path / "db"
    with open_store(root.as_uri()) as store:
        store.insert("A", make_ticks(DAY, 10))
        store.insert("A", make_ticks(DAY, 10, seed=1))
        store.destroy()
    assert [p for p in root.rglob("*") if p.is_file() and ".tickstore" not in p.parts] == []


def test_a_writer_gives_a_store_destroyed_by_another_its_manifest_back(store_location):
    url, options = store_location()
    ticks = make_ticks(NEXT, 5, start_hour=12)  # on one day in New York too
    with open_store(url, tz="America/New_York", **options) as writer:
        writer.insert("A", make_ticks(DAY, 5, start_hour=12))
        open_store(url, **options).destroy()  # another process ends the store
        writer.insert("A", ticks)
        calls, _ = count_requests(writer.backend)
        writer.insert("A", make_ticks(NEXT, 5, seed=1, start_hour=12))
        assert calls["head"] == 0  # only a commit creating an index asks whether the manifest is still there
    with open_store(url, **options) as reopened:
        assert reopened.tz == "America/New_York"
        assert reopened.days("A") == [NEXT]
        assert len(reopened.select("A")) == 5


def test_offline_a_day_missing_from_the_cache_is_an_offline_error_saying_to_prefetch(store_location, tmp_path):
    url, options = store_location()
    with open_store(url, **options) as writer:
        writer.insert("S", make_ticks(DAY, 200))
        writer.insert("S", make_ticks(NEXT, 200))
        if writer.backend.local_path("_tickstore.json") is not None:
            pytest.skip("a local store's files are read in place: it is never offline")
    with open_store(url, cache=True, cache_dir=str(tmp_path / "cache"), **options) as warm:
        expected = warm.select("S", DAY, DAY)  # only the first day is cached
        warm.flush()
    with (
        warnings.catch_warnings(),
        open_store(url, cache=True, cache_dir=str(tmp_path / "cache"), index_ttl=0, **options) as store,
    ):
        warnings.simplefilter("ignore", OfflineWarning)
        _, state = count_requests(store.backend)
        state["offline"] = True
        pd.testing.assert_frame_equal(store.select("S", DAY, DAY), expected)
        with pytest.raises(OfflineError, match=r"S 2024-03-05 version 0 .* not in the local cache.*prefetch"):
            store.select("S", NEXT, NEXT)
    with open_store(url, cache=False, **options) as uncached:  # no cache to warm: the backend's error as it is
        uncached.select("S", DAY, DAY)
        _, state = count_requests(uncached.backend)
        state["offline"] = True
        with pytest.raises(BackendError) as info:
            uncached.select("S", NEXT, NEXT)
        assert not isinstance(info.value, OfflineError)


def test_a_script_sees_each_warning_once_and_none_once_it_filters_them(tmp_path):
    (tmp_path / "file").write_text("a file where the cache directory should be")
    script = textwrap.dedent(
        f"""
        import sys, warnings
        import tickstore_core as ts
        if sys.argv[1:] == ["quiet"]:
            warnings.simplefilter("ignore", ts.TickstoreWarning)
        with ts.open_store("memory://warned", cache=True, cache_dir={str(tmp_path / "file")!r}) as store:
            store.symbols()
        """
    )

    def stderr(*args: str) -> str:
        done = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        return done.stderr

    shown = stderr()
    assert shown.count("cannot be used") == 1 and "CacheWarning" in shown, shown
    assert stderr("quiet") == ""


def _ticks_of(time: str) -> pd.DataFrame:
    return pd.DataFrame({"price": [1.0]}, index=pd.DatetimeIndex([time], tz="UTC", name="time"))


def test_a_store_object_opened_before_another_writer_created_the_store_is_told_to_reopen(store_location):
    url, options = store_location()
    first = open_store(url, **options)  # no store yet: the defaults (UTC)
    with open_store(url, tz="America/New_York", **options) as creator:
        creator.insert("X", _ticks_of("2024-03-05 02:00"))
    with pytest.raises(ConfigError, match="another writer created the store meanwhile: open it again"):
        first.insert("X", _ticks_of("2024-03-05 06:00"))
    first.close()
    with open_store(url, **options) as reopened:
        assert reopened.tz == "America/New_York" and len(reopened.select("X")) == 1


def test_offline_without_a_cache_says_there_is_no_cache_not_that_an_entry_is_missing():
    import uuid

    with open_store(f"memory://nocache-{uuid.uuid4().hex}", cache=False) as store:
        store.insert("X", _ticks_of("2024-03-05 02:00"))
        _, state = count_requests(store.backend)
        state["offline"] = True
        store.refresh()
        with pytest.raises(OfflineError, match="the store has no cache"):
            store.select("X")


def test_the_notebook_summary_shows_a_cache_that_cannot_be_used(tmp_path):
    import uuid

    blocked = tmp_path / "a-file"
    blocked.write_text("not a directory")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with open_store(f"memory://html-{uuid.uuid4().hex}", cache=True, cache_dir=blocked) as store:
            store.insert("X", _ticks_of("2024-03-05 02:00"))
            store.select("X")
            shown = store._repr_html_()
            problem = store.cache_stats().get("problem")
    assert problem and "cache problem" in shown


def _flags(first: str, values: list[object]) -> pd.DataFrame:
    index = pd.date_range(first, periods=len(values), freq="s", tz="UTC", name="time")
    return pd.DataFrame(
        {"px": [float(i) for i in range(len(values))], "halted": np.array(values, dtype=object)}, index=index
    )


def test_an_append_records_the_type_its_column_now_reads_as(store_location):
    """A column all missing so far (recorded null), appended with flags, is recorded bool: checked as bool."""
    url, options = store_location()
    with open_store(url, **options) as store:
        store.insert("X", _flags("2024-03-04 09:00", [None, None]))
        (appended,) = store.append("X", _flags("2024-03-04 10:00", [True, False]))
        assert dict(zip(appended.columns, appended.types, strict=True))["halted"] == "bool"
        assert store.select("X", filters=[("halted", "==", True)])["halted"].tolist() == [True]
        with pytest.raises(SchemaError, match="halted"):  # was accepted: then every select of both days failed
            store.insert("X", _flags("2024-03-05 09:00", ["no", "yes"]))
        with pytest.raises(SchemaError, match="halted"):  # was accepted: then the day could not be read
            store.append("X", _flags("2024-03-04 11:00", ["yes"]))
        assert len(store.select("X")) == 4


def test_an_append_that_committed_returns_even_when_compacting_after_it_fails(store_location, monkeypatch):
    """A raise after the commit has the caller retry, and the ticks stored twice."""
    url, options = store_location()
    with open_store(url, **options) as store:
        store.insert("X", make_ticks(DAY, 5))
        store.append("X", make_ticks(DAY, 5, seed=1).tz_convert("UTC").shift(1, freq="h"))

        def damaged(*args: object, **kwargs: object) -> None:
            raise CorruptObjectError("an object of the day is damaged (simulated)")

        monkeypatch.setattr(store._engine, "read_version", damaged)
        (appended,) = store.append("X", make_ticks(NEXT, 1))  # ends the day before: its compaction fails
        monkeypatch.undo()
        assert appended.day == NEXT and len(store.select("X", NEXT, NEXT)) == 1
