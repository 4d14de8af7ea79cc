"""Options of the local backend: typed keywords, or strings from the URL query."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tickstore_core.plugin import BackendOptions, InvalidURLError, flag_option, option

__all__ = ["HDF5Options"]


def _seconds(name: str, value: Any) -> float | None:
    if value is None or (isinstance(value, str) and value.strip().lower() in ("", "none")):
        return None
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = -1.0
    if isinstance(value, bool) or not seconds >= 0:
        raise InvalidURLError(f"option {name}={value!r} must be a number of seconds >= 0, or none")
    return seconds


@dataclass(frozen=True)
class HDF5Options(BackendOptions):
    """How the local backend writes and waits (see :mod:`tickstore_hdf5._backend`)."""

    backend = "hdf5"
    scheme = "file"

    fsync: bool = option(flag_option, True)
    lock_timeout: float | None = option(_seconds)
