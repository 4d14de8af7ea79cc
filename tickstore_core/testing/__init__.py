"""Test helpers shipped with the core: the conformance suites any backend package can run.

`BackendConformance` checks the byte-level backend contract, `StoreConformance` a whole store on
the backend; `make_ticks` makes deterministic trades for tests. They need pytest and hypothesis
(``pip install "tickstore-core[testing]"``).
"""

from .backend_suite import BackendConformance
from .bypass import RawGet, RawPut
from .model import BitemporalModel
from .store_suite import StoreConformance, make_ticks

__all__ = ["BackendConformance", "BitemporalModel", "RawGet", "RawPut", "StoreConformance", "make_ticks"]
