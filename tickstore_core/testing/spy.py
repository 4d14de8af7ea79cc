"""Watch a backend from a test: count its requests, and make it unreachable at will."""

from __future__ import annotations

import collections
from collections.abc import Callable
from typing import Any

from ..backend import Backend
from ..errors import BackendError

__all__ = ["count_requests"]

VERBS = ("get", "get_range", "get_tagged", "head", "put", "list", "delete")


def count_requests(backend: Backend) -> tuple[collections.Counter[str], dict[str, bool]]:
    """Count ``backend``'s requests by verb; setting ``state["offline"]`` makes each one fail.

    Returns ``(calls, state)``. The backend object is patched in place, for the rest of its life.
    """
    calls: collections.Counter[str] = collections.Counter()
    state = {"offline": False}
    for verb in VERBS:
        real: Callable[..., Any] = getattr(backend, verb)

        def request(*args: Any, _real: Callable[..., Any] = real, _verb: str = verb, **kwargs: Any) -> Any:
            calls[_verb] += 1
            if state["offline"]:
                raise BackendError(f"{backend.url} is unreachable (simulated)")
            return _real(*args, **kwargs)

        setattr(backend, verb, request)
    return calls, state
