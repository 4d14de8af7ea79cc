"""Wrong arguments to the API raise tickstore's own errors, saying what to do (issue 10, point 11)."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

import tickstore_core as ts
from tickstore_core.errors import (
    ConfigError,
    InvalidInputError,
    InvalidOptionError,
    InvalidSymbolError,
    InvalidTicksError,
    InvalidTimeError,
    InvalidURLError,
    MissingDependencyError,
)
from tickstore_core.memory import MemoryBackend

TIMES = pd.date_range("2024-01-02 09:30", periods=3, freq="min", tz="UTC")


def test_ticks_without_columns_are_refused_before_anything_is_written(store_location):
    url, options = store_location()
    with ts.open_store(url, **options) as store:
        with pytest.raises(InvalidTicksError, match="no columns"):
            store.insert("A", pd.DataFrame(index=TIMES))
        assert not list(store.backend.list(""))  # nothing written (a store never written to does not exist)
        # an empty frame without columns still records a day without ticks
        (version,) = store.insert("A", pd.DataFrame(index=TIMES[:0]), day="2024-01-02")
        assert version.rows == 0


def test_to_dask_without_dask_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "dask", None)  # makes `import dask...` raise ImportError
    monkeypatch.setitem(sys.modules, "dask.dataframe", None)
    with ts.open_store("memory://no-dask") as store:
        store.insert("A", pd.DataFrame({"price": [1.0, 2.0, 3.0]}, index=TIMES))
        with pytest.raises(MissingDependencyError, match=r'pip install "tickstore\[dask\]"') as caught:
            store.to_dask("A")
    assert isinstance(caught.value, ImportError)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("default = 5\n", r"default = 5 must be a store name or URL in quotes"),
        ('default = ""\n', r"default = '' must be a store name or URL"),
        ('default = "x"\n[stores.x]\nurl = 5\n', r"\[stores.x\] url = 5 must be a URL or path in quotes"),
        ("[stores.x]\nurl = [1]\n", r"\[stores.x\] url = \[1\] must be a URL or path"),
    ],
)
def test_config_values_of_the_wrong_type_say_what_to_write(tmp_path, monkeypatch, text, message):
    config = tmp_path / "config.toml"
    config.write_text(text)
    monkeypatch.setenv("TICKSTORE_CONFIG", str(config))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match=message):
        ts.open_store("x" if "stores" in text else None)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.toml"]  # no store created by accident


@pytest.mark.parametrize("target", [5, 2.5, b"memory://x", ["memory://x"]])
def test_a_store_target_that_is_not_a_string_is_refused(target):
    with pytest.raises(InvalidURLError, match="a URL, a path or a configured name"):
        ts.open_store(target)


def test_a_pathlib_path_opens_the_local_store(tmp_path):
    with ts.open_store(Path(tmp_path) / "db") as store:
        store.insert("A", pd.DataFrame({"price": [1.0, 2.0, 3.0]}, index=TIMES))
    with ts.open_store(str(tmp_path / "db")) as store:
        assert len(store.select("A")) == 3


@pytest.mark.parametrize("backend", ["memory://x", "s3://bucket/db", Path("db"), None, 5])
def test_the_tickstore_constructor_given_anything_but_a_backend_says_how_to_open_a_store(backend):
    named = isinstance(backend, (str, Path))
    with pytest.raises(ConfigError, match="open_store" if named else "takes a Backend, got") as caught:
        ts.Tickstore(backend)
    assert "bucket" not in str(caught.value)  # the URL is not echoed: it may hold a secret


@pytest.mark.parametrize("columns", [5, 1.5, object()])
def test_columns_that_are_not_names_are_refused(columns):
    with ts.open_store("memory://bad-columns") as store:
        store.insert("A", pd.DataFrame({"price": [1.0, 2.0, 3.0]}, index=TIMES))
        with pytest.raises(InvalidInputError, match="columns must be a column name or a list of names"):
            store.select("A", columns=columns)
        with pytest.raises(InvalidInputError, match="columns must be a column name or a list of names"):
            store.to_dask("A", columns=columns)


@pytest.mark.parametrize(
    ("option", "value"),
    [("max_workers", -1), ("max_workers", 0), ("max_workers", 2.5), ("max_workers", True), ("index_ttl", -1.0)],
)
def test_numeric_store_options_out_of_range_are_config_errors(option, value):
    two_days = pd.DataFrame({"price": [1.0, 2.0]}, index=[TIMES[0], TIMES[0] + pd.Timedelta(days=1)])
    with pytest.raises(ConfigError, match=f"{option} must be"), ts.open_store("memory://n", **{option: value}) as store:
        store.insert("A", two_days)  # two days: the thread pool is used
        store.select("A")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"cache": True, "cache_dir": 5}, "cache_dir must be a directory path, got int"),
        ({"cache": True, "cache_dir": ""}, "cache_dir='' is not a directory path"),  # was: the working directory
        ({"cache": True, "cache_dir": "/tmp/a\0b"}, r"cache_dir='/tmp/a\\x00b' is not a directory path"),
        ({"cache": 5}, "cache must be True, False or an ObjectCache, got int"),
        ({"cache": object()}, "cache must be True, False or an ObjectCache, got object"),
    ],
)
def test_cache_options_of_the_wrong_type_are_config_errors(options, message):
    with pytest.raises(ConfigError, match=message):
        ts.open_store("memory://cache-options", **options)


@pytest.mark.parametrize(
    ("url", "options"),
    [("memory://opts", {"bogus": 1}), ("memory://opts", {"index_ttl": -1}), ("memory://opts", {"max_workers": 0})],
)
def test_bad_keyword_options_are_invalid_option_errors(url, options):
    with pytest.raises(InvalidOptionError):
        ts.open_store(url, **options)


def test_a_reversed_range_is_refused_by_every_call_that_takes_one():
    with ts.open_store("memory://reversed") as store:
        store.insert("A", pd.DataFrame({"price": [1.0, 2.0, 3.0]}, index=TIMES))
        calls = [
            lambda: store.select("A", "2024-01-03", "2024-01-02"),
            lambda: store.compact("A", "2024-01-03", "2024-01-02"),
            lambda: store.bars("A", "2024-01-03", "2024-01-02"),
            lambda: store.files("A", "2024-01-03", "2024-01-02"),
        ]
        for call in calls:
            with pytest.raises(InvalidTimeError, match=r"start 2024-01-03.* is after end 2024-01-02"):
                call()


class _CaseFoldingObjects(dict):  # type: ignore[type-arg]
    """Objects found whatever the case of their key, as on a Mac's or Windows' disk."""

    def get(self, key: str, default: object = None) -> object:
        return super().get(key.casefold(), default)

    def __setitem__(self, key: str, value: object) -> None:
        super().__setitem__(key.casefold(), value)

    def pop(self, key: str, *default: object) -> object:
        return super().pop(key.casefold(), *default)


def test_symbols_differing_only_in_case_are_refused_where_storage_ignores_case():
    ticks = pd.DataFrame({"price": [1.0, 2.0, 3.0]}, index=TIMES)
    backend = MemoryBackend("case-folding")
    backend._objects = _CaseFoldingObjects()
    with ts.Tickstore(backend) as store:
        store.insert("BTCUSD", ticks)
        for call in (
            lambda: store.insert("btcusd", ticks * 2),  # would have become a correction of BTCUSD
            lambda: store.append("BtcUsd", ticks * 2),
            lambda: store.select("btcusd"),
        ):
            with pytest.raises(InvalidSymbolError, match="differ only in case are one; use 'BTCUSD'"):
                call()
        assert store.select("BTCUSD")["price"].tolist() == [1.0, 2.0, 3.0] and len(store.history("BTCUSD")) == 1
    with ts.open_store("memory://case-keeping") as store:  # storage that keeps case: two symbols
        store.insert("BTCUSD", ticks)
        store.insert("btcusd", ticks * 2)
        assert store.select("btcusd")["price"].tolist() == [2.0, 4.0, 6.0]
