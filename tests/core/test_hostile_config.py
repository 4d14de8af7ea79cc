"""Hostile configuration: credentials pasted into URLs, typos in URLs and settings, and where a bad value came from."""

from __future__ import annotations

import re
import traceback
from dataclasses import dataclass

import pytest

import tickstore_core as ts
from tickstore_core.config import parse_url
from tickstore_core.errors import ConfigError, InvalidOptionError, InvalidURLError, UnknownBackendError
from tickstore_core.plugin import BackendOptions, option, text_option
from tickstore_core.plugins import BackendRegistry, load_plugins

KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="  # Azurite's demo key
TOKEN = "ghp_abcdEFGH1234ijklMNOP5678qrstUVWX90yz"


def _everything_shown(exc: BaseException) -> str:
    """The whole traceback, chained exceptions included, as a user would see it."""
    return "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))


def _config(tmp_path, monkeypatch, text):
    path = tmp_path / "conf" / "config.toml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)
    monkeypatch.setenv("TICKSTORE_CONFIG", str(path))
    monkeypatch.delenv("TICKSTORE_URL", raising=False)
    return path


@pytest.mark.parametrize("secret", [KEY, TOKEN])
@pytest.mark.parametrize("form", ["az://container/db?{}", "s3://bucket/db?{}", "memory://x?{}", "{tmp}/store?{}"])
def test_a_credential_pasted_as_the_url_query_is_never_echoed(tmp_path, form, secret):
    with pytest.raises(InvalidURLError) as caught:
        ts.open_store(form.format(secret, tmp=tmp_path))
    assert secret[:20] not in _everything_shown(caught.value)
    assert "it may be a credential" in str(caught.value) or "it may hold a credential" in str(caught.value)


def test_an_option_name_that_is_no_identifier_is_never_echoed(tmp_path, monkeypatch):
    with pytest.raises(InvalidOptionError, match="no identifier") as caught:
        ts.open_store("memory://x", **{KEY: "1"})
    assert KEY[:20] not in _everything_shown(caught.value)
    _config(tmp_path, monkeypatch, f'[stores.x]\nurl = "memory://x"\n"{KEY}" = 1\n')
    with pytest.raises(InvalidOptionError, match=r"\[stores\.x\]") as caught:
        ts.open_store("x")
    assert KEY[:20] not in _everything_shown(caught.value)


@dataclass(frozen=True)
class _Options(BackendOptions):
    backend = "toy"
    scheme = "toy"
    region: str | None = option(text_option)


def test_backend_options_do_not_echo_unknown_names_that_are_no_identifiers():
    with pytest.raises(InvalidURLError) as caught:
        _Options.parse({KEY: ""}, {"regoin": "x"})
    assert KEY[:20] not in str(caught.value)
    assert "regoin" in str(caught.value) and "not shown" in str(caught.value)


def test_a_scheme_missing_its_colon_is_refused_not_made_a_local_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TICKSTORE_URL", "s3//research-ticks/crypto")
    with pytest.raises(InvalidURLError, match=r"s3// looks like a URL missing the ':'.*write s3://"):
        ts.open_store()
    assert list(tmp_path.iterdir()) == []
    assert parse_url("./s3//x")[0] == "file"  # a directory of that name, said so


@pytest.mark.parametrize(
    "url", ["s3://b/db#v2", "az://c/db#v2", "file:///data/ticks#v2", "memory://x#", "/data/x?tz=UTC#a"]
)
def test_a_url_fragment_is_refused_not_dropped(url):
    with pytest.raises(InvalidURLError, match=r"remove the '#...'") as raised:
        parse_url(url)
    local = not url.startswith(("s3:", "az:", "memory:"))  # %23 works in a local path only: prefixes never decode it
    assert ("%23" in str(raised.value)) == local


def test_a_bare_path_keeps_its_hash(tmp_path):
    assert parse_url(str(tmp_path / "plain#v2")) == ("file", (tmp_path / "plain#v2").resolve().as_uri(), {})


def test_a_padded_cache_dir_is_refused_not_made_relative(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TICKSTORE_CACHE_DIR", f" {tmp_path}/cache")
    with pytest.raises(ConfigError, match=r"^TICKSTORE_CACHE_DIR starts or ends with a space"):
        ts.open_store("memory://padded", cache=True)
    monkeypatch.delenv("TICKSTORE_CACHE_DIR")
    with pytest.raises(ConfigError, match=r"^cache_dir starts or ends with a space"):
        ts.open_store("memory://padded", cache=True, cache_dir=f"{tmp_path}/cache ")
    assert list(tmp_path.iterdir()) == []


def test_a_relative_configured_url_is_beside_the_config_file_not_the_current_directory(tmp_path, monkeypatch):
    path = _config(tmp_path, monkeypatch, '[stores.raid]\nurl = "ticks"\n[stores.typo]\nurl = "s3//b/db"\n')
    for cwd in ("a", "b"):
        (tmp_path / cwd).mkdir()
        monkeypatch.chdir(tmp_path / cwd)
        with ts.open_store("raid") as store:
            assert store.backend.url == (path.parent / "ticks").resolve().as_uri()
    with pytest.raises(InvalidURLError, match="missing the ':'"):
        ts.open_store("typo")


@pytest.mark.parametrize(
    "keyword", [{"tz": "+05:00"}, {"tz": 5}, {"cache_size": "lots"}, {"timestamp_column": ""}, {"max_workers": 0}]
)
def test_a_keyword_value_the_store_refuses_is_an_invalid_option_error(keyword):
    """As the guide says; a bad tz or cache size was a plain ConfigError, an empty timestamp column ignored."""
    with pytest.raises(InvalidOptionError):
        ts.open_store("memory://kw", cache=True, **keyword)


@pytest.mark.parametrize(
    "keyword", [{"index_ttl": "abc"}, {"max_workers": "four"}, {"cache": "maybe"}, {"progress": "sometimes"}]
)
def test_a_bad_store_option_keyword_is_an_invalid_option_error(keyword):
    ((name, value),) = keyword.items()
    with pytest.raises(InvalidOptionError, match=f"option {name}='{value}' must be"):
        ts.open_store("memory://kw", **keyword)
    with pytest.raises(InvalidURLError) as caught:  # in the URL it stays a URL error
        ts.open_store(f"memory://kw?{name}={value}")
    assert not isinstance(caught.value, InvalidOptionError)


@pytest.mark.parametrize(("typo", "meant"), [("cache_szie", "cache_size"), ("cache_directory", "cache_dir")])
def test_a_misspelt_store_option_lists_the_store_options_and_the_close_match(typo, meant):
    with pytest.raises(InvalidOptionError) as caught:
        ts.open_store("memory://kw", **{typo: "x"})
    message = str(caught.value)
    assert f"unknown option(s) {typo}" in message
    assert "store options: cache, cache_dir, cache_size, timestamp_column, tz," in message
    assert f"did you mean {meant} for {typo}?" in message
    with pytest.raises(InvalidOptionError, match=r"store options: .*tz") as caught:
        ts.open_store("memory://kw", timezone="UTC")
    assert "did you mean" not in str(caught.value)


def test_a_bad_cache_size_names_the_environment_variable(monkeypatch):
    monkeypatch.setenv("TICKSTORE_CACHE_SIZE", "4 GiB.")
    with pytest.raises(ConfigError, match=r"^TICKSTORE_CACHE_SIZE: cache size '4 GiB.' is not a size"):
        ts.open_store("memory://size", cache=True)


def test_a_bad_configured_option_names_the_config_file_and_store(tmp_path, monkeypatch):
    path = _config(tmp_path, monkeypatch, '[stores.x]\nurl = "memory://x"\nindex_ttl = "5s"\n')
    with pytest.raises(InvalidOptionError, match=re.escape(f"[stores.x] in {path}: option index_ttl='5s' must")):
        ts.open_store("x")
    with ts.open_store("x", index_ttl=1) as store:  # a keyword wins over the file
        assert store.index_ttl == 1


@pytest.mark.parametrize(
    ("name", "value", "error", "said"),
    [
        ("index_ttl", -1, InvalidOptionError, "index_ttl must be a number >= 0"),
        ("max_workers", 0, InvalidOptionError, "max_workers must be an integer >= 1"),
        ("cache_size", "lots", ConfigError, "cache size 'lots' is not a size"),
        ("tz", "Mars/Base", ConfigError, "tz='Mars/Base' is not a time zone"),
    ],
)
def test_a_configured_value_the_store_refuses_names_the_config_file(tmp_path, monkeypatch, name, value, error, said):
    """Values of the right type that the store itself checks: the message says where to fix them."""
    setting = f'{name} = "{value}"' if isinstance(value, str) else f"{name} = {value}"
    path = _config(tmp_path, monkeypatch, f'[stores.x]\nurl = "memory://x"\ncache = true\n{setting}\n')
    with pytest.raises(error, match=re.escape(f"[stores.x] in {path}: {said}")):
        ts.open_store("x")
    with pytest.raises(error, match=f"^{re.escape(said)}"):  # the same value as a keyword: no file to name
        ts.open_store("memory://y", cache=True, **{name: value})
    if name in ("tz", "index_ttl"):  # in the configured URL's query: the file is named too
        _config(tmp_path, monkeypatch, f'[stores.x]\nurl = "memory://x?{name}={value}"\n')
        with pytest.raises(ConfigError, match=re.escape(f"[stores.x] in {path}: ")):
            ts.open_store("x")


def test_tickstore_plugins_naming_no_installed_plugin_is_said_when_a_scheme_has_no_backend(monkeypatch, caplog):
    monkeypatch.setenv("TICKSTORE_PLUGINS", "S3")
    registry = BackendRegistry(load_plugins())
    assert "names no installed tickstore backend plugin: S3" in caplog.text
    with pytest.raises(UnknownBackendError, match=r"TICKSTORE_PLUGINS=S3 .*names no installed plugin: S3 .*s3"):
        registry.spec_for("s3")
    monkeypatch.setenv("TICKSTORE_PLUGINS", "s3")
    with pytest.raises(UnknownBackendError, match=r"TICKSTORE_PLUGINS=s3 limits .*leaves out: .*hdf5") as caught:
        BackendRegistry(load_plugins()).spec_for("file")
    assert "names no installed plugin" not in str(caught.value)
    monkeypatch.delenv("TICKSTORE_PLUGINS")
    with pytest.raises(UnknownBackendError) as caught:
        BackendRegistry(load_plugins()).spec_for("gs")
    assert "TICKSTORE_PLUGINS" not in str(caught.value)
