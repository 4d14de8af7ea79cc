"""The version engine: reads, writes and commits the versions of one store's partitions.

:class:`Engine` owns the backend, the key layout, the codec, the local cache and the thread pool.
It reads a version (through the cache, verified against what its index entry records), loads and revalidates
indexes, writes encoded days and commits index changes with compare-and-swap. The user API
(:mod:`tickstore_core.store`) plans queries and decides what to write; maintenance, copying and
Dask use the same public methods.

Commit protocol (the only place that writes an index): a writer uploads the data object under a
new key first, then swaps the symbol's index with a conditional put on the ETag it read. A writer
that loses the race re-reads the index and retries, so no version is lost or numbered twice. A
crash between the two steps leaves only an orphan object, never a broken index. With the
``behemoth`` layout the data key carries the version number, so the writers of a symbol hold the
backend's lock around the whole write instead, and create each file without ever overwriting one.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import random
import threading
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import pyarrow as pa

from .backend import Backend, IfMatch, ObjectMeta, PutMode
from .cache import ObjectCache
from .chunks import ChunkStore
from .encoding import ARROW_ENCODINGS, Codec, codec_for, decode_by_content, write_codec
from .encoding.direct import PendingChunk
from .errors import (
    BackendError,
    CommitConflictError,
    CorruptObjectError,
    LegacyStoreError,
    ObjectExistsError,
    ObjectNotFoundError,
    OfflineError,
    PreconditionFailedError,
    PrunedError,
    StoreClosedError,
    StoreNotFoundError,
    TickstoreError,
    UnknownLayoutError,
)
from .fills import BackgroundFills
from .index import SymbolIndex, Version
from .integrity import matches
from .layout import MANIFEST_KEY, Layout, layout_for
from .lifecycle import read_segments, segment_version
from .manifest import create_manifest, manifest_missing, parse_manifest, settings
from .objects import cache_identity, read_arrow
from .options import checked_number
from .progress import map_with_progress
from .ranged import RangedReads
from .recent import RecentWrites
from .revalidated import read_revalidated
from .serenity_store import SerenityStore, detect, index_h5_over_older_indexes
from .summary import SummaryShards
from .tags import resolve_as_of
from .writers import UploadThenCommit, WriteUnderLock
from .writes import Encoded, already_committed, check_schema, encode, plan_inserts

__all__ = ["Engine", "LoadedIndex"]

log = logging.getLogger("tickstore")

MAX_COMMIT_ATTEMPTS = 60
OPTIMISTIC_FOR = 60.0
"""Seconds a writer plans its next commit on the index it committed, without reading it again first."""
READ_IN_TURN = 256 << 10  # local objects of this many bytes or fewer on average: read in turn, not on threads
_T = TypeVar("_T")

Change = Callable[[SymbolIndex], "tuple[SymbolIndex | None, _T]"]
"""An index change: the new index (None: nothing to commit) and the caller's result."""
Finish = Callable[[SymbolIndex, list[str]], "tuple[SymbolIndex | None, _T]"]
"""An index change for objects written under the given keys."""


@dataclass(frozen=True)
class LoadedIndex:
    """A symbol's index with the ETag it was read with and when (``time.monotonic()``); ``committed``
    if this engine wrote it."""

    index: SymbolIndex
    etag: str | None
    loaded_at: float
    committed: bool = False


class Engine:
    """Versions of one store's partitions over one backend: read, written, committed.

    Settings (timestamp column, time zone) come from the store's manifest, else from the
    arguments; a location without a manifest may be a serenity store, read from its own index.
    """

    def __init__(
        self,
        backend: Backend,
        *,
        cache: ObjectCache | None = None,
        timestamp_column: str | None = None,
        tz: str | None = None,
        index_ttl: float = 5.0,
        max_workers: int | None = None,
        progress: bool | None = None,
        allow_pickle: bool = False,
    ) -> None:
        self.backend = backend
        self.cache = cache
        self.layout: Layout = layout_for(backend.layout)
        self.codec: Codec = write_codec(backend.encoding, allow_pickle=allow_pickle)
        self.previous_codec: Codec = codec_for(backend.encoding, allow_pickle=allow_pickle)  # 0.1's objects
        self.fills = BackgroundFills()
        self.recent = RecentWrites()
        self.ranged = RangedReads(backend, cache, self.fills)
        self.index_ttl = checked_number("index_ttl", index_ttl, float, minimum=0) or 0.0
        self.max_workers = checked_number("max_workers", max_workers, int, minimum=1) or (4 if backend.is_local else 16)
        self.decoding_slots = 2 * (os.cpu_count() or 1)  # objects decoded at once: bound by the CPU, not I/O
        self.decoding = threading.BoundedSemaphore(self.decoding_slots)
        self.progress = progress
        self.allow_pickle = allow_pickle
        self.summaries = SummaryShards(backend, self.layout, self.read_mutable, self.map)
        self.chunks = ChunkStore(backend, cache)
        self._indexes: dict[str, LoadedIndex] = {}
        self._lock = threading.RLock()
        self._pool: ThreadPoolExecutor | None = None
        self._segment_pool: ThreadPoolExecutor | None = None
        self._cpu_pool: ThreadPoolExecutor | None = None
        self._closed = False
        self._exists = False
        manifest = self._read_manifest()
        self._manifest_written = manifest is not None
        self.timestamp_column, self.tz = settings(backend.url, manifest, timestamp_column, tz)
        self.serenity: SerenityStore | None = None
        self._unknown_layout: str | None = None
        if manifest is None:
            detected = detect(backend, self.layout, self.read_mutable)
            self.serenity, self._unknown_layout = detected.serenity, detected.unknown_layout
        elif self.layout.version_named:  # an older tickstore indexed a serenity store from its files
            self.serenity = index_h5_over_older_indexes(backend, self.read_mutable)

    # --- the store's state -------------------------------------------------------------------

    def read_mutable(self, key: str, *, offline_ok: bool = True) -> tuple[str | None, bytes | None]:
        """(ETag, bytes) of an index or the manifest, revalidated through the cache (see `read_revalidated`)."""
        return read_revalidated(self.backend, self.cache, key, offline_ok=offline_ok)

    def cache_identity(self, version: Version) -> str:
        """What the cache's entry of ``version`` must be decoded from (a serenity file: see `SerenityStore`)."""
        if self.serenity is None or self.cache is None or version.stats_known:
            return cache_identity(version)
        return self.serenity.cache_identity(version, self.cache)

    def _read_manifest(self) -> dict[str, Any] | None:
        return None if (data := self.read_mutable(MANIFEST_KEY)[1]) is None else parse_manifest(data, self.backend.url)

    def ensure_manifest(self, *, recheck: bool = False) -> None:
        """Create the manifest before the store's first write (another writer's is checked, not replaced); ``recheck``:
        also if it was read or written, as another process may have destroyed the store since (a commit's new index)."""
        if not self._manifest_written or (recheck and manifest_missing(self.backend)):
            made = (self.timestamp_column, self.tz, self.layout.name, self.codec.name)
            create_manifest(self.backend, self.cache, self._read_manifest, *made)
            self._manifest_written = True

    @property
    def has_manifest(self) -> bool:
        """Whether the store's manifest exists (read when opened, or written by this engine)."""
        return self._manifest_written

    @property
    def closed(self) -> bool:
        return self._closed

    def check_open(self) -> None:
        if self._closed:
            raise StoreClosedError(f"the store {self.backend.url} is closed; open it again with open_store()")

    def check_exists(self) -> None:
        """Refuse to read a store whose root is missing: a typo must not look like an empty store. Asked of the
        backend once, when a read finds nothing in a store without the manifest this engine wrote or read."""
        if self._manifest_written or self._exists:
            return
        if not self.backend.exists():
            raise StoreNotFoundError(f"{self.backend.url} does not exist; check the name, or insert to create it")
        self._exists = True

    def check_layout(self) -> None:
        if self._unknown_layout is not None:
            raise UnknownLayoutError(self._unknown_layout)

    def check_writable(self) -> None:
        if self.serenity is not None:
            raise LegacyStoreError(
                f"{self.backend.url} is a serenity store: tickstore reads it but does not write into it, so "
                "serenity's index stays the one truth. Copy it to a tickstore store "
                f"(`tickstore copy {self.backend.url} DESTINATION`) and write there"
            )
        self.check_layout()

    def executor(self, cpu: bool = False) -> ThreadPoolExecutor:
        """The engine's thread pool, started on first use; ``cpu``: the one for decoding what is at hand, of two
        threads a core, so that few threads (and their allocator arenas) decode, however many fetch."""
        with self._lock:
            self.check_open()
            if cpu and self.max_workers > self.decoding_slots:
                if self._cpu_pool is None:
                    self._cpu_pool = ThreadPoolExecutor(self.decoding_slots, thread_name_prefix="tickstore-cpu")
                return self._cpu_pool
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.max_workers, thread_name_prefix="tickstore")
            return self._pool

    def map(
        self, work: Callable[[Any], _T], items: Sequence[Any], label: str, cpu: bool = False, in_turn: bool = False
    ) -> list[_T]:
        """``work`` over ``items`` on the engine's thread pool (``cpu``: see `executor`; ``in_turn``: on this thread,
        one after the other), in order, with progress (labelled ``label``)."""
        if len(items) <= 1:
            return [work(item) for item in items]
        enabled = self.progress if self.progress is not None else (None if len(items) >= 8 else False)
        return map_with_progress(None if in_turn else self.executor(cpu), work, items, label, enabled)

    def close(self) -> bool:
        """Stop the pool and close the backend and the cache; False if already closed."""
        if not self._closed:
            self.summaries.flush()  # summary updates held back by a burst of commits, while still open
        with self._lock:
            if self._closed:
                return False
            self._closed = True
            pools = (self._pool, self._segment_pool, self._cpu_pool)
            self._pool = self._segment_pool = self._cpu_pool = None
        for pool in pools:
            if pool is not None:
                pool.shutdown(wait=True)
        self.ranged.close()
        self.fills.close()
        self.recent.clear()
        self.backend.close()
        if self.cache is not None:
            self.cache.close()
        return True

    # --- indexes -------------------------------------------------------------------------------

    def index(self, symbol: str) -> SymbolIndex:
        """The symbol's index, from memory if loaded less than ``index_ttl`` seconds ago."""
        self.check_layout()
        if self.serenity is not None:
            return self.serenity.indexes(self.index_ttl).get(symbol) or SymbolIndex(symbol)
        loaded = self._held(symbol)
        return loaded.index if loaded is not None else self.load_index(symbol).index

    def index_for_write(self, symbol: str) -> SymbolIndex:
        """The symbol's index for checks before a write: as `index`, never from the offline cache.

        If the backend cannot be reached, the index held in memory (or none) is used: the commit,
        which needs the backend anyway, checks again against the index it swaps.
        """
        loaded = self._held(symbol)
        if loaded is not None:
            return loaded.index
        try:
            return self.load_index(symbol, offline_ok=False).index
        except BackendError:
            with self._lock:
                stale = self._indexes.get(symbol)
            return stale.index if stale is not None else SymbolIndex(symbol)

    def _held(self, symbol: str) -> LoadedIndex | None:
        with self._lock:
            loaded = self._indexes.get(symbol)
        if loaded is not None and time.monotonic() - loaded.loaded_at < self.index_ttl:
            return loaded
        return None

    def load_index(self, symbol: str, *, offline_ok: bool = True) -> LoadedIndex:
        """Read the symbol's index from the backend, or revalidate the cached copy."""
        if self.serenity is not None:
            index = self.serenity.indexes(self.index_ttl).get(symbol) or SymbolIndex(symbol)
            return LoadedIndex(index, self.serenity.etag, self.serenity.loaded_at)
        key = self.layout.index_key(symbol)
        etag, data = self.read_mutable(key, offline_ok=offline_ok)
        if data is None:
            loaded = LoadedIndex(SymbolIndex(symbol, loader=self.chunks.read), None, time.monotonic())
        else:
            with self._lock:
                held = self._indexes.get(symbol)
            if held is not None and etag is not None and held.etag == etag:  # unchanged: no parse
                index = held.index
            else:
                where = f"{self.backend.url}/{key}"
                index = SymbolIndex.from_bytes(data, where=where, loader=self.chunks.read, symbol=symbol)
            loaded = LoadedIndex(index, etag, time.monotonic())
        self._remember(symbol, loaded)
        return loaded

    def serenity_indexes(self) -> dict[str, SymbolIndex]:
        """Every symbol's index of a serenity store (empty for a tickstore store)."""
        return {} if self.serenity is None else self.serenity.indexes(self.index_ttl)

    def forget_indexes(self, symbol: str | None = None) -> None:
        """Forget the indexes held in memory (one symbol's, or all), so the next read reloads them."""
        with self._lock:
            if symbol is not None:
                self._indexes.pop(symbol, None)
                return
            self._indexes.clear()
        if self.serenity is not None:
            self.serenity.forget()

    def _remember(self, symbol: str, loaded: LoadedIndex) -> None:
        with self._lock:
            self._indexes[symbol] = loaded

    def as_of_ns(self, as_of: Any, what: str = "as_of") -> int | None:
        """An ``as_of`` argument (``what`` in errors) as UTC nanoseconds: a time, ``"tag:NAME"``, or None (now)."""
        return resolve_as_of(self.read_mutable, self.backend.url, as_of, what)

    # --- reading -------------------------------------------------------------------------------

    def read_version(
        self,
        symbol: str,
        version: Version,
        columns: Sequence[str] | None,
        keep: Callable[[pa.Table], pa.Table] | None = None,
        *,
        start_ns: int | None = None,
        end_ns: int | None = None,
    ) -> pa.Table:
        """The version's ticks (timestamp and ``columns``; all if None), sorted by time.

        A version made by appends is read object by object through the cache (small local ones in turn,
        others on threads), concatenated in write order and sorted stably by time: appended rows come after
        rows already there with the same timestamp. ``keep`` (a row filter, see `tickstore_core.filters`)
        drops rows before they leave the engine. ``tickstore-arrow`` objects decode only ``columns`` and the
        chunks with ticks in ``[start_ns, end_ns]`` (the caller trims the edges).
        """
        if version.segments is None:
            table = self.read_object(symbol, version, columns, start_ns=start_ns, end_ns=end_ns)
        else:
            segments = version.segments
            if self.backend.is_local and sum(s.bytes for s in segments) <= READ_IN_TURN * len(segments):
                pool = None  # each small local segment decodes faster than a thread would take it
            else:
                with self._lock:  # its own pool: the days' reads, on the main pool, wait for their segments
                    if self._segment_pool is None:
                        self._segment_pool = ThreadPoolExecutor(self.max_workers, thread_name_prefix="tickstore-parts")
                    pool = self._segment_pool
            read = functools.partial(self.read_object, symbol, columns=None, start_ns=start_ns, end_ns=end_ns)
            views = [segment_version(version, s) for s in segments]
            tables = [read(view) for view in views] if pool is None else list(pool.map(read, views))
            table = read_segments(tables, columns, label=f"{symbol} {version.day} version {version.version}")
        return table if keep is None else keep(table)

    def read_object(
        self,
        symbol: str,
        version: Version,
        columns: Sequence[str] | None,
        *,
        start_ns: int | None = None,
        end_ns: int | None = None,
    ) -> pa.Table:
        """One object's ticks (timestamp and ``columns``; all if None): from the cache, else fetched and decoded."""
        if version.encoding is not None:
            if version.encoding not in ARROW_ENCODINGS:
                raise CorruptObjectError(
                    f"{symbol} {version.day} version {version.version} ({version.key}) is encoded as "
                    f"{version.encoding!r}, which this tickstore cannot read; upgrade tickstore"
                )
            (table,) = self._arrow(symbol, version, columns, start_ns, end_ns, chunked=False)
            return cast(pa.Table, table)  # read whole: no chunk is pending
        if self.cache is None:
            table = self._decode(symbol, version, self.fetch(symbol, version), columns)
        else:

            def load() -> tuple[pa.Table, int]:
                data = self.fetch(symbol, version)
                return self._decode(symbol, version, data, None), len(data)

            identity = self.cache_identity(version)
            table = self.cache.read_through(self.backend.url, version.key, columns, checksum=identity, load=load)
        return table

    def _decode(self, symbol: str, version: Version, data: bytes, columns: Sequence[str] | None) -> pa.Table:
        try:
            if version.stats_known:
                return self.previous_codec.decode(data, timestamp_column=self.timestamp_column, columns=columns)
            # a serenity object: HDF5 (local) or Parquet (Azure), whatever the backend's encoding
            return decode_by_content(
                data, timestamp_column=self.timestamp_column, columns=columns, allow_pickle=self.allow_pickle
            )
        except TickstoreError as exc:
            raise type(exc)(f"{symbol} {version.day} version {version.version} ({version.key}): {exc}") from exc

    def iter_chunks(
        self,
        symbol: str,
        version: Version,
        columns: Sequence[str] | None,
        start_ns: int | None = None,
        end_ns: int | None = None,
        *,
        reverse: bool = False,
        ahead: int = 0,
    ) -> Generator[pa.Table, None, None]:
        """`read_version`'s ticks a ``tickstore-arrow`` chunk at a time, each decoded when asked for (a reducer holds
        a chunk at a time; the caller trims the edges); ``reverse``: last chunk first; up to ``ahead`` chunks decoded
        ahead on the engine's pool. A version that cannot stream (appends', older encodings') is one table."""
        chunks = self.iter_pending(symbol, version, columns, start_ns, end_ns, reverse=reverse, ahead=ahead)
        yield from cast("Generator[pa.Table, None, None]", chunks)  # none pending without `direct`

    def iter_pending(
        self,
        symbol: str,
        version: Version,
        columns: Sequence[str] | None,
        start_ns: int | None,
        end_ns: int | None,
        **how: Any,
    ) -> Generator[pa.Table | PendingChunk, None, None]:
        """`iter_chunks` (``how``: ``reverse``, ``ahead``), the columns of ``how["direct"]`` (a `DirectColumns`)
        left for the caller to decompress into its own arrays (`PendingChunk`)."""
        if version.segments is not None or version.encoding not in ARROW_ENCODINGS:
            yield self.read_version(symbol, version, columns, start_ns=start_ns, end_ns=end_ns)
            return
        pool = self.executor(cpu=True) if how.get("ahead", 0) > 0 else None
        yield from self._arrow(symbol, version, columns, start_ns, end_ns, chunked=True, pool=pool, **how)

    def _arrow(
        self,
        symbol: str,
        version: Version,
        columns: Sequence[str] | None,
        start: int | None,
        end: int | None,
        **how: Any,
    ) -> Iterator[pa.Table | PendingChunk]:
        """A ``tickstore-arrow`` version's tables, only what the select needs, at once or chunk by chunk (``how``:
        `tickstore_core.objects.read_arrow`'s options): from the cache, by ranges, fetched or memory-mapped."""
        where = (self.backend, self.cache, self.fills, self.ranged, self.timestamp_column)
        with self._fetching(symbol, version):
            yield from read_arrow(
                *where, symbol, version, columns, start, end, decoding=self.decoding, recent=self.recent, **how
            )

    @contextlib.contextmanager
    def _fetching(self, symbol: str, version: Version) -> Iterator[None]:
        """Explain a failed fetch of ``version``'s object: missing (pruned while it was read, or lost: fsck's
        business), or not cached while the backend cannot be reached (with a cache: `OfflineError`)."""
        what = f"{symbol} {version.day} version {version.version}"
        try:
            yield
        except ObjectNotFoundError as exc:
            if self.serenity is None and self.load_index(symbol).index.version(version.day, version.version) is None:
                raise PrunedError(
                    f"{what} was pruned while it was read; select again (as of a later time, or of a tag)"
                ) from exc
            raise ObjectNotFoundError(
                f"{what}: object {version.key} is missing from {self.backend.url} although the index references it; "
                "run `tickstore fsck`"
            ) from exc
        except BackendError as exc:
            if self.cache is None or isinstance(exc, OfflineError):
                raise
            raise OfflineError(
                f"{self.backend.url} cannot be reached and {what} ({version.key}) is not in the local cache ({exc}); "
                "retry when online, or warm the cache while online (store.prefetch, `tickstore cache prefetch`)"
            ) from exc

    def keep_written(self, key: str, payload: bytes, checksum: str | None) -> None:
        """Keep an append's segment in memory and in the cache, where compaction reads it back without a request."""
        if checksum is not None and self.recent.keep(key, payload, checksum) and self.cache is not None:
            self.fills.put_objects(self.cache, self.backend.url, {key: payload}, checksum)

    def fetch(self, symbol: str, version: Version) -> bytes:
        """The version's object from the backend, verified against the checksum in the index."""
        with self._fetching(symbol, version):
            data = self.backend.get(version.key)
        if version.checksum is not None and not matches(data, version.checksum):
            raise CorruptObjectError(
                f"{symbol} {version.day} version {version.version}: object {version.key} in "
                f"{self.backend.url} does not match its checksum; it was changed or damaged after commit"
            )
        return data

    # --- writing -------------------------------------------------------------------------------

    def encode(self, day: Any, table: pa.Table, metadata: str | None = None) -> Encoded:
        """One day's ticks encoded with the store's codec (see `tickstore_core.writes.encode`)."""
        return encode(self.codec, day, table, metadata)

    def insert(self, symbol: str, encoded: list[Encoded], explicit: int | None) -> list[Version]:
        """Write and commit ``encoded`` as the next version of each day; the new versions."""
        if explicit is not None:  # fail before uploading anything when the order is already wrong
            plan_inserts(self.index(symbol), encoded, [""] * len(encoded), explicit)

        def finish(index: SymbolIndex, keys: list[str]) -> tuple[SymbolIndex | None, list[Version]]:
            done = already_committed(index, encoded, keys)
            if done is not None:
                return done
            check_schema(symbol, index, encoded)  # other writers may have committed other types meanwhile
            return plan_inserts(index, encoded, keys, explicit)

        return self.write_versions(symbol, encoded, finish)

    def write_versions(self, symbol: str, encoded: list[Encoded], finish: Finish[_T]) -> _T:
        """Store the encoded objects, then commit the index change ``finish`` makes for their keys.

        The strategy follows the layout: unique data keys are uploaded first, then committed; a
        version-named layout writes each file under the symbol's lock, inside the commit.
        """
        strategy = WriteUnderLock(self) if self.layout.version_named else UploadThenCommit(self)
        return strategy.write(symbol, encoded, finish)

    # --- committing ----------------------------------------------------------------------------

    def commit(self, symbol: str, change: Change[_T]) -> _T:
        """Apply ``change`` to the symbol's index with compare-and-swap, retrying lost races.

        The symbol's summary entry is updated after the commit (best effort).
        """
        try:
            return self._commit_with_retries(symbol, change)
        except BaseException:
            self.forget_indexes(symbol)  # the outcome may be unknown (a lost response): read afresh next time
            raise

    def _commit_with_retries(self, symbol: str, change: Change[_T]) -> _T:
        lock = self.backend.lock(f"symbol-{symbol}") if self.layout.version_named else contextlib.nullcontext()
        with lock:
            return self._swap(symbol, change)

    def _swap(self, symbol: str, change: Change[_T]) -> _T:
        key = self.layout.index_key(symbol)
        for attempt in range(MAX_COMMIT_ATTEMPTS):
            planned = self._optimistic(symbol, change) if attempt == 0 else None
            if planned is None:
                loaded = self.load_index(symbol, offline_ok=False)
                new_index, result = change(loaded.index)
                if new_index is None:
                    return result
            else:
                loaded, new_index, result = planned
            if loaded.etag is None:  # a new index: a store another process destroyed meanwhile gets its manifest back
                self.ensure_manifest(recheck=True)
            new_index, chunk = self.chunks.seal(symbol, new_index)
            mode: PutMode = IfMatch(loaded.etag) if loaded.etag is not None else "create"
            data = new_index.to_bytes()
            try:
                meta: ObjectMeta = self.backend.put(key, data, mode=mode)
            except (PreconditionFailedError, ObjectExistsError):
                log.debug("commit of %s lost a race (attempt %d); retrying", symbol, attempt + 1)
                self.chunks.discard(chunk)
                time.sleep(random.uniform(0, min(0.5, 0.005 * 2**attempt)))
                continue
            except BackendError as exc:  # the request may have reached the backend before the failure
                raise type(exc)(
                    f"{exc}; the commit to {symbol}'s index may or may not have happened: check "
                    f"store.history({symbol!r}) before inserting again"
                ) from exc
            if self.cache is not None:  # offline, this machine still reads what it committed
                self.cache.put_tagged(self.backend.url, key, meta.etag, data)
            self._remember(symbol, LoadedIndex(new_index, meta.etag, time.monotonic(), committed=True))
            self.summaries.update(symbol, new_index, meta.etag)
            return result
        raise CommitConflictError(
            f"gave up committing {symbol} to {self.backend.url} after {MAX_COMMIT_ATTEMPTS} lost races "
            "with other writers; nothing was committed, try again"
        )

    def _optimistic(self, symbol: str, change: Change[_T]) -> tuple[LoadedIndex, SymbolIndex, _T] | None:
        """``change`` planned on the index this writer committed last, without reading it again: the
        conditional put fails if another writer committed since, and the commit loop then reads it.

        Only a change that writes counts: a no-op or an error planned on it may be stale, so None
        (plan again on a freshly read index). Not for version-named layouts, whose change writes files.
        """
        with self._lock:
            held = self._indexes.get(symbol)
        if held is None or not held.committed or held.etag is None or self.layout.version_named:
            return None
        if time.monotonic() - held.loaded_at > OPTIMISTIC_FOR:
            return None
        try:
            new_index, result = change(held.index)
        except TickstoreError:  # planned on what may be stale: plan again on the index as it is
            return None
        return None if new_index is None else (held, new_index, result)
