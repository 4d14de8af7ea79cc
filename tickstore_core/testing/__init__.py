"""Test helpers shipped with the core: the conformance suites any backend package can run."""

from .backend_suite import BackendConformance
from .model import BitemporalModel
from .store_suite import StoreConformance, make_ticks

__all__ = ["BackendConformance", "BitemporalModel", "StoreConformance", "make_ticks"]
