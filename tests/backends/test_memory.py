"""The in-process backend meets the backend contract and the store contract."""

import uuid

import pytest

from tickstore_core.memory import MemoryBackend
from tickstore_core.testing import BackendConformance, StoreConformance


class TestMemoryBackend(BackendConformance):
    @pytest.fixture
    def backend(self):
        name = f"conformance-{uuid.uuid4().hex}"
        with MemoryBackend(name) as backend:
            yield backend
        MemoryBackend.clear(name)


class TestMemoryStore(StoreConformance):
    property_examples = 150

    @pytest.fixture
    def new_store_location(self):
        return lambda: (f"memory://store-{uuid.uuid4().hex}", {})
