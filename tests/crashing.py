"""Kill hooks of the crash tests: once armed, the process dies (SIGKILL) half-way through writing an object."""

from __future__ import annotations

import http.client
import os
import signal
import time
from typing import Any

__all__ = ["Armed", "die", "hook_transports"]


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
