"""pytest plugin shipped with the core (entry point ``pytest11``): markers the suites use."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "emulator: needs a local storage emulator")
