"""Checking store and backend options, for the core and for backend plugins.

Keyword values arrive typed; URL query values arrive as strings. Each converter takes the option's
name (for the message) and the value, and raises :class:`InvalidURLError` saying what it expects.
A credential must never sit in a URL (URLs end up in logs): :func:`check_option_names` refuses
one there, naming the option and never echoing its value.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from .errors import InvalidURLError

__all__ = ["check_option_names", "flag_option", "number_option", "text_option"]

Converter = Callable[[str, Any], Any]
_KINDS = {int: "an integer", float: "a number"}


def check_option_names(
    given: Iterable[str],
    in_url: Iterable[str],
    *,
    valid: Sequence[str],
    secrets: Sequence[str],
    backend: str,
    scheme: str,
    credentials_from: str,
) -> None:
    """Refuse unknown options, and credentials in the URL query (``credentials_from`` says where they go)."""
    unknown = sorted(set(given).difference(valid))
    if unknown:
        raise InvalidURLError(
            f"unknown option(s) {', '.join(unknown)} for the {backend} backend; valid options: {', '.join(valid)}"
        )
    misplaced = sorted(set(in_url).intersection(secrets))
    if misplaced:
        raise InvalidURLError(
            f"{', '.join(misplaced)} must not be in an {scheme}:// URL (URLs end up in logs); pass credentials "
            f"{credentials_from}"
        )


def text_option(name: str, value: Any) -> str | None:
    """A string; empty means unset. A value of another type is refused without echoing it (a credential?)."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InvalidURLError(f"option {name} must be a string")
    return value


def number_option(kind: type[int] | type[float], minimum: float) -> Converter:
    """A converter to an exact ``kind`` (no rounding, no booleans) of at least ``minimum``."""

    def convert(name: str, value: Any) -> Any:
        try:
            number = kind(value)
            exact = not isinstance(value, bool) and number == float(value)
        except (TypeError, ValueError):
            exact = False
        if not exact or number < minimum:
            raise InvalidURLError(f"option {name}={value!r} must be {_KINDS[kind]} >= {minimum:g}")
        return number

    return convert


def flag_option(name: str, value: Any) -> bool:
    """A boolean, or its usual spellings in a URL: 1/0, true/false, yes/no, on/off."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise InvalidURLError(f"option {name}={value!r} must be true or false")
