"""The storage emulators the benchmark needs: moto_server (S3) and Azurite (Azure Blob).

Started by the tests' own helpers (``tests/emulators``): 127.0.0.1, a free port, stopped by PID
(their process group) when the ``with`` block ends, even on error.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from emulators.azurite import connection_string as azurite_connection_string  # noqa: E402
from emulators.azurite import running_azurite  # noqa: E402
from emulators.moto import DUMMY_CREDENTIALS, REGION, running_moto_server  # noqa: E402

__all__ = ["REGION", "S3_KEY", "Server", "azurite", "azurite_connection_string", "moto_server"]

S3_KEY = DUMMY_CREDENTIALS["aws_secret_access_key"]  # moto accepts any credentials; id and secret are this dummy


@dataclass(frozen=True)
class Server:
    name: str
    endpoint: str  # http://127.0.0.1:<port>

    @property
    def port(self) -> int:
        return int(urlsplit(self.endpoint).port or 0)


@contextlib.contextmanager
def moto_server(log_dir: Path) -> Iterator[Server]:
    """A moto_server (from this interpreter's venv) on 127.0.0.1 for the block's duration."""
    with running_moto_server(log_dir) as endpoint:
        yield Server("moto_server", endpoint)


@contextlib.contextmanager
def azurite(log_dir: Path) -> Iterator[Server]:
    """The repo's Azurite blob service, in memory on 127.0.0.1, for the block's duration."""
    with running_azurite(log_dir) as connection:
        blob_endpoint = connection.split("BlobEndpoint=")[1].rstrip(";")
        yield Server("azurite-blob", blob_endpoint.rsplit("/", 1)[0])
