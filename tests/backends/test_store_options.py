"""Store options however they are given (keyword, URL query, config file, bare path), on every backend."""

from __future__ import annotations

import datetime as dt
import json

import pytest

import tickstore_core as ts
from tickstore_core.config import parse_url
from tickstore_core.layout import MANIFEST_KEY
from tickstore_core.testing import make_ticks

BAD_ZONES = [5, 5.0, -3600, True, "5", "+05:00", "UTC+5", "utc", "Not/AZone", "../../etc/passwd", ""]


def _empty(url: str, options: dict) -> bool:
    with ts.open_store(url, **options) as store:
        return not list(store.backend.list(""))


@pytest.mark.parametrize("zone", BAD_ZONES)
def test_tz_must_be_an_iana_name_given_as_a_keyword(store_location, zone):
    url, options = store_location()
    with pytest.raises(ts.ConfigError, match="IANA time zone name"):
        ts.open_store(url, tz=zone, **options)
    assert _empty(url, options)  # nothing saved: the manifest does not record the bad zone


@pytest.mark.parametrize("zone", ["5", "-3600", "%2B05:00", "UTC%2B5", "Not/AZone"])
def test_tz_must_be_an_iana_name_given_in_the_url(store_location, zone):
    url, options = store_location()
    with pytest.raises(ts.ConfigError, match="IANA time zone name"):
        ts.open_store(f"{url}?tz={zone}", **options)
    assert _empty(url, options)


@pytest.mark.parametrize("zone", ["5", "5.5", '"+05:00"', "true"])
def test_tz_must_be_an_iana_name_given_in_the_config_file(tmp_path, monkeypatch, zone):
    path = tmp_path / "config.toml"
    path.write_text(f'[stores.x]\nurl = "{(tmp_path / "db").as_uri()}"\ntz = {zone}\n')
    monkeypatch.setenv("TICKSTORE_CONFIG", str(path))
    with pytest.raises(ts.ConfigError, match="IANA time zone name"):
        ts.open_store("x")
    assert not (tmp_path / "db").exists()


@pytest.mark.parametrize("zone", ["UTC", "America/New_York", "Europe/London", "Etc/GMT+5"])
def test_iana_zones_are_accepted_and_kept(store_location, zone):
    url, options = store_location()
    with ts.open_store(url, tz=zone, **options) as store:
        store.insert("X", make_ticks(dt.date(2024, 3, 4), 3))
    with ts.open_store(url, **options) as store:
        assert store.tz == zone


def test_a_manifest_recording_a_bad_zone_says_where_to_fix_it(store_location):
    url, options = store_location()
    with ts.open_store(url, **options) as store:
        manifest = {"format": "tickstore/1", "timestamp_column": "time", "tz": 5, "layout": store.layout.name}
        store.backend.put(MANIFEST_KEY, json.dumps({**manifest, "encoding": store.codec.name}).encode())
    with pytest.raises(ts.ConfigError, match=rf"tz=5 \(recorded in .*{MANIFEST_KEY}.*IANA"):
        ts.open_store(url, **options)


def test_a_bare_path_takes_options_from_its_query_like_a_url(tmp_path):
    root = tmp_path / "ticks"
    with ts.open_store(f"{root}?tz=Europe/London&fsync=false") as store:
        assert store.tz == "Europe/London" and store.backend.options.fsync is False
        assert store.backend.url == root.as_uri()
        store.insert("X", make_ticks(dt.date(2024, 3, 4), 3))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ticks"]  # no directory named 'ticks?tz=...'
    with ts.open_store(str(root)) as store:
        assert store.tz == "Europe/London"
    with pytest.raises(ts.ConfigError, match="not 'Europe/Paris'"):
        ts.open_store(f"{root}?tz=Europe/Paris")
    with pytest.raises(ts.InvalidURLError, match="unknown option"):
        ts.open_store(f"{root}?tzz=UTC")
    with pytest.raises(ts.InvalidURLError, match="credential"):
        ts.open_store(f"{root}?password=hunter2")
    with pytest.raises(ts.InvalidURLError, match="must not be empty"):
        parse_url("?tz=UTC")


def test_a_directory_named_with_a_question_mark_is_reached_through_a_file_url(tmp_path):
    odd = tmp_path / "odd?name"
    with ts.open_store(odd.as_uri()) as store:
        store.insert("X", make_ticks(dt.date(2024, 3, 4), 3))
    assert odd.is_dir()
