"""An in-process backend: the reference implementation of the contract, for tests and demos.

``memory://name`` opens a store shared by every backend opened with the same name in the
process, so two stores (or a store and a test) can see each other's writes.
"""

from __future__ import annotations

import itertools
import os
import threading
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any, ClassVar
from urllib.parse import urlsplit

from .backend import Backend, IfMatch, ObjectMeta, PutMode, check_key
from .errors import (
    BackendError,
    InvalidOptionError,
    ObjectExistsError,
    ObjectNotFoundError,
    PreconditionFailedError,
)

__all__ = ["MemoryBackend"]

_Bucket = dict[str, tuple[bytes, ObjectMeta]]
_BUCKETS: dict[str, _Bucket] = {}
_BUCKETS_LOCK = threading.Lock()
_ETAGS = itertools.count(1)
_RUN = [uuid.uuid4().hex[:12]]
"""Part of every ETag: a cache on disk outlives the process, and another process's ``"1"`` is not ours."""
if hasattr(os, "register_at_fork"):  # a forked child is another run (not on Windows, which does not fork)
    os.register_at_fork(after_in_child=lambda: _RUN.__setitem__(0, uuid.uuid4().hex[:12]))


class MemoryBackend(Backend):
    """Objects kept in a process-global dict, keyed by the store name."""

    name: ClassVar[str] = "memory"
    schemes: ClassVar[tuple[str, ...]] = ("memory",)
    is_local: ClassVar[bool] = True  # in-process: nothing to gain from a disk cache

    def __init__(self, store_name: str = "default") -> None:
        self._name = store_name
        with _BUCKETS_LOCK:
            self._objects = _BUCKETS.setdefault(store_name, {})
        self._lock = threading.Lock()

    @classmethod
    def from_url(cls, url: str, **options: Any) -> MemoryBackend:
        if options:
            raise InvalidOptionError(
                f"unknown option(s) {', '.join(sorted(options))} for the memory backend; valid options: none"
            )
        parts = urlsplit(url)
        name = (parts.netloc + parts.path).strip("/") or "default"
        return cls(name)

    @property
    def url(self) -> str:
        return f"memory://{self._name}"

    def __reduce__(self) -> tuple[Any, ...]:
        return (_reattached, (self._name, _RUN[0]))

    def get(self, key: str) -> bytes:
        return self._entry(key)[0]

    def head(self, key: str) -> ObjectMeta:
        return self._entry(key)[1]

    def put(self, key: str, data: bytes, *, mode: PutMode = "overwrite") -> ObjectMeta:
        check_key(key)
        data = bytes(data)
        with self._lock:
            current = self._objects.get(key)
            if mode == "create" and current is not None:
                raise ObjectExistsError(f"{self.url}/{key} already exists")
            if isinstance(mode, IfMatch) and (current is None or current[1].etag != mode.etag):
                raise PreconditionFailedError(
                    f"{self.url}/{key} changed since ETag {mode.etag} was read; re-read it and retry"
                )
            meta = ObjectMeta(key, len(data), f'"{_RUN[0]}-{next(_ETAGS)}"', datetime.now(timezone.utc))
            self._objects[key] = (data, meta)
        return meta

    def list(self, prefix: str = "") -> Iterator[ObjectMeta]:
        with self._lock:
            metas = [meta for key, (_, meta) in self._objects.items() if key.startswith(prefix)]
        return iter(sorted(metas, key=lambda meta: meta.key))

    def delete(self, key: str) -> None:
        check_key(key)
        with self._lock:
            self._objects.pop(key, None)

    def _entry(self, key: str) -> tuple[bytes, ObjectMeta]:
        check_key(key)
        with self._lock:
            entry = self._objects.get(key)
        if entry is None:
            raise ObjectNotFoundError(f"{self.url}/{key} does not exist")
        return entry

    @staticmethod
    def clear(store_name: str) -> None:
        """Forget every object of the named in-memory store."""
        with _BUCKETS_LOCK:
            _BUCKETS.get(store_name, {}).clear()


def _reattached(name: str, run: str) -> MemoryBackend:
    """A pickled memory backend, in this process: a process started afresh (spawned) has no such store,
    and a new empty one would silently lose what it writes and miss what the parent holds."""
    if run != _RUN[0] and name not in _BUCKETS:
        raise BackendError(
            f"memory://{name} lives in the process that made it and cannot be sent to another one (its writes "
            "would be lost); use a file:// or cloud store to share ticks between processes"
        )
    return MemoryBackend(name)
