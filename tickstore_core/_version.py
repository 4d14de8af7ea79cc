"""The installed version of tickstore-core, from the package metadata (one source: pyproject.toml)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

__all__ = ["__version__"]

try:
    __version__ = version("tickstore-core")
except PackageNotFoundError:  # imported from a source tree that was never installed
    __version__ = "0+unknown"
