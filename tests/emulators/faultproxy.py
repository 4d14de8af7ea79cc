"""A TCP proxy on 127.0.0.1 between a store and its emulator, whose behaviour a test switches at runtime.

>>> with FaultProxy(upstream_port) as proxy:           # doctest: +SKIP
...     store = open_store(url, endpoint_url=proxy.url)
...     proxy.set("reset", rate=0.2)                     # every fifth request chunk, on average

Modes of :meth:`FaultProxy.set`:

``pass``
    forward both ways.
``delay``
    hold every chunk of a request ``delay_ms`` before forwarding it.
``drop``
    close the connection (FIN) instead of forwarding: the client gets no reply.
``reset``
    reset the connection (RST, through ``SO_LINGER`` 0) instead of forwarding.
``refuse``
    stop listening, so new connections are refused (the emulator looks gone); connections already
    open are reset on their next request.

``rate`` (0..1) makes ``drop`` and ``reset`` intermittent: each chunk is hit with that probability
(from a seeded generator). ``on="response"`` makes them hit a chunk of the response instead: the
request reached the emulator and was carried out, but the client never hears so.

One thread accepts, one thread per connection pumps both directions with a selector (so no
thread ever blocks on a socket another one closes); :meth:`FaultProxy.stop` ends them all.
"""

from __future__ import annotations

import collections
import contextlib
import random
import selectors
import socket
import struct
import threading
import time
from types import TracebackType
from typing import Literal

__all__ = ["FaultProxy", "Mode"]

Mode = Literal["pass", "delay", "drop", "reset", "refuse"]
_MODES = ("pass", "delay", "drop", "reset", "refuse")
_TICK = 0.05  # seconds between checks of the stop flag and the mode


class FaultProxy:
    """Forwards 127.0.0.1:``port`` to ``upstream_host``:``upstream_port``, faults switched by :meth:`set`."""

    def __init__(self, upstream_port: int, upstream_host: str = "127.0.0.1", *, seed: int = 0) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.stats: collections.Counter[str] = collections.Counter()
        self._mode: Mode = "pass"
        self._delay = 0.0
        self._rate = 1.0
        self._on: Literal["request", "response"] = "request"
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._generation = self._applied = 0
        self._stopped = threading.Event()
        self._listener: socket.socket | None = self._listen(0)
        self.port: int = self._listener.getsockname()[1]
        self._threads: list[threading.Thread] = []
        self._server = threading.Thread(target=self._serve, name=f"faultproxy-{self.port}", daemon=True)
        self._server.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # --- control -------------------------------------------------------------------------------

    def set(
        self,
        mode: Mode,
        *,
        delay_ms: float = 0.0,
        rate: float = 1.0,
        on: Literal["request", "response"] = "request",
    ) -> None:
        """Switch to ``mode``; returns once new connections see it (listening or refused)."""
        if mode not in _MODES or not 0.0 <= rate <= 1.0 or on not in ("request", "response"):
            raise ValueError(f"bad fault: {mode=}, {rate=}, {on=}")
        with self._changed:
            self._mode, self._delay, self._rate, self._on = mode, delay_ms / 1000.0, rate, on
            self._generation += 1
            wanted = self._generation
            if not self._changed.wait_for(lambda: self._applied >= wanted or self._stopped.is_set(), timeout=5):
                raise RuntimeError("the fault proxy did not apply the new mode within 5 s")

    def stop(self) -> None:
        """Stop accepting, close every connection and join every thread."""
        self._stopped.set()
        with self._changed:
            self._changed.notify_all()
        self._server.join(timeout=5)
        for thread in list(self._threads):
            thread.join(timeout=5)
        if self._listener is not None:
            self._listener.close()
            self._listener = None

    def __enter__(self) -> FaultProxy:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # --- accepting -----------------------------------------------------------------------------

    def _listen(self, port: int) -> socket.socket:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", port))
        listener.listen(64)
        listener.settimeout(_TICK)
        return listener

    def _serve(self) -> None:
        while not self._stopped.is_set():
            with self._changed:
                refusing = self._mode == "refuse"
                if refusing and self._listener is not None:
                    self._listener.close()  # only this thread uses the listener: no one is blocked on it
                    self._listener = None
                elif not refusing and self._listener is None:
                    self._listener = self._listen(self.port)
                self._applied = self._generation
                self._changed.notify_all()
                listener = self._listener
            if listener is None:
                self._stopped.wait(_TICK)
                continue
            try:
                client, _ = listener.accept()
            except (TimeoutError, OSError):
                continue
            self._count("connections")
            thread = threading.Thread(target=self._pump, args=(client,), name="faultproxy-connection", daemon=True)
            self._threads = [t for t in self._threads if t.is_alive()]
            self._threads.append(thread)
            thread.start()

    # --- one connection ------------------------------------------------------------------------

    def _fault(self, direction: str) -> str | None:
        """What to do with a chunk going ``direction``: None (forward), "delay", "drop" or "reset"."""
        with self._lock:
            mode = self._mode
            if mode == "refuse":
                return "reset" if direction == "request" else None
            if mode == "delay":
                return "delay" if direction == "request" else None
            if mode in ("drop", "reset") and direction == self._on and self._random.random() < self._rate:
                return mode
            return None

    def _count(self, event: str) -> None:
        with self._lock:
            self.stats[event] += 1

    def _pump(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(self.upstream, timeout=5)
        except OSError:
            _reset(client)
            return
        peers = {client: upstream, upstream: client}
        directions = {client: "request", upstream: "response"}
        selector = selectors.DefaultSelector()
        for sock in peers:
            sock.settimeout(5)
            selector.register(sock, selectors.EVENT_READ)
        try:
            while selector.get_map() and not self._stopped.is_set():
                for key, _ in selector.select(timeout=_TICK):
                    sock: socket.socket = key.fileobj  # type: ignore[assignment]
                    try:
                        data = sock.recv(65536)
                    except OSError:
                        return
                    if not data:  # half close: pass the FIN on, keep reading the other way
                        selector.unregister(sock)
                        with contextlib.suppress(OSError):
                            peers[sock].shutdown(socket.SHUT_WR)
                        continue
                    fault = self._fault(directions[sock])
                    if fault == "reset":
                        self._count("reset")
                        _reset(client)
                        return
                    if fault == "drop":
                        self._count("dropped")
                        return
                    if fault == "delay":
                        self._count("delayed")
                        time.sleep(self._delay)
                    try:
                        peers[sock].sendall(data)
                    except OSError:
                        return
                    self._count(f"{directions[sock]}_chunks")
        finally:
            selector.close()
            for sock in peers:
                with contextlib.suppress(OSError):
                    sock.close()


def _reset(sock: socket.socket) -> None:
    """Close ``sock`` with an RST instead of a FIN."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()
