"""Content checksums: recorded with every version, checked on every read."""

from __future__ import annotations

import hashlib

__all__ = ["checksum", "matches"]

_ALGORITHM = "sha256"


def checksum(data: bytes | memoryview) -> str:
    """The checksum of ``data``, prefixed with its algorithm (``sha256:...``)."""
    return f"{_ALGORITHM}:{hashlib.sha256(data).hexdigest()}"


def matches(data: bytes | memoryview, expected: str) -> bool:
    """Whether ``data`` has the checksum ``expected``."""
    algorithm, _, _ = expected.partition(":")
    if algorithm != _ALGORITHM:
        return False
    return checksum(data) == expected
