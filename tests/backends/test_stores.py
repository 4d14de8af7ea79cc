"""The whole store contract (bitemporal rules, bad input, concurrency, version lifecycle) on every backend."""

import pytest

from emulators.raw import raw_access
from tickstore_core.testing import LifecycleConformance, StoreConformance


class TestStoreOnEveryBackend(StoreConformance, LifecycleConformance):
    property_examples = 15

    @pytest.fixture
    def new_store_location(self, store_location):
        return store_location

    @pytest.fixture
    def raw_get(self, store):  # the files, moto_server or Azurite through their own clients; None for memory
        access = raw_access(*store._test_location)
        return access and access[0]

    @pytest.fixture
    def raw_put(self, store):
        access = raw_access(*store._test_location)
        return access and access[1]
