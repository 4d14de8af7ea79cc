"""Bypass access to what a store really holds, for the conformance suites' ``raw_get``/``raw_put`` hooks.

:func:`raw_access` reads and writes the bytes under a store URL without tickstore's backends: the
file under the root for ``file://``, boto3 against moto_server for ``s3://``, the Azure SDK against
Azurite for ``az://``. ``options`` are the ones the store is opened with (the endpoint, credentials).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from urllib.request import url2pathname

import boto3
from azure.storage.blob import BlobServiceClient

from tickstore_core.testing import RawGet, RawPut


def raw_access(url: str, options: dict[str, Any]) -> tuple[RawGet, RawPut] | None:
    """``(raw_get, raw_put)`` for the store at ``url``, or ``None`` for a scheme with no outside access."""
    parts = urlsplit(url)
    prefix = parts.path.strip("/")
    if parts.scheme == "file":
        return _files(Path(url2pathname(parts.path)))
    if parts.scheme == "s3":
        return _s3(parts.netloc, prefix, options)
    if parts.scheme in ("az", "azure"):
        return _azure(parts.netloc, prefix, options)
    return None


def _files(root: Path) -> tuple[RawGet, RawPut]:
    def raw_put(key: str, data: bytes) -> None:
        path = root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)

    return (lambda key: (root / key).read_bytes()), raw_put


def _s3(bucket: str, prefix: str, options: dict[str, Any]) -> tuple[RawGet, RawPut]:
    client = boto3.client(
        "s3",
        endpoint_url=options["endpoint_url"],
        region_name=options["region"],
        aws_access_key_id=options["aws_access_key_id"],
        aws_secret_access_key=options["aws_secret_access_key"],
    )

    def name(key: str) -> str:
        return f"{prefix}/{key}" if prefix else key

    def raw_get(key: str) -> bytes:
        body: bytes = client.get_object(Bucket=bucket, Key=name(key))["Body"].read()
        return body

    def raw_put(key: str, data: bytes) -> None:
        client.put_object(Bucket=bucket, Key=name(key), Body=data)

    return raw_get, raw_put


def _azure(container: str, prefix: str, options: dict[str, Any]) -> tuple[RawGet, RawPut]:
    blobs = BlobServiceClient.from_connection_string(options["connection_string"]).get_container_client(container)

    def name(key: str) -> str:
        return f"{prefix}/{key}" if prefix else key

    def raw_get(key: str) -> bytes:
        return blobs.download_blob(name(key)).readall()

    def raw_put(key: str, data: bytes) -> None:
        blobs.upload_blob(name(key), data, overwrite=True)

    return raw_get, raw_put
