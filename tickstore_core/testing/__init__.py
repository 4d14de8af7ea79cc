"""Test helpers shipped with the core: the conformance suites any backend package can run."""

from .backend_suite import BackendConformance
from .bypass import RawGet, RawPut
from .model import BitemporalModel
from .store_suite import StoreConformance, make_ticks

__all__ = ["BackendConformance", "BitemporalModel", "RawGet", "RawPut", "StoreConformance", "make_ticks"]
