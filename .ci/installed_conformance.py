"""The conformance suites against tickstore as a user installs it (run by .ci/release_check.py).

This file is copied into an empty directory and run with a fresh venv's pytest, so every import
comes from the built wheels. Each backend is opened by URL through the installed entry points:
a wheel missing a module, a file or its ``tickstore.backends`` entry point fails here.
``TICKSTORE_TEST_S3_ENDPOINT`` and ``TICKSTORE_TEST_AZURE`` (a connection string) point at the
moto_server and Azurite the release check started.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from azure.storage.blob import BlobServiceClient

import tickstore_core
from tickstore_core import Backend
from tickstore_core.plugins import get_registry
from tickstore_core.testing import BackendConformance, StoreConformance

S3 = {
    "endpoint_url": os.environ["TICKSTORE_TEST_S3_ENDPOINT"],
    "region": "us-east-1",
    "aws_access_key_id": "testing",
    "aws_secret_access_key": "testing",
}
AZURE = {"connection_string": os.environ["TICKSTORE_TEST_AZURE"]}


def _bucket() -> str:
    name = f"release-{uuid.uuid4().hex[:16]}"
    client = boto3.client(
        "s3",
        endpoint_url=S3["endpoint_url"],
        region_name=S3["region"],
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    client.create_bucket(Bucket=name)
    return name


def _container() -> str:
    name = f"release-{uuid.uuid4().hex[:16]}"
    BlobServiceClient.from_connection_string(AZURE["connection_string"]).create_container(name)
    return name


def _open_backend(url: str, **options: Any) -> Backend:
    return get_registry().backend_class(url.split("://", 1)[0]).from_url(url, **options)


def test_installed_not_from_a_source_tree() -> None:
    assert "site-packages" in tickstore_core.__file__, tickstore_core.__file__
    assert tickstore_core.__version__ != "0+unknown"
    assert {"file", "s3", "az", "memory"} <= set(get_registry().schemes)


@pytest.fixture(params=["file", "s3", "az"])
def location(request: pytest.FixtureRequest, tmp_path: Any) -> tuple[str, dict[str, Any]]:
    if request.param == "file":
        return (tmp_path / "store").as_uri(), {}
    if request.param == "s3":
        return f"s3://{_bucket()}/db", dict(S3)
    return f"az://{_container()}/db", dict(AZURE)


class TestInstalledBackends(BackendConformance):
    @pytest.fixture
    def backend(self, location: tuple[str, dict[str, Any]]) -> Iterator[Backend]:
        url, options = location
        with _open_backend(url, **options) as backend:
            yield backend

    @pytest.fixture
    def backend_options(self, location: tuple[str, dict[str, Any]]) -> dict[str, Any]:
        return dict(location[1])


class TestInstalledStores(StoreConformance):
    property_examples = 10

    @pytest.fixture
    def new_store_location(self, location: tuple[str, dict[str, Any]]) -> Any:
        url, options = location
        return lambda: (f"{url}/{uuid.uuid4().hex[:12]}", dict(options))
