"""Azurite fixtures: an Azure Blob emulator for the whole session, and a fresh container per test.

``azurite`` runs ``node_modules/.bin/azurite-blob`` (installed by ``npm ci`` in the repo root) on
127.0.0.1 and a free port, in memory, and stops it by PID when the session ends; a test that needs
it fails (never skips) if it cannot start. ``azure_store`` gives each test its own empty container,
removed afterwards so the emulator's memory does not grow over the session.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob import BlobServiceClient

from . import EmulatedStore
from ._process import REPO, EmulatorError, free_port, start_server, stop_server

__all__ = [
    "ACCOUNT_KEY",
    "ACCOUNT_NAME",
    "EmulatedStore",
    "azure_store",
    "azurite",
    "azurite_command",
    "connection_string",
    "running_azurite",
]

ACCOUNT_NAME = "devstoreaccount1"
ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
"""Azurite's well-known development account: public, documented by Microsoft, not a secret."""
AZURITE = REPO / "node_modules" / ".bin" / "azurite-blob"


def connection_string(port: int, key: str = ACCOUNT_KEY) -> str:
    """The connection string of the development account on an Azurite listening on ``port``."""
    return (
        f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT_NAME};AccountKey={key};"
        f"BlobEndpoint=http://127.0.0.1:{port}/{ACCOUNT_NAME};"
    )


def azurite_command(port: int) -> list[str]:
    """The command line of the repo's Azurite blob service, in memory on 127.0.0.1:``port``."""
    if not AZURITE.exists():
        raise EmulatorError(f"Azurite is not installed at {AZURITE}: run `npm ci` in the repo root ({REPO})")
    return [
        str(AZURITE),
        *("--blobHost", "127.0.0.1", "--blobPort", str(port)),
        "--inMemoryPersistence",  # nothing written to disk
        "--silent",  # no access log
        "--skipApiVersionCheck",  # the SDK may speak a newer API version than the emulator knows
        "--disableTelemetry",  # no data sent anywhere
    ]


def _answers(port: int) -> bool:
    client = BlobServiceClient.from_connection_string(connection_string(port), retry_total=0, connection_timeout=2)
    try:
        client.get_service_properties()
        return True
    except Exception:  # noqa: BLE001 - not ready yet, whatever the reason; start_server keeps waiting
        return False
    finally:
        client.close()


@contextlib.contextmanager
def running_azurite(log_dir: Path) -> Iterator[str]:
    """Run an Azurite of its own; yields its connection string, stops it by PID on exit."""
    port = free_port()
    proc = start_server(
        "azurite-blob", azurite_command(port), port, log_dir / "azurite.log", ready=lambda: _answers(port)
    )
    try:
        yield connection_string(port)
    finally:
        stop_server(proc)


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The connection string of an Azurite running for the whole test session."""
    with running_azurite(tmp_path_factory.mktemp("azurite")) as connection:
        yield connection


@pytest.fixture(scope="session")
def _azurite_client(azurite: str) -> Iterator[BlobServiceClient]:
    client = BlobServiceClient.from_connection_string(azurite)
    yield client
    client.close()


@pytest.fixture
def azure_store(azurite: str, _azurite_client: BlobServiceClient) -> Iterator[EmulatedStore]:
    """A fresh, uniquely named container on the session's Azurite, as ``az://<container>/db``."""
    container = f"tickstore-test-{uuid.uuid4().hex[:16]}"
    _azurite_client.create_container(container)
    yield EmulatedStore(url=f"az://{container}/db", options={"connection_string": azurite})
    with contextlib.suppress(ResourceNotFoundError):  # the test removed it itself
        _azurite_client.delete_container(container)
