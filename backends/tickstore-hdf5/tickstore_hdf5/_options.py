"""Options of the local backend: typed keywords, or strings from the URL query."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

from tickstore_core import InvalidURLError
from tickstore_core.options import flag_option

__all__ = ["LocalOptions"]


@dataclass(frozen=True)
class LocalOptions:
    """How the local backend writes and waits (see :mod:`tickstore_hdf5._backend`)."""

    fsync: bool = True
    lock_timeout: float | None = None

    @classmethod
    def parse(cls, options: dict[str, Any]) -> LocalOptions:
        """Options from keywords (typed) or the URL query (strings); unknown names are refused."""
        valid = [f.name for f in fields(cls)]
        unknown = sorted(set(options) - set(valid))
        if unknown:
            raise InvalidURLError(
                f"unknown option(s) {', '.join(unknown)} for the file backend; valid options: {', '.join(valid)}"
            )
        parsed = cls()
        if "fsync" in options:
            parsed = replace(parsed, fsync=flag_option("fsync", options["fsync"]))
        if "lock_timeout" in options:
            parsed = replace(parsed, lock_timeout=_seconds("lock_timeout", options["lock_timeout"]))
        return parsed


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
