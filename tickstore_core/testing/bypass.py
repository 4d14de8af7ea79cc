"""The conformance suites' bypass hooks: read and write stored bytes without the backend under test.

A backend's test class provides them as the fixtures ``raw_get`` (``key -> bytes``) and ``raw_put``
(``(key, data) -> None``); a test that needs one the class does not provide is skipped.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import pytest

__all__ = ["RawGet", "RawPut", "required"]

RawGet = Callable[[str], bytes]
"""``raw_get(key) -> bytes``: an object's stored bytes, read without the backend under test."""
RawPut = Callable[[str, bytes], None]
"""``raw_put(key, data)``: store bytes as the backend would find them, without the backend under test."""
Hook = TypeVar("Hook")


def required(hook: Hook | None, name: str) -> Hook:
    """The hook, or skip the test saying the backend's test class does not provide it."""
    if hook is None:
        pytest.skip(f"the test class does not provide the '{name}' bypass hook (see tickstore_core.testing.bypass)")
    return hook
