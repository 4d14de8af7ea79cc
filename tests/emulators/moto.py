"""moto_server fixtures: an S3 emulator for the whole session, and a fresh bucket per test.

``moto_endpoint`` runs the venv's moto S3 server (``serial_moto_server.py``: moto_server with the
writes to one key serialised, as on S3) on 127.0.0.1 and a free port, and stops it by PID when the
session ends; a test that needs it fails (never skips) if it cannot start.
``s3_store`` gives each test its own empty bucket, emptied and removed afterwards so the server's
memory does not grow over the session.
"""

from __future__ import annotations

import contextlib
import sys
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import boto3
import pytest

from . import EmulatedStore
from ._process import EmulatorError, free_port, start_server, stop_server

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

__all__ = ["EmulatedStore", "moto_endpoint", "running_moto_server", "s3_store"]

REGION = "us-east-1"
DUMMY_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


def moto_server_command(port: int) -> list[str]:
    """The command line of moto's S3 server (writes to one key serialised), on 127.0.0.1:``port``."""
    if not (Path(sys.executable).parent / "moto_server").exists():
        raise EmulatorError("moto_server is not installed; install the test dependencies (./dev setup or moto[server])")
    server = Path(__file__).with_name("serial_moto_server.py")
    return [sys.executable, str(server), "-H", "127.0.0.1", "-p", str(port)]


def _answers(endpoint: str) -> bool:
    try:
        with urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


@contextlib.contextmanager
def running_moto_server(log_dir: Path) -> Iterator[str]:
    """Run a moto_server of its own (``http://127.0.0.1:<port>``), stopped by PID on exit."""
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    proc = start_server(
        "moto_server", moto_server_command(port), port, log_dir / "moto_server.log", ready=lambda: _answers(endpoint)
    )
    try:
        yield endpoint
    finally:
        stop_server(proc)


@pytest.fixture(scope="session")
def moto_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``http://127.0.0.1:<port>`` of a moto_server running for the whole test session."""
    with running_moto_server(tmp_path_factory.mktemp("moto")) as endpoint:
        yield endpoint


@pytest.fixture(scope="session")
def _moto_client(moto_endpoint: str) -> Iterator[S3Client]:
    client = boto3.client(
        "s3",
        endpoint_url=moto_endpoint,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    yield client
    client.close()


@pytest.fixture
def s3_store(moto_endpoint: str, _moto_client: S3Client) -> Iterator[EmulatedStore]:
    """A fresh, uniquely named bucket on the session's moto_server, as ``s3://<bucket>/db``."""
    bucket = f"tickstore-test-{uuid.uuid4().hex[:16]}"
    _moto_client.create_bucket(Bucket=bucket)
    yield EmulatedStore(
        url=f"s3://{bucket}/db",
        options={"endpoint_url": moto_endpoint, "region": REGION, **DUMMY_CREDENTIALS},
    )
    while listed := _moto_client.list_objects_v2(Bucket=bucket).get("Contents", []):
        _moto_client.delete_objects(
            Bucket=bucket, Delete={"Objects": [{"Key": i["Key"]} for i in listed], "Quiet": True}
        )
    _moto_client.delete_bucket(Bucket=bucket)
