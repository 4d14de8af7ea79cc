"""Sealed index chunks: the ended versions a symbol's index object no longer holds.

A commit that leaves more than `~tickstore_core.index.SEAL_AT` ended versions in the index object
first writes them, once, to an immutable chunk object (``_index/{SYMBOL}/{token}.json``) and
commits the index referencing it, so the object compare-and-swap rewrites stays small however long
the history grows. Chunks are read only when a query needs them (an ``as_of`` they cover, or the
whole history) and kept in memory: they never change.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Sequence

from .backend import Backend
from .cache import ObjectCache
from .errors import CorruptObjectError, ObjectNotFoundError, TickstoreError
from .index import CHUNK_FORMATS, Chunk, SymbolIndex, Version, versions_from_json
from .layout import INDEX_PREFIX, writer_token

__all__ = ["ChunkStore"]


class ChunkStore:
    """Reads (once) and writes the sealed chunks of one store's indexes."""

    def __init__(self, backend: Backend, cache: ObjectCache | None) -> None:
        self.backend = backend
        self.cache = cache
        self._read: dict[str, Sequence[Version]] = {}
        self._lock = threading.Lock()

    def read(self, chunk: Chunk) -> Sequence[Version]:
        """The versions of ``chunk``: from memory, the local cache (offline too), else the backend."""
        with self._lock:
            held = self._read.get(chunk.key)
        if held is not None:
            return held
        cached = self.cache.get_tagged(self.backend.url, chunk.key) if self.cache is not None else None
        if cached is not None:
            data = cached[1]
        else:
            try:
                data = self.backend.get(chunk.key)
            except ObjectNotFoundError as exc:
                raise ObjectNotFoundError(
                    f"index chunk {chunk.key} is missing from {self.backend.url} (pruned meanwhile?); "
                    "call store.refresh() and read again, or run `tickstore fsck`"
                ) from exc
            if self.cache is not None:
                self.cache.put_tagged(self.backend.url, chunk.key, "immutable", data)
        versions = tuple(chunk_from_bytes(data, where=f"{self.backend.url}/{chunk.key}"))
        with self._lock:
            self._read[chunk.key] = versions
        return versions

    def seal(self, symbol: str, index: SymbolIndex) -> tuple[SymbolIndex, str | None]:
        """``index`` with its ended versions moved to a new chunk object when it holds too many.

        The chunk is written (under a new unique key) before the index that references it is
        committed; returns the key, to `discard` if that commit loses its race.
        """
        if not index.needs_seal:
            return index, None
        key = f"{INDEX_PREFIX}{symbol}/{writer_token()}.json"
        sealed, data = index.seal(key)
        self.backend.put(key, data, mode="create")
        return sealed, key

    def discard(self, key: str | None) -> None:
        """Delete a chunk no committed index references (best effort: an orphan chunk is harmless)."""
        if key is not None:
            with contextlib.suppress(TickstoreError):
                self.backend.delete(key)


def chunk_from_bytes(data: bytes, *, where: str) -> list[Version]:
    """The versions of a sealed chunk object."""
    try:
        document = json.loads(data)
        if document.get("format") not in CHUNK_FORMATS:
            raise ValueError(f"unknown chunk format {document.get('format')!r}")
        return versions_from_json(document)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise CorruptObjectError(f"index chunk {where} cannot be read ({exc}); restore it from a backup") from exc
