"""The backend contract: a narrow, synchronous, byte-level object store.

A backend stores immutable blobs of bytes under string keys, relative to the root given by its URL.
It knows nothing about ticks, versions, indexes, caching or encodings: those live in the core, once.
Six verbs are required (``from_url``, ``get``, ``head``, ``put``, ``list``, ``delete``); ``put``
must honour its ``mode`` atomically, because the core's compare-and-swap commit relies on it.
``exists``, ``lock``, ``local_path`` and ``close`` are optional.

Errors are translated into `tickstore_core.errors`: a missing object raises
`ObjectNotFoundError`, a lost ``"create"`` race `ObjectExistsError`, a stale `IfMatch`
`PreconditionFailedError`, refused credentials `BackendPermissionError`, anything else
`BackendError` with the SDK error as ``__cause__``.
"""

from __future__ import annotations

import contextlib
import re
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any, ClassVar, Literal, TypeAlias

from .contract import keep_to_contract
from .errors import InvalidInputError, InvalidKeyError

__all__ = ["Backend", "IfMatch", "ObjectMeta", "PutMode", "check_key", "check_range"]


@dataclass(frozen=True)
class ObjectMeta:
    """What a backend knows about one stored object: `Backend.head`, `Backend.put` and `Backend.list` return it.

    Parameters
    ----------
    key : str
        The object's key, relative to the store's root.
    size : int
        Its length in bytes.
    etag : str
        An opaque tag that changes whenever the object is written; `IfMatch` compares it.
    last_modified : datetime, optional
        When it was last written (tz-aware), if the backend knows.

    Examples
    --------
    >>> from tickstore_core.plugin import ObjectMeta
    >>> ObjectMeta("BTCUSD/_index.json", 512, '"0x8DC"')
    ObjectMeta(key='BTCUSD/_index.json', size=512, etag='"0x8DC"', last_modified=None)
    """

    key: str
    size: int
    etag: str
    last_modified: datetime | None = None


@dataclass(frozen=True)
class IfMatch:
    """Put mode: replace the object only if its current ETag is ``etag`` (compare-and-swap).

    A backend's `Backend.put` raises `PreconditionFailedError` when the object is missing or its
    ETag differs, atomically with the write: the core commits indexes this way.

    Parameters
    ----------
    etag : str
        The ETag read with the object (from `Backend.head` or an earlier `Backend.put`).

    Examples
    --------
    >>> from tickstore_core.plugin import IfMatch
    >>> meta = backend.head("BTCUSD/_index.json")  # doctest: +SKIP
    >>> backend.put("BTCUSD/_index.json", new_index, mode=IfMatch(meta.etag))  # doctest: +SKIP
    """

    etag: str


PutMode: TypeAlias = Literal["overwrite", "create"] | IfMatch
"""``"overwrite"`` always writes; ``"create"`` fails if the key exists; ``IfMatch`` is a CAS."""

_SEGMENT = r"(?!\.\.?(?:/|$))[A-Za-z0-9._\-+=@^~#!]+"  # no "." or ".." segment
_KEY_RE = re.compile(rf"{_SEGMENT}(?:/{_SEGMENT})*")
MAX_KEY_LENGTH = 1000


def check_key(key: str) -> str:
    """Return ``key`` if it is a valid object key, else raise `InvalidKeyError`.

    Keys are relative, ``/``-separated, made of letters, digits and ``._-+=@^~#!``, with no
    empty, ``.`` or ``..`` segment: safe as a file path, an S3 key and an Azure blob name alike.
    A backend calls it on every key it is given before touching storage.

    Parameters
    ----------
    key : str
        The key to check.

    Returns
    -------
    str
        ``key`` itself.

    Raises
    ------
    InvalidKeyError
        The key breaks the rules above or is longer than 1000 characters.

    Examples
    --------
    >>> from tickstore_core.plugin import check_key
    >>> check_key("BTCUSD/2024/03/04/v0.parquet")
    'BTCUSD/2024/03/04/v0.parquet'
    >>> check_key("../etc/passwd")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    tickstore_core.errors.InvalidKeyError: invalid object key '../etc/passwd': use relative '/'-separated names ...
    """
    # one regular expression, "." and ".." segments included: a listing checks every key it yields
    if not isinstance(key, str) or len(key) > MAX_KEY_LENGTH or not _KEY_RE.fullmatch(key):
        raise InvalidKeyError(
            f"invalid object key {key!r}: use relative '/'-separated names of letters, digits "
            "and ._-+=@^~#!, without '.' or '..' segments"
        )
    return key


def check_range(offset: int, length: int) -> None:
    """Raise `InvalidInputError` for a byte range `Backend.get_range` cannot mean.

    An override of `Backend.get_range` calls it first, as `get` calls `check_key`.

    Parameters
    ----------
    offset : int
        The range's first byte; must be >= 0.
    length : int
        How many bytes; must be >= 0.

    Raises
    ------
    InvalidInputError
        ``offset`` or ``length`` is negative, or not an integer.

    Examples
    --------
    >>> from tickstore_core.plugin import check_range
    >>> check_range(0, 16)
    >>> check_range(-1, 16)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    tickstore_core.errors.InvalidInputError: a byte range needs offset >= 0 and length >= 0, got -1 and 16
    """
    if not all(isinstance(n, int) and not isinstance(n, bool) for n in (offset, length)) or min(offset, length) < 0:
        raise InvalidInputError(f"a byte range needs offset >= 0 and length >= 0, got {offset!r} and {length!r}")


class Backend(ABC):
    """Base class of every storage backend: immutable blobs of bytes under string keys.

    A subclass implements the six abstract verbs (`from_url`, `url`, `get`, `head`, `put`,
    `list`, `delete`) and sets the class attributes below; `exists`, `owns`, `lock` and `close`
    have defaults. Instances must be picklable (Dask ships them to workers), comparable by `url`,
    and their ``repr`` must never show credentials. `BackendConformance` proves an
    implementation.

    Attributes
    ----------
    name : str
        Short name shown to users (``"s3"``).
    schemes : tuple of str
        URL schemes it opens (``("s3",)``).
    encoding : str
        How the core encodes ticks for it: ``"parquet"`` (default) or ``"hdf5"``.
    layout : str
        How the core names objects: ``"default"`` (unique data keys) or ``"behemoth"``
        (``{YYYY}/{MM}/{DD}/{SYMBOL}_{VERSION:04d}.h5``, which needs a real `lock`).
    is_local : bool
        True when reads are as fast as the local disk, so the core does not cache them.

    Examples
    --------
    A backend over a dict, in outline (``docs/examples/tickstore-sqlite`` is a complete one):

    >>> from tickstore_core.plugin import Backend, ObjectMeta, check_key
    >>> class DictBackend(Backend):  # doctest: +SKIP
    ...     name = "dict"
    ...     schemes = ("dict",)
    ...     is_local = True
    ...     @classmethod
    ...     def from_url(cls, url, **options): ...
    ...     def get(self, key): ...
    ...     def put(self, key, data, *, mode="overwrite"): ...
    """

    name: ClassVar[str]
    schemes: ClassVar[tuple[str, ...]]
    encoding: ClassVar[str] = "parquet"
    layout: ClassVar[str] = "default"
    is_local: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Hold the subclass's verbs to the contract (`tickstore_core.contract`)."""
        super().__init_subclass__(**kwargs)
        keep_to_contract(cls, ObjectMeta)

    @classmethod
    @abstractmethod
    def from_url(cls, url: str, **options: Any) -> Backend:
        """Open the backend for ``url``; reject unknown options listing the valid ones.

        `open_store` calls it with the URL without its query, and every backend option (from the
        query, as strings, from the config file and from keywords) as keyword arguments; parse
        them with a `BackendOptions` subclass, which also reads a query left in ``url`` when the
        backend is opened directly. Do not contact the service here if it can wait: a store that
        is only opened should cost nothing.

        Parameters
        ----------
        url : str
            The store's URL, for example ``s3://bucket/prefix?region=eu-west-1``.
        **options
            Backend options given as keywords (credentials among them); a keyword wins over
            the same option in the URL query.

        Returns
        -------
        Backend
            The open backend.

        Raises
        ------
        InvalidURLError
            The URL is malformed, an option is unknown (list the valid ones) or invalid, or a
            credential is in the URL.

        Examples
        --------
        >>> backend = MyBackend.from_url("mystore://root/db?timeout=5", token=token)  # doctest: +SKIP
        """

    @property
    @abstractmethod
    def url(self) -> str:
        """The store's URL without credentials: the backend's identity in caches and reprs.

        Two backends with the same URL are the same store (they compare equal).
        """

    @abstractmethod
    def get(self, key: str) -> bytes:
        """Return the object's bytes.

        Parameters
        ----------
        key : str
            The object's key (check it with `check_key`).

        Returns
        -------
        bytes
            The whole object as last written.

        Raises
        ------
        ObjectNotFoundError
            No object has this key.

        Examples
        --------
        >>> backend.get("_tickstore.json")  # doctest: +SKIP
        b'{"format": "tickstore/1", ...}'
        """

    @abstractmethod
    def head(self, key: str) -> ObjectMeta:
        """Return the object's metadata without reading its bytes.

        Parameters
        ----------
        key : str
            The object's key.

        Returns
        -------
        ObjectMeta
            Its size, its ETag (the one `put` returned when it was written) and, if known, when.

        Raises
        ------
        ObjectNotFoundError
            No object has this key.

        Examples
        --------
        >>> backend.head("_tickstore.json").etag  # doctest: +SKIP
        '"0x8DC4E2F1A2B3C4D"'
        """

    @abstractmethod
    def put(self, key: str, data: bytes, *, mode: PutMode = "overwrite") -> ObjectMeta:
        """Store ``data`` under ``key`` atomically: readers see the old or the new bytes, never a mix.

        ``mode`` must be honoured atomically with the write (a conditional request of the
        service, a transaction, an exclusive create): the core's compare-and-swap commit relies
        on it.

        Parameters
        ----------
        key : str
            The object's key (check it with `check_key`).
        data : bytes
            The whole object.
        mode : {"overwrite", "create"} or IfMatch, default "overwrite"
            ``"overwrite"`` always writes; ``"create"`` writes only if no object has the key;
            `IfMatch` writes only if the object's current ETag is the given one.

        Returns
        -------
        ObjectMeta
            The written object's metadata, with its new ETag.

        Raises
        ------
        ObjectExistsError
            ``mode="create"`` and the object exists.
        PreconditionFailedError
            ``mode`` is an `IfMatch` and the object is missing or has another ETag.

        Examples
        --------
        >>> meta = backend.put("a/b", b"one", mode="create")  # doctest: +SKIP
        >>> backend.put("a/b", b"two", mode=IfMatch(meta.etag)).size  # doctest: +SKIP
        3
        """

    @abstractmethod
    def list(self, prefix: str = "") -> Iterator[ObjectMeta]:
        """Yield every object whose key starts with ``prefix``, in ascending key order.

        The prefix is a plain string prefix, not a directory: ``"BTC"`` matches ``"BTCUSD/x"``.
        Page through the service's listing; do not load everything first.

        Parameters
        ----------
        prefix : str, default ""
            Only keys starting with it; ``""`` lists the whole store.

        Yields
        ------
        ObjectMeta
            Each object's metadata, sorted by key.

        Examples
        --------
        >>> [meta.key for meta in backend.list("BTCUSD/")]  # doctest: +SKIP
        ['BTCUSD/_index.json', 'BTCUSD/data/2024-03-04/1a2b.parquet']
        """

    def keys(self, prefix: str = "") -> Iterator[str]:
        """Yield every key starting with ``prefix``, in ascending order: `list` without the metadata.

        Optional (this default takes the keys of `list`). A backend whose listing must ask for each
        object's metadata separately (a file system's ``stat``) overrides it to skip that; the core
        lists symbols through it.

        Parameters
        ----------
        prefix : str, default ""
            Only keys starting with it; ``""`` lists the whole store.

        Yields
        ------
        str
            Each key, sorted.

        Examples
        --------
        >>> list(backend.keys("_index/"))  # doctest: +SKIP
        ['_index/BTCUSD.json', '_index/ETHUSD.json']
        """
        for meta in self.list(prefix):
            yield meta.key

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove the object; removing a missing object is not an error.

        Parameters
        ----------
        key : str
            The object's key (check it with `check_key`).

        Examples
        --------
        >>> backend.delete("BTCUSD/data/2024-03-04/1a2b.parquet")  # doctest: +SKIP
        """

    def owns(self, key: str) -> bool:
        """Whether deleting ``key`` would remove this store's own object and nothing else.

        Object stores own every key under their prefix (this default). The local backend says
        no for a file that is a symbolic link or lies behind one: it belongs to whatever the link
        points at (another store, an archive), so ``gc`` and ``destroy`` leave it alone.

        Parameters
        ----------
        key : str
            The object's key.

        Returns
        -------
        bool
            True if deleting it removes only this store's object.

        Examples
        --------
        >>> backend.owns("BTCUSD/_index.json")  # doctest: +SKIP
        True
        """
        return True

    def exists(self) -> bool:
        """Whether the store's root (directory, bucket, container) exists, so that reads can tell a typo
        from an empty store.

        The core asks only when a read finds nothing in a store without a manifest. The default says
        yes (an empty store); override it where the root can be missing and writes create it.

        Returns
        -------
        bool
            False when the root is missing, so the core raises `StoreNotFoundError`.

        Examples
        --------
        >>> backend.exists()  # doctest: +SKIP
        True
        """
        return True

    def get_range(self, key: str, offset: int, length: int) -> bytes:
        """Return ``length`` bytes of the object from ``offset``: fewer where the object ends first.

        Optional (this default calls `get` and slices). A backend whose service reads byte ranges
        (an HTTP ``Range`` header) overrides it, so that a select of an hour of a day, or of one
        column, fetches only those parts of the day's object (the core checks each part's CRC).

        Parameters
        ----------
        key : str
            The object's key (check it with `check_key`).
        offset : int
            The first byte, from 0; at or past the object's end gives ``b""``.
        length : int
            How many bytes at most; 0 gives ``b""`` without a request.

        Returns
        -------
        bytes
            ``get(key)[offset:offset + length]``.

        Raises
        ------
        ObjectNotFoundError
            No object has this key.

        Examples
        --------
        >>> backend.get_range("BTCUSD/data/2024-03-04/1a2b.arrow", 0, 8)  # doctest: +SKIP
        b'TSARROW1'
        """
        check_range(offset, length)
        return self.get(key)[offset : offset + length]

    def get_tagged(self, key: str, *, unless: str | None = None) -> tuple[str, bytes | None]:
        """Return the object's ETag and its bytes, the ETag never newer than the bytes.

        Optional (this default: `head`, then `get` unless the ETag is ``unless``). The core reads a
        mutable object (an index, the manifest) with it and compare-and-swaps against that ETag, so
        a stale pair fails safely. A service whose read returns the object's ETag with its body,
        and honours ``If-None-Match``, should override it: one request instead of two on every
        cold read of an index.

        Parameters
        ----------
        key : str
            The object's key (check it with `check_key`).
        unless : str, optional
            An ETag the caller holds the bytes of: when it is still the object's, the bytes are
            not sent and None comes back in their place.

        Returns
        -------
        tuple of (str, bytes or None)
            The object's ETag (as `head` gives it) and its bytes, or None when the ETag is ``unless``.

        Raises
        ------
        ObjectNotFoundError
            No object has this key.

        Examples
        --------
        >>> etag, data = backend.get_tagged("_index/BTCUSD.json")  # doctest: +SKIP
        >>> backend.get_tagged("_index/BTCUSD.json", unless=etag)  # doctest: +SKIP
        ('"9b2cf535f27731c974343645a3985328"', None)
        """
        meta = self.head(key)
        if unless is not None and meta.etag == unless:
            return meta.etag, None
        return meta.etag, self.get(key)

    def local_path(self, key: str) -> str | None:
        """A local file whose bytes are the object's, for the core to memory-map instead of calling `get`.

        Optional (this default: None, read through `get`). A backend that returns a path promises
        that the file holds exactly what `get` would return and is never changed in place (a put
        replaces it with a new file). The core falls back to `get` (and its errors) when the file
        cannot be opened.

        Parameters
        ----------
        key : str
            The object's key.

        Returns
        -------
        str or None
            The file's path, or None to read through `get`.

        Examples
        --------
        >>> backend.local_path("2024/03/04/BTCUSD_0000.h5")  # doctest: +SKIP
        '/data/ticks/2024/03/04/BTCUSD_0000.h5'
        """
        return None

    def lock(self, name: str) -> contextlib.AbstractContextManager[None]:
        """Hold an exclusive lock named ``name`` across processes, released if the holder dies.

        Object stores rely on conditional puts instead and keep this no-op default; a backend
        with ``layout = "behemoth"`` must override it.

        Parameters
        ----------
        name : str
            The lock's name (a key-like string, for example a symbol's).

        Returns
        -------
        contextlib.AbstractContextManager
            Held while the ``with`` block runs.

        Examples
        --------
        >>> with backend.lock("BTCUSD"):  # doctest: +SKIP
        ...     backend.put("BTCUSD/index.json", data)
        """
        return contextlib.nullcontext()

    def close(self) -> None:  # noqa: B027 - optional hook, most backends hold nothing
        """Release connections; the backend must not be used afterwards.

        Called by `Tickstore.close` and on leaving a ``with`` block. The default does nothing.

        Examples
        --------
        >>> backend.close()  # doctest: +SKIP
        """

    def __enter__(self) -> Backend:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.url}>"

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and isinstance(other, Backend) and other.url == self.url

    def __hash__(self) -> int:
        return hash((type(self), self.url))
