"""The backend contract: a narrow, synchronous, byte-level object store.

A backend stores immutable blobs of bytes under string keys, relative to the root given by its URL.
It knows nothing about ticks, versions, indexes, caching or encodings: those live in the core, once.
Six verbs are required (``from_url``, ``get``, ``head``, ``put``, ``list``, ``delete``); ``put``
must honour its ``mode`` atomically, because the core's compare-and-swap commit relies on it.
``exists``, ``lock``, ``local_path`` and ``close`` are optional.

Errors are translated into :mod:`tickstore_core.errors`: a missing object raises
:class:`~tickstore_core.errors.ObjectNotFoundError`, a lost ``"create"`` race
:class:`~tickstore_core.errors.ObjectExistsError`, a stale :class:`IfMatch`
:class:`~tickstore_core.errors.PreconditionFailedError`, refused credentials
:class:`~tickstore_core.errors.BackendPermissionError`, anything else
:class:`~tickstore_core.errors.BackendError` with the SDK error as ``__cause__``.
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

from .errors import InvalidKeyError

__all__ = ["Backend", "IfMatch", "ObjectMeta", "PutMode", "check_key"]


@dataclass(frozen=True)
class ObjectMeta:
    """What a backend knows about one stored object."""

    key: str
    size: int
    etag: str
    last_modified: datetime | None = None


@dataclass(frozen=True)
class IfMatch:
    """Put mode: replace the object only if its current ETag is ``etag`` (compare-and-swap)."""

    etag: str


PutMode: TypeAlias = Literal["overwrite", "create"] | IfMatch
"""``"overwrite"`` always writes; ``"create"`` fails if the key exists; ``IfMatch`` is a CAS."""

_KEY_RE = re.compile(r"[A-Za-z0-9._\-+=@^~#!]+(/[A-Za-z0-9._\-+=@^~#!]+)*")
MAX_KEY_LENGTH = 1000


def check_key(key: str) -> str:
    """Return ``key`` if it is a valid object key, else raise :class:`InvalidKeyError`.

    Keys are relative, ``/``-separated, made of letters, digits and ``._-+=@^~#!``, with no
    empty, ``.`` or ``..`` segment: safe as a file path, an S3 key and an Azure blob name alike.
    """
    if (
        not isinstance(key, str)
        or len(key) > MAX_KEY_LENGTH
        or not _KEY_RE.fullmatch(key)
        or any(part in (".", "..") for part in key.split("/"))
    ):
        raise InvalidKeyError(
            f"invalid object key {key!r}: use relative '/'-separated names of letters, digits "
            "and ._-+=@^~#!, without '.' or '..' segments"
        )
    return key


class Backend(ABC):
    """Base class of every storage backend.

    Class attributes describe the backend to the core:

    ``name``
        Short name shown to users (``"s3"``).
    ``schemes``
        URL schemes it opens (``("s3",)``).
    ``encoding``
        How the core encodes ticks for it: ``"parquet"`` or ``"hdf5"``.
    ``layout``
        How the core names objects: ``"default"`` (unique data keys) or ``"behemoth"``
        (``{YYYY}/{MM}/{DD}/{SYMBOL}_{VERSION:04d}.h5``, which needs a real :meth:`lock`).
    ``is_local``
        True when reads are as fast as the local disk, so the core does not cache them.

    Instances must be picklable (Dask ships them to workers), comparable by :attr:`url`, and
    their ``repr`` must never show credentials.
    """

    name: ClassVar[str]
    schemes: ClassVar[tuple[str, ...]]
    encoding: ClassVar[str] = "parquet"
    layout: ClassVar[str] = "default"
    is_local: ClassVar[bool] = False

    @classmethod
    @abstractmethod
    def from_url(cls, url: str, **options: Any) -> Backend:
        """Open the backend for ``url``; reject unknown options listing the valid ones."""

    @property
    @abstractmethod
    def url(self) -> str:
        """The store's URL without credentials: the backend's identity in caches and reprs."""

    @abstractmethod
    def get(self, key: str) -> bytes:
        """Return the object's bytes."""

    @abstractmethod
    def head(self, key: str) -> ObjectMeta:
        """Return the object's metadata; its ``etag`` is the one ``put`` returned."""

    @abstractmethod
    def put(self, key: str, data: bytes, *, mode: PutMode = "overwrite") -> ObjectMeta:
        """Store ``data`` under ``key`` atomically: readers see the old or the new bytes, never a mix."""

    @abstractmethod
    def list(self, prefix: str = "") -> Iterator[ObjectMeta]:
        """Yield every object whose key starts with ``prefix``, in ascending key order."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove the object; removing a missing object is not an error."""

    def owns(self, key: str) -> bool:
        """Whether deleting ``key`` would remove this store's own object and nothing else.

        Object stores own every key under their prefix (this default). The local backend says
        no for a file that is a symbolic link or lies behind one: it belongs to whatever the link
        points at (another store, an archive), so ``gc`` and ``destroy`` leave it alone.
        """
        return True

    def exists(self) -> bool:
        """Whether the store's root (directory, bucket, container) exists, so that reads can tell a typo
        from an empty store.

        The core asks only when a read finds nothing in a store without a manifest. The default says
        yes (an empty store); override it where the root can be missing and writes create it.
        """
        return True

    def local_path(self, key: str) -> str | None:
        """A local file whose bytes are the object's, for the core to memory-map instead of calling :meth:`get`.

        Optional (this default: None, read through :meth:`get`). A backend that returns a path
        promises that the file holds exactly what :meth:`get` would return and is never changed in
        place (a put replaces it with a new file). The core falls back to :meth:`get` (and its
        errors) when the file cannot be opened.
        """
        return None

    def lock(self, name: str) -> contextlib.AbstractContextManager[None]:
        """Hold an exclusive lock named ``name`` across processes, released if the holder dies.

        Object stores rely on conditional puts instead and keep this no-op default; a backend
        with ``layout = "behemoth"`` must override it.
        """
        return contextlib.nullcontext()

    def close(self) -> None:  # noqa: B027 - optional hook, most backends hold nothing
        """Release connections; the backend must not be used afterwards."""

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
