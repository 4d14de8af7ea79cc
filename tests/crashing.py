"""Kill hooks of the crash tests: once armed, the process dies (SIGKILL) half-way through writing an object."""

from __future__ import annotations

import http.client
import os
import signal
import time
from typing import Any

from tickstore_core.store import Tickstore

__all__ = ["Armed", "arm", "die", "hook_transports"]


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(60)  # never reached


class Armed:
    """Set by the hooked ``put`` just before the real one; the transport hooks kill when it is set."""

    on = False


def hook_transports() -> None:
    """Kill the process half-way through writing an object, once armed.

    Object stores: half of the HTTP request body is sent (the headers announced all of it), then
    the process dies. Local disk: the temporary file is complete, the rename into place never
    happens.
    """
    real_send = http.client.HTTPConnection.send

    def send(self: http.client.HTTPConnection, data: Any) -> None:
        if not Armed.on or not isinstance(data, (bytes, bytearray, memoryview)):
            return real_send(self, data)
        data = bytes(data)
        head, separator, body = data.partition(b"\r\n\r\n")
        if separator and head[:8].split(b" ")[0] in (b"PUT", b"POST"):
            if not body:  # the request line and headers only: the body follows in the next send
                return real_send(self, data)
            real_send(self, head + separator + body[: len(body) // 2])
        else:
            real_send(self, data[: len(data) // 2])
        die()
        return None

    http.client.HTTPConnection.send = send  # type: ignore[method-assign]
    for name in ("replace", "link", "rename"):
        real = getattr(os, name)

        def moved(*args: Any, _real: Any = real, **kwargs: Any) -> Any:
            if Armed.on:
                die()
            return _real(*args, **kwargs)

        setattr(os, name, moved)


def arm(store: Tickstore, symbol: str, point: str) -> None:
    """Kill this process at ``point`` of the next write of ``symbol``:

    ``before_upload`` / ``mid_upload``  before, or half-way through, writing a data object;
    ``after_upload`` (``before_commit``)  with every object written, about to write the index;
    ``mid_commit``                       half-way through writing the index;
    ``after_commit``                     right after the index was written.
    """
    real_put = store.backend.put
    index_key = store.layout.index_key(symbol)
    about_to_commit = point in ("after_upload", "before_commit")

    def put(key: str, data: bytes, **kwargs: Any) -> Any:
        is_data = store.layout.parse_data_key(key) is not None
        if (is_data and point == "before_upload") or (key == index_key and about_to_commit):
            die()
        if (is_data and point == "mid_upload") or (key == index_key and point == "mid_commit"):
            Armed.on = True
        result = real_put(key, data, **kwargs)
        if key == index_key and point == "after_commit":
            die()
        return result

    store.backend.put = put  # type: ignore[method-assign]
    hook_transports()
