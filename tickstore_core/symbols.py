"""Symbol names: one rule, checked before anything is read or written.

A symbol becomes part of object keys and file names on every backend, so it is restricted to
characters that are safe everywhere: letters, digits and ``._-+=@^~#!``, at most 128 of them,
starting with a letter, digit or ``^`` (index tickers such as ``^GSPC``), and never ``..``.
"""

from __future__ import annotations

import re

from .errors import InvalidSymbolError

__all__ = ["MAX_SYMBOL_LENGTH", "check_symbol", "is_symbol"]

MAX_SYMBOL_LENGTH = 128
_SYMBOL_RE = re.compile(r"[A-Za-z0-9^][A-Za-z0-9._\-+=@^~#!]*")


def check_symbol(symbol: object) -> str:
    """Return ``symbol`` unchanged if it is a valid symbol name, else raise :class:`InvalidSymbolError`."""
    if not isinstance(symbol, str):
        raise InvalidSymbolError(f"a symbol must be a string, got {type(symbol).__name__}")
    shown = repr(symbol if len(symbol) <= 40 else symbol[:40] + "...")
    if not symbol:
        raise InvalidSymbolError("a symbol must not be empty")
    if len(symbol) > MAX_SYMBOL_LENGTH:
        raise InvalidSymbolError(f"symbol {shown} is {len(symbol)} characters long; the limit is {MAX_SYMBOL_LENGTH}")
    if not _SYMBOL_RE.fullmatch(symbol) or ".." in symbol:
        raise InvalidSymbolError(
            f"symbol {shown} is not allowed: use letters, digits and ._-+=@^~#! only "
            "(no '/', '\\', spaces, control characters or '..'), starting with a letter, digit or '^'"
        )
    return symbol


def is_symbol(name: str) -> bool:
    """Whether ``name`` is a valid symbol name (`check_symbol` without the error): an index file someone else
    put beside the store's, named otherwise, is not a symbol."""
    return len(name) <= MAX_SYMBOL_LENGTH and _SYMBOL_RE.fullmatch(name) is not None and ".." not in name
