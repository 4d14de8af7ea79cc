"""The whole store contract (bitemporal rules, bad input, concurrency) on every backend."""

import pytest

from tickstore_core.testing import StoreConformance


class TestStoreOnEveryBackend(StoreConformance):
    property_examples = 15

    @pytest.fixture
    def new_store_location(self, store_location):
        return store_location
