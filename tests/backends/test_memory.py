"""The in-process backend meets the backend contract."""

import uuid

import pytest

from tickstore_core.memory import MemoryBackend
from tickstore_core.testing import BackendConformance


class TestMemoryBackend(BackendConformance):
    @pytest.fixture
    def backend(self):
        name = f"conformance-{uuid.uuid4().hex}"
        with MemoryBackend(name) as backend:
            yield backend
        MemoryBackend.clear(name)
