"""The store's manifest (``_tickstore.json``): the settings fixed when a store is created.

It records the timestamp column, the time zone, the key layout and the object encoding. A store
opened with other settings than it holds is an error; settings left out come from it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .errors import ConfigError, CorruptObjectError, InvalidOptionError, ObjectExistsError, ObjectNotFoundError
from .layout import MANIFEST_KEY
from .times import check_tz

if TYPE_CHECKING:
    from .backend import Backend
    from .cache import ObjectCache

__all__ = [
    "DEFAULT_TIMESTAMP_COLUMN",
    "DEFAULT_TZ",
    "MANIFEST_FORMAT",
    "create_manifest",
    "manifest_bytes",
    "manifest_missing",
    "parse_manifest",
    "settings",
]

MANIFEST_FORMAT = "tickstore/1"
DEFAULT_TIMESTAMP_COLUMN = "time"
DEFAULT_TZ = "UTC"


def parse_manifest(data: bytes, url: str) -> dict[str, Any]:
    """The manifest's fields; :class:`CorruptObjectError` if ``data`` is not a tickstore manifest."""
    try:
        manifest = json.loads(data)
        if manifest.get("format") != MANIFEST_FORMAT:
            raise ValueError(f"unknown format {manifest.get('format')!r}")
    except (ValueError, AttributeError) as exc:
        raise CorruptObjectError(f"{url}/{MANIFEST_KEY} is not a tickstore manifest: {exc}") from exc
    return dict(manifest)


def settings(
    url: str,
    manifest: dict[str, Any] | None,
    timestamp_column: str | None,
    tz: str | None,
    remedy: str = "omit {name} to use the store's setting",
) -> tuple[str, str]:
    """(timestamp column, time zone): the stored ones, else those asked for, else the defaults.

    Asking for a setting that differs from the stored one is a :class:`ConfigError` ending with ``remedy``.
    """
    stored = manifest or {}
    if tz is not None:
        try:
            tz = check_tz(tz)
        except ConfigError as exc:  # an option given to open_store
            raise InvalidOptionError(str(exc)) from None
    if timestamp_column is not None and (not isinstance(timestamp_column, str) or not timestamp_column.strip()):
        raise InvalidOptionError(f"timestamp_column must be a column name, got {timestamp_column!r}")
    if "tz" in stored:
        check_tz(stored["tz"], f"recorded in {url}/{MANIFEST_KEY}, which you may correct")
    for name, asked in (("timestamp_column", timestamp_column), ("tz", tz)):
        if asked is not None and name in stored and stored[name] != asked:
            raise ConfigError(
                f"the store at {url} uses {name}={stored[name]!r}, not {asked!r}; " + remedy.format(name=name)
            )
    column = stored.get("timestamp_column") or timestamp_column or DEFAULT_TIMESTAMP_COLUMN
    zone = stored.get("tz") or tz or DEFAULT_TZ
    if not isinstance(column, str) or not column:
        raise ConfigError(f"timestamp_column must be a non-empty string, got {column!r}")
    return column, zone


def manifest_bytes(timestamp_column: str, tz: str, layout: str, encoding: str) -> bytes:
    """The manifest a new store is created with."""
    manifest = {
        "format": MANIFEST_FORMAT,
        "timestamp_column": timestamp_column,
        "tz": tz,
        "layout": layout,
        "encoding": encoding,
    }
    return json.dumps(manifest, indent=1).encode()


def create_manifest(
    backend: Backend,
    cache: ObjectCache | None,
    read: Callable[[], dict[str, Any] | None],
    timestamp_column: str,
    tz: str,
    layout: str,
    encoding: str,
) -> None:
    """Create the store's manifest with these settings; if another writer created one first, its settings
    (read with ``read``) are checked against them (a :class:`ConfigError` if they differ), not replaced."""
    data = manifest_bytes(timestamp_column, tz, layout, encoding)
    try:
        written = backend.put(MANIFEST_KEY, data, mode="create")
    except ObjectExistsError:  # this store object was opened before the store existed, with these settings
        remedy = "another writer created the store meanwhile: open it again to write with its settings"
        settings(backend.url, read() or {}, timestamp_column, tz, remedy)
        return
    if cache is not None:  # so that this machine can open the store offline
        cache.put_tagged(backend.url, MANIFEST_KEY, written.etag, data)


def manifest_missing(backend: Backend) -> bool:
    """Whether the store has no manifest (one request): another process may have destroyed the store
    since this one read or wrote it."""
    try:
        backend.head(MANIFEST_KEY)
    except ObjectNotFoundError:
        return True
    return False
