"""A typo in a store's name must not look like an empty store (issue 10, point 14).

Reads of a store whose local directory, Azure container or S3 bucket does not exist raise
:class:`StoreNotFoundError` ("... does not exist; check the name ..."), never an empty answer and
never an offline error. Writes create the directory and the container; an S3 bucket is never
created unasked, so an insert into a missing bucket is the same clear error.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from azure.storage.blob import BlobServiceClient

from tickstore_core import OfflineError, StoreNotFoundError, open_store
from tickstore_core.testing import make_ticks
from tickstore_core.testing.store_suite import DAY1

READS = {
    "symbols": lambda store: store.symbols(),
    "select": lambda store: store.select("BTCUSD"),
    "select a range": lambda store: store.select("BTCUSD", "2024-03-04", "2024-03-05"),
    "history": lambda store: store.history("BTCUSD"),
    "days": lambda store: store.days("BTCUSD"),
}


@pytest.fixture(params=["file", "s3", "azure"])
def missing(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str, dict[str, Any]]:
    """(backend, URL, options) of a store whose directory, bucket or container does not exist."""
    name = f"tickstore-typo-{uuid.uuid4().hex[:12]}"
    if request.param == "file":
        return "file", (tmp_path / name / "db").as_uri(), {}
    emulated = request.getfixturevalue("s3_store" if request.param == "s3" else "azure_store")
    scheme = "s3" if request.param == "s3" else "az"
    return request.param, f"{scheme}://{name}/db", dict(emulated.options)


def _root_exists(backend: str, url: str, options: dict[str, Any]) -> bool:
    if backend == "file":
        return Path(url.removeprefix("file://")).parent.exists()
    if backend == "azure":
        with BlobServiceClient.from_connection_string(options["connection_string"]) as service:
            return bool(service.get_container_client(url.split("/")[2]).exists())
    from tickstore_s3._backend import S3Backend

    with S3Backend.from_url(url, **options) as s3:
        return s3.exists()


@pytest.mark.parametrize("read", list(READS), ids=list(READS))
def test_reading_a_missing_store_says_it_does_not_exist(missing, read):
    backend, url, options = missing
    with (
        pytest.raises(StoreNotFoundError, match=r"does not exist.*check the name") as info,
        open_store(url, **options) as store,  # S3 knows at once: opening reads the manifest
    ):
        READS[read](store)
    assert not isinstance(info.value, OfflineError) and isinstance(info.value, FileNotFoundError)
    assert not _root_exists(backend, url, options)  # reading created nothing


def test_an_insert_creates_a_missing_directory_or_container_never_a_bucket(missing):
    backend, url, options = missing
    if backend == "s3":
        with (
            pytest.raises(StoreNotFoundError, match=r"bucket .* does not exist.*create_bucket=true"),
            open_store(url, **options) as store,
        ):
            store.insert("BTCUSD", make_ticks(DAY1, 5))
        assert not _root_exists(backend, url, options)
        return
    with open_store(url, **options) as store:
        assert store.insert("BTCUSD", make_ticks(DAY1, 5))
    assert _root_exists(backend, url, options)
    with open_store(url, **options) as store:
        assert store.symbols() == ["BTCUSD"] and len(store.select("BTCUSD")) == 5
        assert store.select("NEVER").empty and store.history("NEVER").empty  # unknown symbol, existing store


def test_an_existing_empty_store_reads_empty(store_location, tmp_path):
    url, options = store_location()
    if url.startswith("file://"):
        Path(url.removeprefix("file://")).mkdir()  # an empty directory is an empty store
    with open_store(url, **options) as store:  # S3 and Azure: a new prefix in an existing bucket/container
        assert store.symbols() == [] and store.select("X").empty and store.days("X") == []
