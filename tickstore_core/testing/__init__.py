"""Test helpers shipped with the core: the conformance suites any backend package can run.

`BackendConformance` checks the byte-level backend contract, `StoreConformance` a whole store on
the backend, `LifecycleConformance` its version lifecycle (append, compaction, tags, pruning);
`make_ticks` makes deterministic trades for tests. They need pytest and hypothesis
(``pip install "tickstore-core[testing]"``).
"""

try:
    import hypothesis  # noqa: F401 - checked here, so the error names the extra to install
    import pytest  # noqa: F401
except ImportError as exc:
    from ..errors import MissingDependencyError

    raise MissingDependencyError(
        f"tickstore_core.testing needs pytest and hypothesis ({exc}); install them with: "
        'pip install "tickstore-core[testing]"'
    ) from exc

from .backend_suite import BackendConformance
from .bypass import RawGet, RawPut
from .lifecycle_suite import LifecycleConformance
from .model import BitemporalModel
from .store_suite import StoreConformance, make_ticks

__all__ = [
    "BackendConformance",
    "BitemporalModel",
    "LifecycleConformance",
    "RawGet",
    "RawPut",
    "StoreConformance",
    "make_ticks",
]
