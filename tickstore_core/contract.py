"""Holding every backend to its contract at run time: what each verb may raise and return.

A plugin that breaks the contract (a verb letting its SDK's exception out, `get` returning text,
`put` returning nothing) would otherwise surface as a raw traceback from deep inside the core, or
as an ``AttributeError`` after a write had landed. `Backend` wraps each verb a subclass defines,
once, when the class is made: our own errors pass unchanged; any other exception, and a result of
the wrong kind, become a `BackendError` naming the backend and the verb. The cost is one call and
one ``isinstance`` per request.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from .errors import BackendError, TickstoreError

__all__ = ["keep_to_contract"]

_BYTES = (bytes, bytearray, memoryview)


def _bytes(result: Any, meta: type) -> bool:
    return isinstance(result, _BYTES)


def _meta(result: Any, meta: type) -> bool:
    return isinstance(result, meta)


def _tagged(result: Any, meta: type) -> bool:
    return (
        isinstance(result, tuple)
        and len(result) == 2
        and isinstance(result[0], str)
        and (result[1] is None or isinstance(result[1], _BYTES))
    )


def _anything(result: Any, meta: type) -> bool:
    return True


_RESULTS: dict[str, tuple[Callable[[Any, type], bool], str]] = {
    "get": (_bytes, "bytes"),
    "get_range": (_bytes, "bytes"),
    "head": (_meta, "an ObjectMeta"),
    "put": (_meta, "an ObjectMeta"),
    "get_tagged": (_tagged, "an (ETag, bytes or None) tuple"),
    "delete": (_anything, ""),
    "exists": (_anything, ""),
    "list": (_anything, ""),  # checked item by item
}
"""The verbs checked, what each must return, and how the message names it."""


def keep_to_contract(cls: type, meta: type) -> None:
    """Wrap the verbs ``cls`` itself defines; ``meta`` is `ObjectMeta`, what `head`, `put` and `list` give."""
    for verb, (fits, expected) in _RESULTS.items():
        method = cls.__dict__.get(verb)
        if callable(method) and not getattr(method, "_keeps_contract", False):
            checked = _checked_listing(method, meta) if verb == "list" else _checked(method, verb, fits, expected, meta)
            setattr(cls, verb, checked)


def _call(verb: str, args: tuple[Any, ...]) -> str:
    """``get('a/b')``: the key, never another argument (data, or whatever a plugin was given)."""
    return f"{verb}({args[0]!r})" if args and isinstance(args[0], str) else verb


def _raised(exc: Exception) -> str:
    """Its type only: a plugin's message may hold what it was given (a secret); the cause keeps it."""
    return f"raised {type(exc).__name__} (its message is in this error's cause)"


def _broken(backend: Any, verb: str, what: str) -> BackendError:
    name = getattr(type(backend), "name", type(backend).__name__)
    return BackendError(
        f"backend {name!r} broke the backend contract: {verb} {what}; "
        "this is a fault of the backend plugin, report it to its authors (docs/plugin-api.md)"
    )


def _checked(
    method: Callable[..., Any], verb: str, fits: Callable[[Any, type], bool], expected: str, meta: type
) -> Any:
    @functools.wraps(method)
    def verb_call(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            result = method(self, *args, **kwargs)
        except TickstoreError:
            raise
        except Exception as exc:
            raise _broken(self, _call(verb, args), _raised(exc)) from exc
        if not fits(result, meta):
            raise _broken(self, _call(verb, args), f"returned {type(result).__name__}, not {expected}")
        return result

    verb_call._keeps_contract = True  # type: ignore[attr-defined]
    return verb_call


def _checked_listing(method: Callable[..., Iterable[Any]], meta: type) -> Any:
    @functools.wraps(method)
    def list_call(self: Any, *args: Any, **kwargs: Any) -> Iterator[Any]:
        try:
            items = method(self, *args, **kwargs)  # a generator starts on the first next(), as before
        except TickstoreError:
            raise
        except Exception as exc:
            raise _broken(self, "list", _raised(exc)) from exc
        return _listed(self, items, meta)

    list_call._keeps_contract = True  # type: ignore[attr-defined]
    return list_call


def _listed(backend: Any, items: Iterable[Any], meta: type) -> Iterator[Any]:
    try:
        for item in items:
            if not isinstance(item, meta):
                raise _broken(backend, "list", f"gave a {type(item).__name__}, not an ObjectMeta")
            yield item
    except TickstoreError:
        raise
    except Exception as exc:
        raise _broken(backend, "list", _raised(exc)) from exc
