"""Start and stop an emulator subprocess bound to 127.0.0.1, failing loudly if it cannot start."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


class EmulatorError(RuntimeError):
    """An emulator the tests or benchmarks need could not be started."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(
    name: str,
    command: Sequence[str],
    port: int,
    log_path: Path,
    *,
    ready: Callable[[], bool] | None = None,
    timeout: float = 60.0,
    env: dict[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """Run ``command`` until it accepts connections on ``port`` (and ``ready()`` is true).

    Raises :class:`EmulatorError` with the server's log when it exits or never becomes ready, so
    a test needing it errors (never skips); benchmarks use the same helper outside pytest.
    """
    log = log_path.open("wb")
    proc = subprocess.Popen(
        list(command),
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, **(env or {})},
        start_new_session=True,
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                if ready is None or ready():
                    return proc
        except OSError:
            pass
        time.sleep(0.1)
    stop_server(proc)
    output = log_path.read_text(errors="replace")[-3000:]
    raise EmulatorError(f"could not start {name} ({' '.join(command)}) on 127.0.0.1:{port}:\n{output}")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    """Stop the server and everything it started, by PID (its process group)."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
