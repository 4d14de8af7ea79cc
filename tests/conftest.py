"""Shared fixtures: emulator servers and the one store fixture parametrised over every backend.

``store_location`` yields, for each backend, a callable returning ``(url, options)`` of a fresh,
empty store: cheapest backends first. Emulators start once per session on 127.0.0.1 (their
plugins, and the isolation from the user's files, are registered by the repository's conftest.py).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

BACKENDS = ["memory", "file", "s3", "azure"]
SHARED_BACKENDS = BACKENDS[1:]
StoreLocation = Callable[[], tuple[str, dict[str, Any]]]


def _unique() -> str:
    return uuid.uuid4().hex[:12]


def _locations(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> StoreLocation:
    if backend == "memory":
        return lambda: (f"memory://store-{_unique()}", {})
    if backend == "file":
        return lambda: ((tmp_path / f"store-{_unique()}").as_uri(), {})
    emulated = request.getfixturevalue("s3_store" if backend == "s3" else "azure_store")
    base = emulated.url.rstrip("/")
    return lambda: (f"{base}/{_unique()}", dict(emulated.options))


@pytest.fixture(params=BACKENDS)
def store_location(request: pytest.FixtureRequest, tmp_path: Path) -> StoreLocation:
    """A factory of fresh store locations on one backend; tests using it run on every backend."""
    return _locations(request.param, request, tmp_path)


@pytest.fixture(params=SHARED_BACKENDS)
def shared_store_location(request: pytest.FixtureRequest, tmp_path: Path) -> StoreLocation:
    """Like ``store_location``, for the backends other processes can reach (not ``memory``)."""
    return _locations(request.param, request, tmp_path)
