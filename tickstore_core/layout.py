"""Where things live in a backend: object keys for the manifest, indexes and data.

Two layouts, chosen by the backend:

``default`` (object stores)
    ``data/{SYMBOL}/{YYYY}/{MM}/{DD}/{token}.{suffix}``: a data key is unique before the version
    number is known, so a writer uploads once and only retries the index commit.
``behemoth`` (the local HDF5/RAID store)
    ``{YYYY}/{MM}/{DD}/{SYMBOL}_{VERSION:04d}.h5``, the original tick store's layout, so an
    existing store opens as it is. The key carries the version number, so writers of a symbol
    serialise on the backend's lock.

Both keep the store manifest at ``_tickstore.json`` and one index per symbol at
``_index/{SYMBOL}.json``.
"""

from __future__ import annotations

import datetime as dt
import re
import time
import uuid
import zlib
from collections.abc import Iterable
from dataclasses import dataclass

from .backend import Backend, check_key
from .errors import ConfigError, InvalidKeyError
from .symbols import is_symbol

__all__ = [
    "INDEX_PREFIX",
    "MANIFEST_KEY",
    "SUMMARY_PREFIX",
    "DataKey",
    "Layout",
    "destroyable_keys",
    "layout_for",
    "stores_below",
    "summary_key",
    "writer_token",
]

MANIFEST_KEY = "_tickstore.json"
SUMMARY_PREFIX = "_summary/"  # per-symbol statistics for listings, in shards; see Tickstore.summary
SUMMARY_SHARDS = 32
INDEX_PREFIX = "_index/"
_INDEX_SUFFIX = ".json"
_TOKEN = r"[0-9a-f]+-[0-9a-f]{12}"


def writer_token() -> str:
    """A new token naming one insert's data objects: the writer's clock and a random part."""
    return f"{time.time_ns():x}-{uuid.uuid4().hex[:12]}"


@dataclass(frozen=True)
class DataKey:
    """What a data object's key says about it."""

    symbol: str
    day: dt.date
    version: int | None


def summary_key(symbol: str) -> str:
    """The summary shard holding ``symbol``'s entry.

    Few enough shards that a listing reads them all at once, small enough that a commit, which
    updates its symbol's entry, rewrites only a thirty-second of the summary.
    """
    return f"{SUMMARY_PREFIX}{zlib.crc32(symbol.encode()) % SUMMARY_SHARDS:02d}.json"


class Layout:
    """Key naming shared by all layouts; subclasses name the data objects."""

    name: str = ""
    version_named: bool = False
    data_prefix: str = ""

    def index_key(self, symbol: str) -> str:
        return f"{INDEX_PREFIX}{symbol}{_INDEX_SUFFIX}"

    def symbol_of_index_key(self, key: str) -> str | None:
        if key.startswith(INDEX_PREFIX) and key.endswith(_INDEX_SUFFIX):
            name = key[len(INDEX_PREFIX) : -len(_INDEX_SUFFIX)]
            return name if is_symbol(name) else None  # an object someone else put there, not an index
        return None

    def data_key(self, symbol: str, day: dt.date, version: int, token: str, suffix: str) -> str:
        raise NotImplementedError

    def parse_data_key(self, key: str) -> DataKey | None:
        raise NotImplementedError

    def writer_named(self, key: str) -> bool:
        """Whether ``key`` is named as only a tickstore writer names its data objects (gc's first proof)."""
        raise NotImplementedError


class DefaultLayout(Layout):
    name = "default"
    data_prefix = "data/"
    _RE = re.compile(r"data/(?P<symbol>[^/]+)/(?P<y>\d{4})/(?P<m>\d{2})/(?P<d>\d{2})/[^/]+")

    def data_key(self, symbol: str, day: dt.date, version: int, token: str, suffix: str) -> str:
        return f"data/{symbol}/{day:%Y/%m/%d}/{token}.{suffix}"

    def parse_data_key(self, key: str) -> DataKey | None:
        match = self._RE.fullmatch(key)
        day = _date(match) if match else None
        return DataKey(match["symbol"], day, None) if match and day else None

    def writer_named(self, key: str) -> bool:
        """A key with a writer token, ``{token}-{i}.{suffix}`` (see :func:`writer_token`)."""
        return self.parse_data_key(key) is not None and self._WRITTEN.fullmatch(key.rpartition("/")[2]) is not None

    _WRITTEN = re.compile(rf"{_TOKEN}-\d+\.[a-z0-9]+")


class BehemothLayout(Layout):
    name = "behemoth"
    version_named = True
    _RE = re.compile(r"(?P<y>\d{4})/(?P<m>\d{2})/(?P<d>\d{2})/(?P<symbol>[^/]+)_(?P<version>\d{4,})\.h5")

    def data_key(self, symbol: str, day: dt.date, version: int, token: str, suffix: str) -> str:
        return f"{day:%Y/%m/%d}/{symbol}_{version:04d}.h5"

    def parse_data_key(self, key: str) -> DataKey | None:
        match = self._RE.fullmatch(key)
        day = _date(match) if match else None
        return DataKey(match["symbol"], day, int(match["version"])) if match and day else None

    def writer_named(self, key: str) -> bool:
        """Any ``{SYMBOL}_{VERSION}.h5``: the name alone proves nothing (the original store's files share it)."""
        return self.parse_data_key(key) is not None


def _date(match: re.Match[str]) -> dt.date | None:
    try:
        return dt.date(int(match["y"]), int(match["m"]), int(match["d"]))
    except ValueError:
        return None


def layout_for(name: str) -> Layout:
    """The layout a backend asks for by name."""
    layouts: dict[str, Layout] = {"default": DefaultLayout(), "behemoth": BehemothLayout()}
    try:
        return layouts[name]
    except KeyError:
        raise ConfigError(f"unknown layout {name!r}; backends may use: {', '.join(layouts)}") from None


def stores_below(keys: Iterable[str]) -> tuple[str, ...]:
    """The prefixes (``backup/``) of other stores below a location, from its listed ``keys``: each has its
    own ``_tickstore.json`` (a backup copied to ``db/backup``) or serenity's ``index.h5`` / ``index``,
    and its objects are not this store's (no object of a store is named so below its top)."""
    below = {key.rpartition("/")[0] + "/" for key in keys if "/" in key and key.rpartition("/")[2] in _STORE_MARKS}
    return tuple(sorted(below))


_STORE_MARKS = frozenset({MANIFEST_KEY, "index.h5", "index"})
"""The objects that make a prefix a store: tickstore's manifest, serenity's index file and blob."""


def destroyable_keys(backend: Backend) -> tuple[list[str], str]:
    """The keys ``destroy`` deletes: the backend's own, except another store's below this one (a backup
    copied to ``db/backup``: its ``_tickstore.json`` marks it) and names no store object has (which the
    backend's verbs refuse); with what stays, in words ("" if nothing)."""
    listed = [meta.key for meta in backend.list("")]
    nested = stores_below(listed)
    keys, unnamed = [], []
    for key in listed:
        if not backend.owns(key) or key.startswith(nested):
            continue
        try:
            keys.append(check_key(key))
        except InvalidKeyError:
            unnamed.append(key)
    kept = [f"the store{'s' if len(nested) > 1 else ''} at {', '.join(nested)}"] if nested else []
    kept += [f"{len(unnamed)} objects named as no store's object is (e.g. {unnamed[0]!r})"] if unnamed else []
    return keys, " and ".join(kept)
