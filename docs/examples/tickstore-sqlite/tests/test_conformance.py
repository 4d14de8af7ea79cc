"""A third-party backend proves itself with tickstore's conformance suites; sqlite3 itself checks what is stored."""

import sqlite3
import uuid
from contextlib import closing
from datetime import datetime, timezone

import pytest
from tickstore_sqlite._backend import SQLiteBackend

from tickstore_core.testing import BackendConformance, StoreConformance


def sqlite_raw_get(path):
    """Reads an object's bytes with sqlite3 itself, not the backend: the suites' ``raw_get`` hook."""

    def raw_get(key):
        with closing(sqlite3.connect(path)) as db:
            (data,) = db.execute("SELECT data FROM objects WHERE key = ?", (key,)).fetchone()
        return bytes(data)

    return raw_get


def sqlite_raw_put(path):
    """Stores bytes (with a new etag) with sqlite3 itself, not the backend: the ``raw_put`` hook."""

    def raw_put(key, data):
        with closing(sqlite3.connect(path)) as db, db:  # closed, and committed
            db.execute(
                "INSERT OR REPLACE INTO objects VALUES (?, ?, ?, ?)",
                (key, data, f'"{uuid.uuid4().hex}"', datetime.now(timezone.utc).isoformat()),
            )

    return raw_put


class TestSQLiteBackend(BackendConformance):
    @pytest.fixture
    def backend(self, tmp_path):
        with SQLiteBackend.from_url(f"sqlite://{tmp_path}/store.db") as backend:
            yield backend

    @pytest.fixture
    def raw_get(self, tmp_path):
        return sqlite_raw_get(tmp_path / "store.db")

    @pytest.fixture
    def raw_put(self, tmp_path):
        return sqlite_raw_put(tmp_path / "store.db")


class TestSQLiteStore(StoreConformance):
    @pytest.fixture
    def new_store_location(self, tmp_path):
        return lambda: (f"sqlite://{tmp_path}/{uuid.uuid4().hex}.db", {})

    @pytest.fixture
    def raw_get(self, store):
        return sqlite_raw_get(store._test_location[0].removeprefix("sqlite://"))

    @pytest.fixture
    def raw_put(self, store):
        return sqlite_raw_put(store._test_location[0].removeprefix("sqlite://"))
