"""Storage emulators the test session starts on 127.0.0.1 and stops by PID at its end."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class EmulatedStore:
    """Where a test's fresh store lives: open it with ``open_store(url, **options)``."""

    url: str
    options: dict[str, Any]
