"""Finding backends: the plugin registry, URL parsing and open_store's precedence."""

from __future__ import annotations

import logging
import re

import pytest

import tickstore_core as ts
from tickstore_core.config import parse_url
from tickstore_core.errors import (
    BackendConflictError,
    BackendUnavailableError,
    InvalidURLError,
    UnknownBackendError,
)
from tickstore_core.memory import MemoryBackend
from tickstore_core.plugins import BackendRegistry, BackendSpec, hookimpl, load_plugins


class _Plugin:
    def __init__(self, *specs: BackendSpec) -> None:
        self.specs = specs

    @hookimpl
    def tickstore_backends(self):
        return list(self.specs)


@pytest.fixture
def plugins():
    """Fresh plugins with only the built-in backends (installed plugins left out)."""
    return load_plugins(load_entry_points=False)


def test_installed_backends_are_found_through_entry_points():
    registry = BackendRegistry(load_plugins())
    assert registry.backend_class("memory") is MemoryBackend
    assert {"memory", "file", "s3", "az"} <= set(registry.schemes)


def test_unknown_scheme_lists_the_installed_ones(plugins):
    with pytest.raises(UnknownBackendError, match="'gs://'; installed schemes: memory"):
        BackendRegistry(plugins).spec_for("gs")


def test_a_third_party_plugin_registers_a_scheme(plugins):
    plugins.register(_Plugin(BackendSpec("mine", ("mine",), lambda: MemoryBackend, distribution="acme")))
    assert BackendRegistry(plugins).backend_class("MINE") is MemoryBackend


def test_two_plugins_claiming_a_scheme_is_a_conflict_naming_both(plugins):
    plugins.register(_Plugin(BackendSpec("one", ("dup",), lambda: MemoryBackend, distribution="dist-one")))
    plugins.register(_Plugin(BackendSpec("two", ("dup",), "x:Y", distribution="dist-two")))
    with pytest.raises(BackendConflictError, match=r"one \(dist-one\).*two \(dist-two\)"):
        BackendRegistry(plugins).spec_for("dup")


def test_a_backend_whose_sdk_is_missing_explains_how_to_install_it(plugins):
    spec = BackendSpec(
        "gcs", ("gs",), "tickstore_gcs_not_installed._backend:GCS", install_hint="pip install tickstore-gcs"
    )
    plugins.register(_Plugin(spec))
    with pytest.raises(BackendUnavailableError, match="pip install tickstore-gcs"):
        BackendRegistry(plugins).backend_class("gs")
    plugins.register(_Plugin(BackendSpec("bad", ("bad",), lambda: dict)))  # type: ignore[arg-type]
    with pytest.raises(BackendUnavailableError, match=r"not a tickstore_core\.Backend"):
        BackendRegistry(plugins).backend_class("bad")


class _Hook:
    def __init__(self, make) -> None:
        self.make = make

    @hookimpl
    def tickstore_backends(self):
        return self.make()


def _raise():
    raise RuntimeError("boom")


@pytest.mark.parametrize(
    "make, why",
    [
        (_raise, "raised RuntimeError: boom"),
        (lambda: None, "returned NoneType"),
        (lambda: BackendSpec("one", ("one",), lambda: MemoryBackend), "returned BackendSpec"),
        (lambda: ["memory"], "other than BackendSpecs"),
        (lambda: [BackendSpec("s", "bad", lambda: MemoryBackend)], "tuple of schemes"),  # type: ignore[arg-type]
    ],
)
def test_a_plugin_hook_that_fails_or_returns_other_things_is_skipped_and_named(plugins, make, why, caplog):
    plugins.register(_Hook(make))
    registry = BackendRegistry(plugins)
    assert registry.backend_class("memory") is MemoryBackend  # the others still work
    assert any(why in error for error in registry.broken.values())
    assert why in caplog.text
    assert "b" not in registry.schemes  # a string of schemes was not read letter by letter


@pytest.mark.parametrize("load", ["tickstore_core.memory:Missing", "json:loads", lambda: 1 / 0])
def test_a_backend_class_that_cannot_load_is_backend_unavailable(plugins, load):
    plugins.register(_Plugin(BackendSpec("odd", ("odd",), load)))
    with pytest.raises(BackendUnavailableError, match="backend 'odd'"):
        BackendRegistry(plugins).backend_class("odd")


def _returns_nothing(cls, url, **options):
    return None


def _raises_its_own(cls, url, **options):
    return {}["missing"]


@pytest.mark.parametrize("from_url", [_returns_nothing, _raises_its_own])
def test_a_from_url_that_fails_its_own_way_or_returns_no_backend_is_a_backend_error(monkeypatch, from_url):
    from tickstore_core import BackendError, open_store

    monkeypatch.setattr(MemoryBackend, "from_url", classmethod(from_url))
    with pytest.raises(BackendError, match="backend 'memory'"):
        open_store("memory://broken")


def test_a_broken_plugin_is_reported_and_does_not_hide_the_others(monkeypatch, caplog):
    import importlib.metadata as metadata

    broken = metadata.EntryPoint("broken", "tickstore_no_such_module", "tickstore.backends")
    real = metadata.entry_points

    def entry_points(**kwargs):
        found = list(real(**kwargs))
        return [*found, broken] if kwargs.get("group") == "tickstore.backends" else found

    monkeypatch.setattr(metadata, "entry_points", entry_points)
    with caplog.at_level(logging.WARNING, logger="tickstore_core.plugins"):
        plugins = load_plugins()
        registry = BackendRegistry(plugins)
    assert "broken" in plugins.broken and "broken" in registry.broken and "broken" in caplog.text
    assert not hasattr(plugins.manager, "tickstore_broken")  # our record, not an attribute patched onto pluggy's
    assert registry.backend_class("memory") is MemoryBackend
    with pytest.raises(UnknownBackendError, match="failed to load: broken"):
        registry.spec_for("gs")


def test_tickstore_plugins_limits_which_plugins_load(monkeypatch):
    monkeypatch.setenv("TICKSTORE_PLUGINS", "s3")
    schemes = set(BackendRegistry(load_plugins()).schemes)
    assert "s3" in schemes and "file" not in schemes and "memory" in schemes


def test_parse_url_forms(tmp_path):
    assert parse_url("s3://bucket/db?endpoint_url=http://x") == (
        "s3",
        "s3://bucket/db",
        {"endpoint_url": "http://x"},
    )
    scheme, url, options = parse_url(str(tmp_path / "db"))
    assert (scheme, url, options) == ("file", (tmp_path / "db").as_uri(), {})
    assert parse_url("AZ://container/db")[0] == "az"


@pytest.mark.parametrize(
    ("url", "secret"),
    [
        ("s3://AKIAEXAMPLE:hunter2@bucket/db", "hunter2"),
        ("az://container/db?sas_token=sv%3Dsecretsig", "secretsig"),
        ("az://container/db?account_key=c2VjcmV0a2V5", "c2VjcmV0a2V5"),
        ("s3://bucket/db?aws_secret_access_key=hunter3", "hunter3"),
    ],
)
def test_credentials_in_urls_are_refused_without_echoing_them(url, secret):
    with pytest.raises(InvalidURLError) as caught:
        parse_url(url)
    assert secret not in str(caught.value)


@pytest.mark.parametrize("url", ["", "s3://b/db?a=1&a=2", "s3://b/db?novalue&&", "://nothing"])
def test_malformed_urls_are_refused(url):
    with pytest.raises(InvalidURLError):
        parse_url(url)


@pytest.mark.parametrize("url", ["file:///data/db ", "s3://bucket/db\n", " az://c/db", "/data/db\t"])
def test_a_url_with_blanks_around_it_is_refused_not_read_as_another_directory(url):
    with pytest.raises(InvalidURLError, match="starts or ends with a space"):
        parse_url(url)


@pytest.mark.parametrize(("url", "scheme"), [("file:data/db", "file"), ("s3:bucket/db", "s3"), ("hdf5:x", "hdf5")])
def test_a_scheme_without_slashes_is_refused_not_made_a_directory_named_after_it(url, scheme):
    with pytest.raises(InvalidURLError, match=f"starting {scheme}: lacks the //"):
        parse_url(url)
    assert parse_url(f"./{url}")[0] == "file"  # a directory whose name holds a colon, said so
    assert parse_url("C:/data/db")[0] == "file"  # a Windows drive is one letter: not refused


def test_open_store_takes_options_from_the_url_and_keywords():
    with ts.open_store("memory://opts?tz=Europe/London&index_ttl=0", timestamp_column="ts") as store:
        assert (store.tz, store.index_ttl, store.timestamp_column) == ("Europe/London", 0.0, "ts")
    with pytest.raises(InvalidURLError, match="valid options"):
        ts.open_store("memory://opts?endpoint_url=x")
    with pytest.raises(InvalidURLError, match="true or false"):
        ts.open_store("memory://opts?progress=maybe")


def test_open_store_uses_tickstore_url_then_the_default_store(monkeypatch, tmp_path):
    monkeypatch.setenv("TICKSTORE_URL", "memory://from-env")
    with ts.open_store() as store:
        assert store.backend.url == "memory://from-env"
    monkeypatch.delenv("TICKSTORE_URL")
    monkeypatch.setattr("tickstore_core.config.default_store_path", lambda: tmp_path / "default")
    with ts.open_store() as store:
        assert store.backend.url == (tmp_path / "default").as_uri()
    with pytest.raises(UnknownBackendError, match=r"installed schemes: .*memory"):
        ts.open_store("gs://bucket/db")


def test_a_url_with_blanks_around_it_names_where_it_came_from(tmp_path, monkeypatch):
    monkeypatch.setenv("TICKSTORE_URL", "memory://from-env\n")
    with pytest.raises(InvalidURLError, match=r"^TICKSTORE_URL starts or ends with a space"):
        ts.open_store()
    path = _config(tmp_path, monkeypatch, '[stores.ph]\nurl = "file:///data/db "\n')
    with pytest.raises(InvalidURLError, match=re.escape(f"[stores.ph] url in {path} starts or ends")):
        ts.open_store("ph")


def _config(tmp_path, monkeypatch, text):
    path = tmp_path / "config.toml"
    path.write_text(text)
    monkeypatch.setenv("TICKSTORE_CONFIG", str(path))
    monkeypatch.delenv("TICKSTORE_URL", raising=False)
    return path


def test_named_stores_come_from_the_config_file(tmp_path, monkeypatch):
    _config(
        tmp_path,
        monkeypatch,
        'default = "research"\n'
        '[stores.research]\nurl = "memory://research"\ntz = "Asia/Tokyo"\nindex_ttl = 0\n'
        '[stores.other]\nurl = "memory://other"\ntimestamp_column = "ts"\n',
    )
    with ts.open_store("other") as store:
        assert (store.backend.url, store.timestamp_column) == ("memory://other", "ts")
    with ts.open_store() as store:
        assert (store.backend.url, store.tz, store.index_ttl) == ("memory://research", "Asia/Tokyo", 0)
    with ts.open_store("research", tz="Europe/Paris") as store:  # keywords win over the file
        assert store.tz == "Europe/Paris"
    with pytest.raises(ts.ConfigError, match=r"no store named 'missing'.*configured: other, research"):
        ts.open_store("missing")


@pytest.mark.parametrize(
    "text",
    [
        '[stores.x]\nurl = "az://c/db"\nconnection_string = "AccountKey=abc"\n',
        '[stores.x]\nurl = "s3://b/db"\naws_secret_access_key = "abc"\n',
        '[stores.x]\ntz = "UTC"\n',
        "stores = 3\n",
        "not toml [",
    ],
)
def test_bad_config_files_are_clear_errors_without_secrets(tmp_path, monkeypatch, text):
    _config(tmp_path, monkeypatch, text)
    with pytest.raises(ts.ConfigError) as caught:
        ts.open_store("x")
    assert "abc" not in str(caught.value)


def test_the_conformance_suites_without_pytest_or_hypothesis_say_which_extra_to_install():
    import subprocess
    import sys

    code = (
        "import sys; sys.modules['hypothesis'] = None\n"
        "try:\n    import tickstore_core.testing\n"
        "except Exception as exc:\n    print(type(exc).__name__, exc)\n"
    )
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert shown.startswith("MissingDependencyError") and 'pip install "tickstore-core[testing]"' in shown
