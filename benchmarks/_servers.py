"""The storage emulators the benchmark needs: moto_server (S3) and Azurite (Azure Blob).

Both bind 127.0.0.1 on a free port and are stopped by PID (their process group) when the
``with`` block ends, even on error. Same approach as ``tests/emulators``, without pytest.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
REGION = "us-east-1"
S3_KEY = "testing"  # moto accepts any credentials; these are dummies
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
"""Azurite's well-known development account key: public, documented by Microsoft, not a secret."""


class EmulatorError(RuntimeError):
    """An emulator could not be started."""


@dataclass(frozen=True)
class Server:
    name: str
    port: int
    pid: int

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start(
    name: str, command: Sequence[str], port: int, log_path: Path, ready: Callable[[], bool], timeout: float = 60.0
) -> subprocess.Popen[bytes]:
    log = log_path.open("wb")
    proc = subprocess.Popen(list(command), stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    log.close()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                if ready():
                    return proc
        except OSError:
            pass
        time.sleep(0.1)
    _stop(proc)
    output = log_path.read_text(errors="replace")[-3000:]
    raise EmulatorError(f"could not start {name} ({' '.join(command)}) on 127.0.0.1:{port}:\n{output}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop the server and what it started, by its PID's process group."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


@contextlib.contextmanager
def moto_server(log_dir: Path) -> Iterator[Server]:
    """A moto_server (from this interpreter's venv) on 127.0.0.1 for the block's duration."""
    binary = Path(sys.executable).parent / "moto_server"
    if not binary.exists():
        raise EmulatorError(f"{binary} does not exist; install the bench group (./dev bench, or moto[server])")
    port = free_port()
    command = [str(binary), "-H", "127.0.0.1", "-p", str(port)]
    proc = _start(
        "moto_server", command, port, log_dir / "moto_server.log", lambda: _http_ok(f"{_url(port)}/moto-api/")
    )
    try:
        yield Server("moto_server", port, proc.pid)
    finally:
        _stop(proc)


def azurite_connection_string(port: int) -> str:
    return (
        f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={AZURITE_KEY};"
        f"BlobEndpoint=http://127.0.0.1:{port}/{AZURITE_ACCOUNT};"
    )


@contextlib.contextmanager
def azurite(log_dir: Path) -> Iterator[Server]:
    """The repo's Azurite blob service, in memory on 127.0.0.1, for the block's duration."""
    binary = REPO / "node_modules" / ".bin" / "azurite-blob"
    if not binary.exists():
        raise EmulatorError(f"Azurite is not installed at {binary}: run `npm ci` in {REPO}")
    port = free_port()
    command = [
        str(binary),
        *("--blobHost", "127.0.0.1", "--blobPort", str(port)),
        "--inMemoryPersistence",
        "--silent",
        "--skipApiVersionCheck",
        "--disableTelemetry",
    ]

    def ready() -> bool:
        from azure.storage.blob import BlobServiceClient

        client = BlobServiceClient.from_connection_string(
            azurite_connection_string(port), retry_total=0, connection_timeout=2
        )
        try:
            client.get_service_properties()
            return True
        except Exception:  # noqa: BLE001 - not ready yet, whatever the reason
            return False
        finally:
            client.close()

    proc = _start("azurite-blob", command, port, log_dir / "azurite.log", ready)
    try:
        yield Server("azurite-blob", port, proc.pid)
    finally:
        _stop(proc)


def _url(port: int) -> str:
    return f"http://127.0.0.1:{port}"
