"""A third-party backend proves itself with tickstore's conformance suites: these few lines."""

import uuid

import pytest
from tickstore_sqlite._backend import SQLiteBackend

from tickstore_core.testing import BackendConformance, StoreConformance


class TestSQLiteBackend(BackendConformance):
    @pytest.fixture
    def backend(self, tmp_path):
        with SQLiteBackend.from_url(f"sqlite://{tmp_path}/store.db") as backend:
            yield backend


class TestSQLiteStore(StoreConformance):
    @pytest.fixture
    def new_store_location(self, tmp_path):
        return lambda: (f"sqlite://{tmp_path}/{uuid.uuid4().hex}.db", {})
