"""Opening a store from a URL: scheme → backend plugin, query/keyword options → settings.

``open_store(url)`` accepts ``s3://bucket/db``, ``az://container/db``, ``file:///data/db``, a bare
path, ``memory://name``, or any scheme an installed plugin registers. Without a URL it uses
``TICKSTORE_URL``, and without that the default local store in the user's data directory.
Credentials never go in URLs: they come from the environment, the SDKs' credential chains or
keyword options, so a URL can be logged and shown safely.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import platformdirs

from .errors import InvalidURLError
from .plugins import BackendRegistry, get_registry
from .store import Tickstore

__all__ = ["default_store_path", "open_store", "parse_url"]

log = logging.getLogger("tickstore")

STORE_OPTIONS = {
    "cache": bool,
    "cache_dir": str,
    "cache_size": str,
    "timestamp_column": str,
    "tz": str,
    "index_ttl": float,
    "max_workers": int,
    "progress": bool,
    "allow_pickle": bool,
}
_SECRET_WORDS = ("secret", "password", "passwd", "token", "key", "sig", "credential", "connection_string")


def default_store_path() -> Path:
    """Where the embedded default store lives: ``<user data dir>/tickstore/default``."""
    return Path(platformdirs.user_data_dir("tickstore")) / "default"


def _as_bool(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise InvalidURLError(f"option {name}={value!r} must be true or false")


def _convert(name: str, value: Any) -> Any:
    """A store option from the URL query (a string) as its type; keyword values pass as given."""
    kind = STORE_OPTIONS[name]
    if not isinstance(value, str):
        return value
    if kind is bool:
        return _as_bool(name, value)
    try:
        return kind(value)
    except (TypeError, ValueError) as exc:
        raise InvalidURLError(f"option {name}={value!r} must be a {kind.__name__}") from exc


def parse_url(url: str) -> tuple[str, str, dict[str, str]]:
    """Split a store URL into (scheme, URL without query, query options).

    A bare path becomes a ``file://`` URL. Credentials in the URL (``user:password@``) or
    secret-looking query options are refused without echoing them.
    """
    if not isinstance(url, str) or not url.strip():
        raise InvalidURLError(f"a store URL must be a non-empty string, got {url!r}")
    if "://" not in url:
        return "file", Path(url).expanduser().resolve().as_uri(), {}
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if not scheme:
        raise InvalidURLError("the store URL has no scheme; use e.g. s3://bucket/db or file:///data/db")
    if parts.username is not None or parts.password is not None:
        raise InvalidURLError(
            f"credentials are not allowed in a store URL ({scheme}://...@...); pass them through the "
            "environment, the SDK's credential chain or keyword options"
        )
    try:
        pairs = parse_qsl(parts.query, keep_blank_values=True, strict_parsing=bool(parts.query))
    except ValueError as exc:
        raise InvalidURLError(f"the query string of the {scheme}:// URL is malformed") from exc
    options: dict[str, str] = {}
    for name, value in pairs:
        if name in options:
            raise InvalidURLError(f"option {name!r} appears twice in the {scheme}:// URL")
        if any(word in name.lower() for word in _SECRET_WORDS):
            raise InvalidURLError(
                f"option {name!r} looks like a credential and is not allowed in a URL (URLs end up in "
                "logs); pass it as a keyword option or through the environment"
            )
        options[name] = value
    base = urlunsplit((scheme, parts.netloc, parts.path, "", ""))
    return scheme, base, options


def open_store(url: str | None = None, *, registry: BackendRegistry | None = None, **options: Any) -> Tickstore:
    """Open the tick store at ``url`` (see the module docstring for the forms it takes).

    Store options (``timestamp_column``, ``tz``, ``cache``, ``cache_dir``, ``cache_size``,
    ``index_ttl``, ``max_workers``, ``progress``, ``allow_pickle``) are taken from keyword
    arguments or the URL query; every other option goes to the backend, which rejects those it
    does not know.

    >>> store = open_store("memory://example")
    >>> store
    <Tickstore memory://example (parquet, tz=UTC, timestamp_column='time')>
    >>> store.close()
    """
    if url is None:
        url = os.environ.get("TICKSTORE_URL") or str(default_store_path())
    scheme, base, query = parse_url(url)
    merged: dict[str, Any] = {**query, **options}
    store_options = {name: _convert(name, merged.pop(name)) for name in list(merged) if name in STORE_OPTIONS}
    backend_class = (registry or get_registry()).backend_class(scheme)
    backend = backend_class.from_url(base, **merged)
    try:
        store = Tickstore(backend, **store_options)
    except BaseException:
        backend.close()
        raise
    log.info("opened %s", store)
    return store
