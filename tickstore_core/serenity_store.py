"""Recognising a store written by serenity's tick store, and keeping its index in memory.

A location without a tickstore manifest is a serenity store when it holds serenity's index
(``index.h5``, or the ``index`` blob in Azure): that index, parsed by
:mod:`tickstore_core.serenity_index`, is the truth for every read, re-read when it changes.
Without it, versions are rebuilt from the data files' names and modification times (with a
:class:`LegacyIndexWarning`). Nothing is ever written into such a store.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .backend import Backend, ObjectMeta
from .errors import BackendError, LegacyIndexWarning, ObjectNotFoundError
from .index import SymbolIndex, Version
from .layout import INDEX_PREFIX, MANIFEST_KEY, Layout, layout_for, stores_below
from .serenity_index import INDEX_KEYS, index_from_listing, read_serenity_index

__all__ = ["INDEX_KEYS", "Detected", "SerenityStore", "detect", "index_h5_over_older_indexes", "read_index"]

log = logging.getLogger("tickstore")

if TYPE_CHECKING:
    from .cache import ObjectCache

_FILE_TAG = "~serenity-file-tag/"
"""Where the cache keeps a file's tag, under the index's ETag (no serenity key starts with ``~``)."""

ReadMutable = Callable[[str], "tuple[str | None, bytes | None]"]
"""Reads a mutable object: (ETag, bytes), or (None, None) when it does not exist."""


@dataclass(frozen=True)
class _Snapshot:
    key: str | None  # None: derived from the files
    indexes: dict[str, SymbolIndex]
    etag: str | None
    loaded_at: float
    file_tags: dict[str, str] = field(default_factory=dict)  # key -> tag, asked since the index was read


class SerenityStore:
    """A serenity store's per-symbol indexes, re-read once ``ttl`` passed and the index changed."""

    def __init__(self, backend: Backend, read: ReadMutable, snapshot: _Snapshot) -> None:
        self._backend = backend
        self._read = read
        self._snapshot = snapshot
        self._lock = threading.Lock()

    @property
    def etag(self) -> str | None:
        return self._snapshot.etag

    @property
    def loaded_at(self) -> float:
        return self._snapshot.loaded_at

    def forget(self) -> None:
        """Make the next call re-check the index."""
        with self._lock:
            held = self._snapshot
            self._snapshot = _Snapshot(held.key, held.indexes, held.etag, -float("inf"), held.file_tags)

    def cache_identity(self, version: Version, cache: ObjectCache) -> str:
        """What a cache entry of ``version``'s file must have been decoded from: its number, start and tag.

        Serenity records no checksums, and a store written again from scratch reuses the names, the
        numbers and the first versions' start (``Timestamp.min``): only the file's own tag (ETag and
        size) tells the new file from the cached one. It is asked (one HEAD) once per file each time
        the index changes, and kept in the cache, so that warm and offline reads ask nothing more.
        """
        held = self._snapshot
        tag = held.file_tags.get(version.key) or self._file_tag(version.key, held, cache)
        return f"serenity-{version.version}-{version.start_time}-{tag}"

    def _file_tag(self, key: str, held: _Snapshot, cache: ObjectCache) -> str:
        url, generation = self._backend.url, held.etag or ""
        cached = cache.get_tagged(url, _FILE_TAG + key)
        if cached is not None and cached[0] == generation:
            tag = cached[1].decode()
        else:
            try:
                tag = _tag_of(self._backend.head(key))
            except (BackendError, ObjectNotFoundError):
                return "unknown"  # a miss: the read that follows says what is wrong
            cache.put_tagged(url, _FILE_TAG + key, generation, tag.encode())
        held.file_tags[key] = tag
        return tag

    def indexes(self, ttl: float) -> dict[str, SymbolIndex]:
        """Every symbol's index: held ones if younger than ``ttl`` seconds or unchanged (one HEAD)."""
        held = self._snapshot
        if time.monotonic() - held.loaded_at < ttl:
            return held.indexes
        fresh = _listed(list(self._backend.list(""))) if held.key is None else self._reread(held)
        with self._lock:
            self._snapshot = fresh
        return fresh.indexes

    def _reread(self, held: _Snapshot) -> _Snapshot:
        key = held.key
        assert key is not None
        with contextlib.suppress(BackendError, ObjectNotFoundError):  # then the read below decides
            if self._backend.head(key).etag == held.etag:  # unchanged: no GET, no parse
                return _Snapshot(key, held.indexes, held.etag, time.monotonic(), held.file_tags)
        etag, data = self._read(key)
        if data is None:
            raise ObjectNotFoundError(
                f"{self._backend.url}/{key}, the serenity store's index, has disappeared; open the store again"
            )
        if etag is not None and etag == held.etag:
            return _Snapshot(key, held.indexes, etag, time.monotonic(), held.file_tags)
        return _Snapshot(key, read_serenity_index(data, where=f"{self._backend.url}/{key}"), etag, time.monotonic())


_LEGACY_LAYOUT = layout_for("behemoth")


def _listed(metas: list[ObjectMeta]) -> _Snapshot:
    """The versions derived from a listing, with each file's tag from it."""
    tags = {m.key: _tag_of(m) for m in metas}
    return _Snapshot(None, index_from_listing(metas, _LEGACY_LAYOUT), None, time.monotonic(), tags)


def _tag_of(meta: ObjectMeta) -> str:
    """What changes when a file is written again: its ETag and size (modification time without an ETag)."""
    return f"{meta.etag or meta.last_modified}-{meta.size}"


@dataclass(frozen=True)
class Detected:
    """What a location without a manifest is: a serenity store, a new store, or something unknown."""

    serenity: SerenityStore | None = None
    unknown_layout: str | None = None  # why the location is neither kind of store


def read_index(backend: Backend, read: ReadMutable, keys: Sequence[str] = INDEX_KEYS) -> SerenityStore | None:
    """The serenity store whose index is the first of ``keys`` that exists; None if none does."""
    for key in keys:
        etag, data = read(key)
        if data is not None:
            indexes = read_serenity_index(data, where=f"{backend.url}/{key}")
            return SerenityStore(backend, read, _Snapshot(key, indexes, etag, time.monotonic()))
    return None


def index_h5_over_older_indexes(backend: Backend, read: ReadMutable) -> SerenityStore | None:
    """The serenity store of an ``index.h5`` beside the indexes an older tickstore built from its files."""
    found = read_index(backend, read, INDEX_KEYS[:1])
    if found is not None:
        message = (
            f"{backend.url} holds serenity's index.h5 and also the indexes an older tickstore built "
            "from the files; index.h5 is the truth (exact times and deletes), the _index/ files are ignored"
        )
        log.warning(message)
        warnings.warn(message, LegacyIndexWarning, stacklevel=5)
    return found


FOREIGN_OBJECTS_SCANNED = 10_000
"""Objects listed, none of them a store's, before a location without a manifest is called no store."""


def _known(meta: ObjectMeta) -> bool:
    """Whether an object is a tickstore index or manifest, or a serenity data file."""
    key = meta.key
    return key.startswith(INDEX_PREFIX) or key == MANIFEST_KEY or _LEGACY_LAYOUT.parse_data_key(key) is not None


def _outside_other_stores(metas: list[ObjectMeta]) -> list[ObjectMeta]:
    """``metas`` without the objects of stores below this location (a backup copied to ``db/backup``)."""
    below = stores_below(m.key for m in metas)
    return [m for m in metas if not m.key.startswith(below)] if below else metas


def detect(backend: Backend, layout: Layout, read: ReadMutable) -> Detected:
    """For a location without a manifest: find serenity's index, else data files, else foreign objects.

    Costs one HEAD (plus a GET of the index when there is one) per index name; without an
    index, one listing (which stops at the first object when the location is empty, and after
    `FOREIGN_OBJECTS_SCANNED` objects when none of them is a store's).
    """
    found = read_index(backend, read)
    if found is not None:
        return Detected(serenity=found)
    listing = iter(backend.list(""))  # a plugin's list may return a list rather than an iterator
    first = next(listing, None)
    if first is None:
        return Detected()  # a new, empty store
    metas, known = [first], _known(first)
    for meta in listing:
        metas.append(meta)
        known = known or _known(meta)
        if not known and len(metas) >= FOREIGN_OBJECTS_SCANNED:
            break  # a directory or bucket of other things, opened by mistake: not worth listing to the end
    metas = _outside_other_stores(metas)
    if not metas:
        return Detected()  # only other stores below this location: a new, empty store
    if any(m.key.startswith(INDEX_PREFIX) or m.key == MANIFEST_KEY for m in metas):
        return Detected()
    if any(_LEGACY_LAYOUT.parse_data_key(m.key) is not None for m in metas):
        message = (
            f"{backend.url} has no serenity index (index.h5 / index) and no tickstore manifest: "
            "versions were derived from the data files' names and modification times (the first version "
            "of a day valid from the beginning of time, each later one from its file's mtime) and deletes "
            "cannot be known; restore the index to read the store exactly as serenity does"
        )
        log.warning(message)
        warnings.warn(message, LegacyIndexWarning, stacklevel=5)
        return Detected(serenity=SerenityStore(backend, read, _listed(metas)))
    if not layout.parse_data_key(metas[0].key):
        sample = ", ".join(m.key for m in metas[:3])
        return Detected(
            unknown_layout=(
                f"{backend.url} holds objects (e.g. {sample}) but is neither a tickstore store "
                "(no _tickstore.json) nor a serenity store (no index.h5 / index, no YYYY/MM/DD/SYMBOL_VVVV.h5 "
                "files); check the URL"
            )
        )
    return Detected()
