"""moto_server with the writes to one key serialised, as S3 itself serialises them.

moto's ``put_object`` checks ``If-Match`` / ``If-None-Match`` and then stores the object with no
lock, and ``moto_server`` serves each request on its own thread. So two compare-and-swap PUTs
against the same ETag can both succeed there, which real S3 never allows: a concurrent-writer test
would then report data loss that is the emulator's. :class:`SerialisedWrites` runs the writes
(PUT, POST, DELETE) to one key one at a time; reads, and writes to other keys, stay concurrent.

Run as a script: ``python serial_moto_server.py -H 127.0.0.1 -p PORT``.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterable
from typing import Any

WRITES = frozenset({"PUT", "POST", "DELETE"})

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class SerialisedWrites:
    """WSGI middleware: requests that write one key (host and path) run one at a time."""

    def __init__(self, app: WsgiApp) -> None:
        self.app = app
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def _lock_for(self, key: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") not in WRITES:
            return self.app(environ, start_response)
        key = f"{environ.get('HTTP_HOST', '')}{environ.get('PATH_INFO', '')}"
        with self._lock_for(key):
            # The whole response is produced under the lock: moto does its work while answering.
            response = self.app(environ, start_response)
            try:
                return list(response)
            finally:
                if hasattr(response, "close"):  # as a WSGI server would, once the body is read
                    response.close()


def main(argv: list[str]) -> None:
    """Serve moto's apps on ``-H`` host and ``-p`` port like ``moto_server``, writes serialised."""
    import argparse
    import os
    import signal
    from pathlib import Path

    here = Path(__file__).resolve().parent  # run as a script, its folder comes first: its moto.py is not moto
    sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != here]

    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from werkzeug.serving import run_simple

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, required=True)
    args = parser.parse_args(argv)
    os.environ.setdefault("MOTO_PORT", str(args.port))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    app = SerialisedWrites(DomainDispatcherApplication(create_backend_app))
    run_simple(args.host, args.port, app, threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main(sys.argv[1:])
