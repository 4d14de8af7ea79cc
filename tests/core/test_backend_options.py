"""The shared backend-options base and the plugin-author API that backends import from."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

import tickstore_core.plugin as plugin_api
from tickstore_core.plugin import (
    BackendOptions,
    InvalidURLError,
    flag_option,
    number_option,
    option,
    split_bucket_url,
    split_url,
    text_option,
)

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class _ToyOptions(BackendOptions):
    backend = "toy"
    scheme = "toy"
    credentials_from = "as keyword options"

    region: str | None = option(text_option)
    retries: int = option(number_option(int, 0), 3)
    verify: bool = option(flag_option, True)
    token: str | None = option(text_option, secret=True)


def test_query_strings_and_typed_keywords_mean_the_same_and_a_keyword_wins():
    from_query = _ToyOptions.parse({"retries": "5", "verify": "no"}, {})
    from_keywords = _ToyOptions.parse({}, {"retries": 5, "verify": False})
    assert from_query == from_keywords == _ToyOptions(retries=5, verify=False)
    assert _ToyOptions.parse({"retries": "5"}, {"retries": 7}).retries == 7


def test_unknown_names_are_refused_listing_the_valid_ones():
    with pytest.raises(InvalidURLError, match=r"option\(s\) colour for the toy backend; valid options: region, "):
        _ToyOptions.parse({"colour": "red"}, {})


def test_a_secret_is_refused_in_the_url_without_echo_and_hidden_from_repr():
    with pytest.raises(InvalidURLError, match="token must not be in an toy:// URL") as info:
        _ToyOptions.parse({"token": "hunter2-secret"}, {})
    assert "hunter2" not in str(info.value)
    options = _ToyOptions.parse({}, {"token": "hunter2-secret"})
    assert "hunter2" not in repr(options)
    assert options.secrets() == ["hunter2-secret"] and _ToyOptions.secret_names() == ("token",)
    assert options.redact("denied for hunter2-secret") == "denied for ***"
    assert options.given() == {"token": "hunter2-secret"}


def test_bucket_urls_are_split_and_checked_the_same_for_every_object_store():
    parts = split_bucket_url("TOY://bucket/db/x?region=eu", ("toy",), "toy://bucket/prefix")
    assert parts == ("toy", "bucket", "/db/x", {"region": "eu"})
    with pytest.raises(InvalidURLError, match=r"not an toy://bucket/prefix URL without credentials: toy://\.\.\.$"):
        split_bucket_url("toy://user:hunter2@bucket/db", ("toy",), "toy://bucket/prefix")
    with pytest.raises(InvalidURLError, match="invalid prefix"):
        split_bucket_url("toy://bucket/a/../b", ("toy",), "toy://bucket/prefix")
    assert split_url("file:///data/db?fsync=0&x=") == ("file", "", "/data/db", {"fsync": "0", "x": ""})


def _tickstore_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
    return {name for name in found if name.startswith("tickstore_core")}


@pytest.mark.parametrize(
    "package",
    [
        "backends/tickstore-hdf5/tickstore_hdf5",
        "backends/tickstore-s3/tickstore_s3",
        "backends/tickstore-azure/tickstore_azure",
        "docs/examples/tickstore-sqlite/tickstore_sqlite",
    ],
)
def test_backends_import_only_the_plugin_author_api(package):
    imported = set().union(*(_tickstore_imports(path) for path in (ROOT / package).glob("*.py")))
    assert imported == {"tickstore_core.plugin"}


def test_the_plugin_author_api_lists_only_names_it_has():
    assert all(hasattr(plugin_api, name) for name in plugin_api.__all__)
    assert {"Backend", "BackendOptions", "BackendSpec", "check_key", "hookimpl", "StorageError"} <= set(
        plugin_api.__all__
    )


@pytest.mark.parametrize(
    ("key", "valid"),
    [
        ("a/b", True),
        (".a", True),
        ("..a", True),
        ("a..", True),
        ("...", True),
        ("a/.../b", True),
        (".", False),
        ("..", False),
        ("./a", False),
        ("a/.", False),
        ("a/..", False),
        ("a/./b", False),
        ("a/../b", False),
        ("a/b/", False),
        ("a" * 1001, False),
    ],
)
def test_check_key_refuses_dot_segments_but_not_dots_in_names(key, valid):
    if valid:
        assert plugin_api.check_key(key) == key
    else:
        with pytest.raises(plugin_api.InvalidKeyError):
            plugin_api.check_key(key)
