"""Test helpers shipped with the core: the conformance suites any backend package can run."""

from .backend_suite import BackendConformance

__all__ = ["BackendConformance"]
