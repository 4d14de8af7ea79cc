"""The bitemporal tick store: the user API over the version engine.

`Tickstore` partitions ticks by symbol and day, keeps every version of every partition in
transaction time, and stores them through any `tickstore_core.backend.Backend`. This module is
the face: it checks arguments, plans queries (`tickstore_core.query`), assembles results and
reports history. Reading, writing and committing versions is the engine's work
(`tickstore_core.engine`), which also documents the commit protocol.

A location without a manifest that holds serenity's ``index.h5`` (or ``index`` blob) is a serenity
store: its index is read into memory (`tickstore_core.serenity_store`) and is the truth for
every read; nothing is written into it.
"""

from __future__ import annotations

import logging
import os
import warnings
from types import TracebackType
from typing import Any

from .backend import Backend
from .cache import ObjectCache
from .daskframe import StoreSpec
from .encoding import Codec
from .engine import Engine
from .errors import ConfigError, TickstoreWarning
from .layout import Layout, destroyable_keys
from .lifecycle_api import LifecycleAPI
from .reading import ReadAPI
from .research import ResearchAPI
from .writing import WriteAPI

__all__ = ["Tickstore"]


log = logging.getLogger("tickstore")


class Tickstore(ReadAPI, ResearchAPI, WriteAPI, LifecycleAPI):
    """A bitemporal store of tick DataFrames over one backend.

    Open one with `tickstore_core.open_store`; use it as a context manager or call `close`.
    Ticks are DataFrames indexed by timestamp; they are partitioned by symbol and day (the
    calendar day in the store's time zone, UTC by default), and every insert of a day creates a
    new immutable version. Reads pick, per day, the version valid at ``as_of``.

    Guarantees: an insert or delete is atomic per symbol (all its days or none become visible);
    concurrent writers never lose a version; readers never see a partial version; every object read
    is verified against what was recorded at commit (its checksum, or the CRC-32 of each part read of
    a ``tickstore-arrow`` object). A store object may be shared by threads; pickled (multiprocessing,
    joblib) it opens again, as a store object of its own.

    Parameters
    ----------
    backend : Backend
        Where the objects live; the store closes it when it is closed.
    timestamp_column, tz : str, optional
        For a new store (an existing one keeps those in its manifest): the name of the time
        column (default ``"time"``) and the IANA time zone of trading days (default UTC).
    cache : ObjectCache, optional
        The local cache to read through (`tickstore_core.config.build_cache` makes the default
        one); None reads the backend directly.
    index_ttl : float
        Seconds an index read is reused before it is revalidated.
    max_workers : int, optional
        Threads reading and writing days concurrently (default 4 locally, 16 remotely).
    progress : bool, optional
        Progress bars: None shows them for long operations.
    allow_pickle : bool
        Decode legacy HDF5 objects that need Python pickles beyond plain strings.

    Examples
    --------
    >>> import tickstore_core as ts
    >>> with ts.open_store("memory://doctest") as store:  # doctest: +SKIP
    ...     store.insert("BTCUSD", ticks)
    ...     df = store.select("BTCUSD", "2024-01-02", "2024-01-03 12:00")
    """

    def __init__(
        self,
        backend: Backend,
        *,
        timestamp_column: str | None = None,
        tz: str | None = None,
        cache: ObjectCache | None = None,
        index_ttl: float = 5.0,
        max_workers: int | None = None,
        progress: bool | None = None,
        allow_pickle: bool = False,
    ) -> None:
        if not isinstance(backend, Backend):  # a URL given here is the usual slip: name the function that opens one
            named = isinstance(backend, (str, os.PathLike))
            hint = " (a URL or path?); open a store by URL with tickstore_core.open_store(url)" if named else ""
            raise ConfigError(f"Tickstore takes a Backend, got {type(backend).__name__}{hint}")
        if cache is not None and not isinstance(cache, ObjectCache):
            raise ConfigError(
                f"cache must be an ObjectCache or None, got {type(cache).__name__}; "
                "open_store(cache=True/False) chooses one"
            )
        self._engine = Engine(
            backend,
            cache=cache,
            timestamp_column=timestamp_column,
            tz=tz,
            index_ttl=index_ttl,
            max_workers=max_workers,
            progress=progress,
            allow_pickle=allow_pickle,
        )

    # --- settings, read from the engine -----------------------------------------------------------

    @property
    def engine(self) -> Engine:
        """The version engine (for maintenance, copying and executors such as Dask)."""
        return self._engine

    @property
    def backend(self) -> Backend:
        """The storage the store reads and writes through (its URL names the store)."""
        return self._engine.backend

    @property
    def cache(self) -> ObjectCache | None:
        """The local read cache, or None when reads go to the backend directly."""
        return self._engine.cache

    @property
    def layout(self) -> Layout:
        """How objects are named: tickstore's default layout or serenity's Behemoth layout."""
        return self._engine.layout

    @property
    def codec(self) -> Codec:
        """How ticks are encoded in objects: Parquet or HDF5, as the backend asks."""
        return self._engine.codec

    @property
    def timestamp_column(self) -> str:
        """The name of the time column (the index of every result)."""
        return self._engine.timestamp_column

    @property
    def tz(self) -> str:
        """The time zone whose calendar days partition the ticks."""
        return self._engine.tz

    @property
    def index_ttl(self) -> float:
        """Seconds an index read is reused before it is revalidated."""
        return self._engine.index_ttl

    @property
    def max_workers(self) -> int:
        """Threads that read and write days concurrently."""
        return self._engine.max_workers

    @property
    def progress(self) -> bool | None:
        """Progress bars: True, False, or None for long operations only."""
        return self._engine.progress

    @progress.setter
    def progress(self, value: bool | None) -> None:
        self._engine.progress = value

    @property
    def is_serenity_store(self) -> bool:
        """True when the store was written by serenity's tick store (read-only here; ``tickstore copy`` copies it)."""
        return self._engine.serenity is not None

    # --- lifecycle -------------------------------------------------------------------------

    def refresh(self) -> None:
        """Forget the indexes held in memory, so the next read sees every other writer's commits.

        A store re-reads an index anyway once it is older than ``index_ttl`` seconds. For a serenity
        store this re-reads its ``index.h5`` (if it changed) on the next read, so days, versions and
        deletes serenity wrote meanwhile are seen.

        Examples
        --------
        >>> store.refresh()  # doctest: +SKIP
        """
        self._engine.forget_indexes()

    def flush(self) -> None:
        """Like `refresh`, after writing the cache fills and summary updates still pending (inserts,
        appends and deletes are durable when they return); what is held in memory is forgotten.

        Examples
        --------
        >>> store.flush()  # doctest: +SKIP
        """
        self._engine.fills.wait_all()
        self._engine.summaries.flush()
        self.refresh()

    def cache_stats(self) -> dict[str, Any]:
        """This store's cache counters and the cache's size.

        Returns
        -------
        dict
            ``enabled``, and when it is: ``hits``, ``misses``, ``bytes_from_cache``, ``bytes_fetched``,
            ``evictions`` and the other counters, ``entries``, ``volume``, ``size_limit``,
            ``directory`` (and ``problem`` when the cache cannot be used).

        Examples
        --------
        >>> store.cache_stats()["hits"]  # doctest: +SKIP
        """
        self._engine.fills.wait_all()  # the counters include the fills written behind earlier selects
        if self.cache is None:
            return {"enabled": False}
        return {
            "enabled": True,
            **self.cache.stats.as_dict(),
            "entries": self.cache.entries(),
            "volume": self.cache.volume(),
            "size_limit": self.cache.size_limit,
            "directory": str(self.cache.directory),
            **({"problem": self.cache.problem} if self.cache.problem else {}),
        }

    def close(self) -> None:
        """Release threads, connections and the cache; the store cannot be used afterwards.

        Examples
        --------
        >>> store.close()  # doctest: +SKIP
        """
        self._engine.close()

    def destroy(self) -> None:
        """Delete every object of the store (all symbols, versions and indexes), then close it.

        Objects the backend does not own (on the local store, files behind a symbolic link) stay, and so do
        the local store's directories, emptied, with its ``.tickstore/`` (lock files other processes may hold),
        another store below its location (a backup copied to ``.../db/backup``), and objects named as no
        store's object can be (a name with a space; the local store does not even list them); what stays and
        is listed is said in a `TickstoreWarning`.
        The location can then be opened and written as a new store. Summary updates held back are dropped.

        Raises
        ------
        LegacyStoreError
            A serenity store, which tickstore does not write into.

        Examples
        --------
        >>> store.destroy()  # doctest: +SKIP
        """
        self._engine.check_open()
        self._engine.check_writable()
        keys, kept = destroyable_keys(self.backend)
        self._engine.map(self.backend.delete, keys, "destroy")
        if kept:
            message = f"destroy of {self.backend.url} left what is not this store's: {kept}"
            log.warning(message)
            warnings.warn(message, TickstoreWarning, stacklevel=2)
        self._engine.summaries.discard()  # written now, they would leave a shard where the store was
        self.flush()
        self.close()

    def __enter__(self) -> Tickstore:
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        """A store pickles (for multiprocessing, joblib, ``copy.deepcopy``) as what reopens it: what a Dask worker
        reopens it from (`StoreSpec`) and its tuning. The copy is a store object of its own, to be closed on its own."""
        engine = self._engine
        engine.check_open()
        tuning = {"index_ttl": engine.index_ttl, "max_workers": engine.max_workers, "progress": engine.progress}
        return (_reopened, (StoreSpec.of(engine), tuning))

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _repr_html_(self) -> str:
        """A summary for Jupyter: backend, settings, symbols with their days, cache counters."""
        from .notebook import store_summary_html

        return store_summary_html(self)

    def __repr__(self) -> str:
        state = " closed" if self._engine.closed else ""
        return (
            f"<Tickstore {self.backend.url} ({self.codec.name}, tz={self.tz}, "
            f"timestamp_column={self.timestamp_column!r}){state}>"
        )


def _reopened(spec: StoreSpec, tuning: dict[str, Any]) -> Tickstore:
    """A pickled store opened again (see `Tickstore.__reduce__`)."""
    return Tickstore(
        spec.backend,
        timestamp_column=spec.timestamp_column,
        tz=spec.tz,
        cache=spec.open_cache(),
        allow_pickle=spec.allow_pickle,
        **tuning,
    )
