"""A tickstore backend keeping every object in one SQLite file: ``sqlite:///path/to/store.db``.

It shows the whole contract in a few lines: SQLite transactions make each conditional put atomic,
and SQLite's file locking makes them safe across processes on one machine.
"""

from __future__ import annotations

import sqlite3
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, ClassVar

from tickstore_core.plugin import (
    Backend,
    BackendError,
    BackendOptions,
    IfMatch,
    InvalidURLError,
    ObjectExistsError,
    ObjectMeta,
    ObjectNotFoundError,
    PreconditionFailedError,
    PutMode,
    check_key,
    split_url,
)

_SCHEMA = "CREATE TABLE IF NOT EXISTS objects (key TEXT PRIMARY KEY, data BLOB, etag TEXT, modified TEXT)"


@dataclass(frozen=True)
class SQLiteOptions(BackendOptions):
    """This backend takes no options; a backend with some declares them here as fields made by ``option``."""

    backend = "sqlite"
    scheme = "sqlite"


class SQLiteBackend(Backend):
    name: ClassVar[str] = "sqlite"
    schemes: ClassVar[tuple[str, ...]] = ("sqlite",)
    is_local: ClassVar[bool] = True  # a local file: a disk cache in front of it would gain nothing

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()  # one connection per thread
        self._connection().execute(_SCHEMA)

    @classmethod
    def from_url(cls, url: str, **options: Any) -> SQLiteBackend:
        parts = split_url(url)
        SQLiteOptions.parse(parts.query, options)  # none are valid: refuses any, naming them
        if parts.netloc or not parts.path:
            raise InvalidURLError(f"use sqlite:///absolute/path/to/store.db, not {url!r}")
        path = Path(parts.path)
        path.parent.mkdir(parents=True, exist_ok=True)
        return cls(path)

    @property
    def url(self) -> str:
        return f"sqlite://{self.path}"

    def __reduce__(self) -> tuple[Any, ...]:
        return (SQLiteBackend, (self.path,))

    def _connection(self) -> sqlite3.Connection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = sqlite3.connect(self.path, timeout=60, isolation_level=None)
            connection.execute("PRAGMA journal_mode=WAL")
            self._local.connection = connection
        return connection

    def get(self, key: str) -> bytes:
        row = self._row("SELECT data FROM objects WHERE key = ?", key)
        return bytes(row[0])

    def head(self, key: str) -> ObjectMeta:
        size, etag, modified = self._row("SELECT length(data), etag, modified FROM objects WHERE key = ?", key)
        return ObjectMeta(key, size, etag, datetime.fromisoformat(modified))

    def put(self, key: str, data: bytes, *, mode: PutMode = "overwrite") -> ObjectMeta:
        check_key(key)
        meta = ObjectMeta(key, len(data), uuid.uuid4().hex, datetime.now(timezone.utc))
        db = self._connection()
        try:
            db.execute("BEGIN IMMEDIATE")  # take the write lock before reading the current ETag
            current = db.execute("SELECT etag FROM objects WHERE key = ?", (key,)).fetchone()
            if mode == "create" and current is not None:
                raise ObjectExistsError(f"{self.url}/{key} already exists")
            if isinstance(mode, IfMatch) and (current is None or current[0] != mode.etag):
                raise PreconditionFailedError(f"{self.url}/{key} changed since it was read; re-read and retry")
            db.execute(
                "INSERT OR REPLACE INTO objects VALUES (?, ?, ?, ?)",
                (key, bytes(data), meta.etag, meta.last_modified.isoformat()),  # type: ignore[union-attr]
            )
            db.execute("COMMIT")
        except sqlite3.Error as exc:
            db.execute("ROLLBACK")
            raise BackendError(f"{self.url}: {exc}") from exc
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return meta

    def list(self, prefix: str = "") -> Iterator[ObjectMeta]:
        rows = self._connection().execute(
            "SELECT key, length(data), etag, modified FROM objects WHERE substr(key, 1, ?) = ? ORDER BY key",
            (len(prefix), prefix),
        )
        return iter([ObjectMeta(k, size, etag, datetime.fromisoformat(m)) for k, size, etag, m in rows.fetchall()])

    def delete(self, key: str) -> None:
        check_key(key)
        self._connection().execute("DELETE FROM objects WHERE key = ?", (key,))

    def close(self) -> None:
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None

    def _row(self, query: str, key: str) -> tuple[Any, ...]:
        check_key(key)
        row = self._connection().execute(query, (key,)).fetchone()
        if row is None:
            raise ObjectNotFoundError(f"{self.url}/{key} does not exist")
        return tuple(row)
