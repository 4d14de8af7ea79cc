"""Core calls a demanding user makes that once went wrong, on every backend where a backend is involved.

Each test fails on 08c713d: raw tracebacks (a skipped midnight, a symbolic link loop, a huge cache
size, a config file that is not UTF-8, an index field of the wrong type), a store created by a
delete on a mistyped path, numbers read as nanoseconds since 1970, containers changed on their way
back, a start bound of 1677 refused, and index damage read silently or passed by ``fsck --deep``.
"""

from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd
import pytest

import tickstore_core as ts
from tickstore_core import (
    ConfigError,
    CorruptObjectError,
    InvalidTicksError,
    InvalidTimeError,
    InvalidURLError,
    StoreNotFoundError,
    UnreadableIndexWarning,
    open_store,
)
from tickstore_core.maintenance import fsck


def _hourly(first: str, last: str) -> pd.DataFrame:
    index = pd.date_range(first, last, freq="1h", tz="UTC", name="time").as_unit("ns")
    return pd.DataFrame({"price": np.arange(len(index), dtype=float), "size": 1.0}, index=index)


@pytest.mark.parametrize("tz, day", [("America/Havana", "2024-03-10"), ("America/Havana", "2024-11-03")])
def test_dask_and_bars_read_a_day_whose_midnight_daylight_saving_skips_or_repeats(store_location, tz, day):
    pytest.importorskip("dask")
    url, options = store_location()
    store = open_store(url, tz=tz, **options)
    store.insert(
        "X", _hourly("2024-03-08", "2024-03-12").pipe(lambda f: pd.concat([f, _hourly("2024-11-01", "2024-11-05")]))
    )
    selected = store.select("X", day, day)
    assert len(selected) in (23, 25)
    pd.testing.assert_frame_equal(store.to_dask("X", day, day).compute(), selected)
    bars = store.bars("X", day, day, freq="1h")
    assert bars.close.tolist() == selected.price.tolist()
    store.close()


def test_a_day_a_clock_change_skips_whole_is_empty_and_its_neighbours_keep_their_ticks(store_location):
    """Samoa went from 2011-12-29 24:00 (UTC-10) to 2011-12-31 00:00 (UTC+14): there was no 2011-12-30."""
    url, options = store_location()
    store = open_store(url, tz="Pacific/Apia", **options)
    ticks = _hourly("2011-12-29 10:00", "2012-01-01 09:00")  # 2011-12-29, 2011-12-31 and 2012-01-01 local
    store.insert("X", ticks)
    local = ticks.index.tz_convert("Pacific/Apia")
    for day in ("2011-12-29", "2011-12-31", "2012-01-01"):
        selected = store.select("X", day, day)
        pd.testing.assert_frame_equal(
            selected, ticks[local.strftime("%Y-%m-%d") == day].tz_convert("Pacific/Apia"), check_freq=False
        )
    assert store.select("X", "2011-12-30", "2011-12-30").empty
    assert len(store.select("X", "2011-12-29", "2011-12-31")) == 48
    assert store.bars("X", "2011-12-29", "2011-12-31", freq="1D")["trades"].tolist() == [24, 24]
    with pytest.raises(InvalidTimeError, match="after end"):
        store.select("X", "2011-12-31", "2011-12-30")  # a reversed range is still a slip
    store.close()


def test_a_delete_on_a_path_without_a_store_deletes_nothing_and_creates_nothing(tmp_path):
    typo = tmp_path / "tyop"
    store = open_store(f"file://{typo}")
    assert store.delete("BTCUSD", "2024-03-04") is None
    assert not typo.exists()  # so the next read still says the store does not exist
    with pytest.raises(StoreNotFoundError):
        store.select("BTCUSD")


def test_a_symbolic_link_loop_as_the_store_path_is_a_clear_error(tmp_path):
    loop = tmp_path / "loop"
    os.symlink(loop, loop)
    for url in (str(loop), f"file://{loop}", str(loop / "below")):
        with pytest.raises(InvalidURLError, match="cannot be resolved"):
            open_store(url)


@pytest.mark.parametrize("size", ["9999999TiB", 10**30, "infGiB", "1e400"])
def test_a_cache_size_beyond_what_the_cache_can_count_is_a_clear_error(tmp_path, size):
    with pytest.raises(ConfigError, match="cache size"):
        open_store("memory://huge", cache=True, cache_dir=tmp_path, cache_size=size)


def test_a_bad_cache_size_is_an_error_even_where_no_cache_is_used(tmp_path):
    with pytest.raises(ConfigError, match="'abc' is not a size"):
        open_store(f"file://{tmp_path}/s?cache_size=abc")


def test_this_machines_zone_is_not_a_store_zone():
    with pytest.raises(ConfigError, match="'localtime' is not a time zone"):
        open_store("memory://zone", tz="localtime")


def test_a_config_file_that_is_not_utf8_is_a_clear_error(tmp_path, monkeypatch):
    config = tmp_path / "config.toml"
    config.write_bytes(b"\xff\xfe garbage")
    monkeypatch.setenv("TICKSTORE_CONFIG", str(config))
    with pytest.raises(ConfigError, match="cannot read the tickstore config"):
        open_store("phemex")


def test_numbers_are_not_taken_for_days_or_tick_times(store_location):
    url, options = store_location()
    store = open_store(url, **options)
    with pytest.raises(InvalidTicksError, match="holds numbers"):
        store.insert("A", pd.DataFrame({"p": [1.0]}, index=pd.Index([1712345678], dtype=object)))
    store.insert("A", _hourly("2024-03-04 10:00", "2024-03-04 11:00"))
    for day in (20240304, 1.5, True, np.int64(20240304)):
        with pytest.raises(InvalidTimeError, match="is a number, not a day"):
            store.delete("A", day)
    assert len(store.select("A")) == 2
    store.close()


@pytest.mark.parametrize("values", [[{"a": 1}, {"b": 2}], [[1, 2], [3]], [{1}, {2}]])
def test_columns_of_containers_are_refused_rather_than_changed(store_location, values):
    url, options = store_location()
    store = open_store(url, **options)
    index = pd.DatetimeIndex(["2024-03-04 10:00", "2024-03-04 11:00"], tz="UTC", name="time")
    ticks = pd.DataFrame({"x": pd.Series(values, index=index, dtype=object)})
    with pytest.raises(InvalidTicksError, match="column 'x' holds containers"):
        store.insert("O", ticks)
    with pytest.raises(InvalidTicksError, match="column 'x' holds containers"):
        store.append("O", ticks)
    store.close()


def test_a_start_bound_naming_a_year_or_month_that_begins_before_1677_09_21_reads_from_the_first_tick():
    store = open_store("memory://early")
    store.insert(
        "A", pd.DataFrame({"p": [1.0, 2.0]}, index=pd.DatetimeIndex(["1677-09-22 12:00", "2000-01-01"], tz="UTC"))
    )
    assert len(store.select("A", "1677")) == 2
    assert store.select("A", "1677", "1677").p.tolist() == [1.0]
    assert store.select("A", "1677-09", "1677-09").p.tolist() == [1.0]
    with pytest.raises(InvalidTimeError, match="outside the nanosecond range"):
        store.select("A", "1600")


def _damage(root, field, value):
    path = root / "_index" / "BTC.json"
    document = json.loads(path.read_text())
    document["versions"][0][field] = value
    path.write_text(json.dumps(document))


@pytest.mark.parametrize(
    "field, value", [("rows", "many"), ("rows", -1), ("start_time", 1.5), ("start_time", 10**30), ("min_time", "x")]
)
def test_an_index_field_of_the_wrong_type_is_a_damaged_index(tmp_path, field, value):
    with open_store(f"file://{tmp_path}") as store:
        store.insert("BTC", _hourly("2024-03-04", "2024-03-05 23:00"))
    _damage(tmp_path, field, value)
    with open_store(f"file://{tmp_path}") as store:
        for read in (lambda: store.select("BTC"), lambda: store.days("BTC"), lambda: store.history("BTC")):
            with pytest.raises(CorruptObjectError, match=r"index .* cannot be read"):
                read()
        with pytest.warns(UnreadableIndexWarning, match=r"index .* cannot be read"):
            store.summary()
        assert not fsck(store, deep=True).ok


@pytest.mark.parametrize("field, value", [("rows", 3), ("day", "2024-03-09")])
def test_index_entries_that_misdescribe_their_object_are_caught_by_reads_and_fsck(tmp_path, field, value):
    with open_store(f"file://{tmp_path}") as store:
        store.insert("BTC", _hourly("2024-03-04", "2024-03-05 23:00"))
        assert fsck(store, deep=True).ok
    _damage(tmp_path, field, value)
    with open_store(f"file://{tmp_path}") as store:
        with pytest.raises(CorruptObjectError):
            store.select("BTC")
        report = fsck(store, deep=True)
        assert not report.ok
        assert any("version 0" in problem for problem in report.problems)


def test_the_command_line_says_one_line_for_a_demo_of_no_days(capsys):
    from tickstore_core.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(["demo", "--days", "0"])
    assert exit_.value.code == 2
    assert "--days and --ticks-per-day must be at least 1, got 0" in capsys.readouterr().err
    assert ts.__name__ == "tickstore_core"


def test_as_of_until_further_notice_reads_the_current_state(store_location):
    """``Timestamp.max`` is a current version's end ("until further notice"): it read as an empty store."""
    url, options = store_location()
    with open_store(url, **options) as store:
        store.insert("X", _hourly("2024-03-04", "2024-03-05 23:00"))
        store.insert("X", _hourly("2024-03-05", "2024-03-05 05:00"), day="2024-03-05")  # a correction
        current = store.select("X")
        end_time = store.history("X")["end_time"].max()
        for as_of in (pd.Timestamp.max, end_time, int(pd.Timestamp.max.value)):
            pd.testing.assert_frame_equal(store.select("X", as_of=as_of), current)
            pd.testing.assert_frame_equal(store.history("X", as_of=as_of), store.history("X"))
        with pytest.raises(ts.TransactionTimeError, match="in the future"):
            store.tag("never", as_of=pd.Timestamp.max)
