"""A shaped link for the benchmark: a TCP proxy on 127.0.0.1 limiting bandwidth and adding latency.

Built on the same pattern as the tests' fault proxy (``tests/emulators/faultproxy.py``: one thread
accepts, one thread per connection pumps both directions with a selector), but instead of faults
it shapes the traffic like a network link between a client and its object store:

- **bandwidth**: each direction is a token bucket shared by every connection (the link is shared,
  so 16 parallel GETs get 50 MB/s together, not each);
- **latency**: ``latency_ms`` is added once per request (the first chunk a client sends after it
  received a response, or on a new connection), i.e. added round-trip time per HTTP request.

It also counts the bytes that crossed it each way, so the report shows the bytes on the wire.

>>> with ShapedLink(moto_port, mbytes_per_s=50, latency_ms=20) as link:   # doctest: +SKIP
...     store = open_store(url, endpoint_url=link.url)
"""

from __future__ import annotations

import collections
import contextlib
import selectors
import socket
import threading
import time
from types import TracebackType

__all__ = ["ShapedLink"]

_TICK = 0.05  # seconds between checks of the stop flag
_CHUNK = 65536


class _Bucket:
    """Bandwidth of one direction of the link: bytes leave no faster than ``rate`` bytes/s in total."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self._lock = threading.Lock()
        self._free_at = 0.0  # monotonic time when the link has sent everything queued so far

    def send_time(self, size: int) -> float:
        """Reserve ``size`` bytes on the link; the monotonic time when they have been sent."""
        with self._lock:
            now = time.monotonic()
            self._free_at = max(now, self._free_at) + size / self.rate
            return self._free_at


class ShapedLink:
    """Forwards 127.0.0.1:``port`` to ``upstream_host``:``upstream_port`` over a shaped link."""

    def __init__(
        self,
        upstream_port: int,
        upstream_host: str = "127.0.0.1",
        *,
        mbytes_per_s: float = 50.0,
        latency_ms: float = 20.0,
    ) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.mbytes_per_s = mbytes_per_s
        self.latency_ms = latency_ms
        self.stats: collections.Counter[str] = collections.Counter()
        self._buckets = {"request": _Bucket(mbytes_per_s * 1e6), "response": _Bucket(mbytes_per_s * 1e6)}
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(128)
        self._listener.settimeout(_TICK)
        self.port: int = self._listener.getsockname()[1]
        self._threads: list[threading.Thread] = []
        self._server = threading.Thread(target=self._serve, name=f"shaper-{self.port}", daemon=True)
        self._server.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def describe(self) -> str:
        return f"{self.mbytes_per_s:g} MB/s, +{self.latency_ms:g} ms per request"

    def take_stats(self) -> dict[str, int]:
        """The counters since the last call (bytes each way, requests, connections), then reset."""
        with self._lock:
            taken = dict(self.stats)
            self.stats.clear()
        return taken

    def stop(self) -> None:
        """Stop accepting, close every connection and join every thread."""
        self._stopped.set()
        self._server.join(timeout=5)
        for thread in list(self._threads):
            thread.join(timeout=5)
        self._listener.close()

    def __enter__(self) -> ShapedLink:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _count(self, event: str, n: int = 1) -> None:
        with self._lock:
            self.stats[event] += n

    def _serve(self) -> None:
        while not self._stopped.is_set():
            try:
                client, _ = self._listener.accept()
            except (TimeoutError, OSError):
                continue
            self._count("connections")
            thread = threading.Thread(target=self._pump, args=(client,), name="shaper-connection", daemon=True)
            self._threads = [t for t in self._threads if t.is_alive()]
            self._threads.append(thread)
            thread.start()

    def _pump(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(self.upstream, timeout=30)
        except OSError:
            client.close()
            return
        peers = {client: upstream, upstream: client}
        directions = {client: "request", upstream: "response"}
        selector = selectors.DefaultSelector()
        for peer in peers:
            peer.settimeout(30)
            selector.register(peer, selectors.EVENT_READ)
        last = "response"  # so that the first request chunk pays the latency
        try:
            while selector.get_map() and not self._stopped.is_set():
                for key, _ in selector.select(timeout=_TICK):
                    sock = key.fileobj
                    assert isinstance(sock, socket.socket)
                    try:
                        data = sock.recv(_CHUNK)
                    except OSError:
                        return
                    if not data:  # half close: pass the FIN on, keep reading the other way
                        selector.unregister(sock)
                        with contextlib.suppress(OSError):
                            peers[sock].shutdown(socket.SHUT_WR)
                        continue
                    direction = directions[sock]
                    if direction == "request" and last == "response":
                        self._count("requests")
                        time.sleep(self.latency_ms / 1000.0)
                    last = direction
                    wait = self._buckets[direction].send_time(len(data)) - time.monotonic()
                    if wait > 0:
                        time.sleep(wait)
                    try:
                        peers[sock].sendall(data)
                    except OSError:
                        return
                    self._count(f"{direction}_bytes", len(data))
        finally:
            selector.close()
            for peer in peers:
                with contextlib.suppress(OSError):
                    peer.close()
