"""The Azure Blob backend against Azurite: the backend contract, plus what is particular to Azure.

Beyond the conformance suite: the credential chain (connection string option and environment,
SAS token, credential object), container rules and lazy creation, options from the URL query or
keywords, access errors, unreachable and silent endpoints failing fast, the plugin entry point,
and secrets kept out of every repr, error, traceback and log record.
"""

from __future__ import annotations

import logging
import pickle
import socket
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote, unquote

import pytest
from azure.core.credentials import AzureNamedKeyCredential
from azure.storage.blob import BlobServiceClient, ContainerSasPermissions, generate_container_sas

from emulators import azurite as azurite_module
from emulators._process import EmulatorError, free_port
from emulators.azurite import ACCOUNT_KEY, ACCOUNT_NAME, EmulatedStore, azurite_command, connection_string
from emulators.raw import raw_access
from tickstore_azure._backend import AzureBlobBackend
from tickstore_core import (
    BackendError,
    BackendPermissionError,
    IfMatch,
    InvalidURLError,
    ObjectNotFoundError,
    PreconditionFailedError,
    StoreNotFoundError,
    open_store,
)
from tickstore_core.plugins import get_registry
from tickstore_core.testing import BackendConformance, RawGet, RawPut

pytestmark = pytest.mark.emulator

WRONG_KEY = "V3JvbmdLZXlXcm9uZ0tleVdyb25nS2V5V3JvbmdLZXlXcm9uZ0tleVdyb25nS2V5V3Jvbmc9PT09PT09PT09PT0="
FAST = {"retries": 0, "connect_timeout": 1.0, "read_timeout": 1.0}


def _container(store: EmulatedStore) -> str:
    return store.url.split("/")[2]


def _account_url(store: EmulatedStore) -> str:
    """``http://127.0.0.1:<port>/devstoreaccount1``, from the store's connection string."""
    fields = dict(part.split("=", 1) for part in store.options["connection_string"].split(";") if part)
    return fields["BlobEndpoint"]


def _sas(store: EmulatedStore, **permissions: bool) -> str:
    """A SAS token for the store's container, by default allowed to do everything the backend does."""
    allowed = permissions or {"read": True, "write": True, "create": True, "list": True, "delete": True}
    return generate_container_sas(
        ACCOUNT_NAME,
        _container(store),
        account_key=ACCOUNT_KEY,
        permission=ContainerSasPermissions(**allowed),
        expiry=datetime.now(timezone.utc) + timedelta(hours=1),
    )


def _signature(sas: str) -> list[str]:
    """The secret part of a SAS token, in every form it can take in text."""
    value = dict(part.split("=", 1) for part in sas.split("&"))["sig"]
    return [value, unquote(value), quote(unquote(value), safe="")]


class TestAzureBackend(BackendConformance):
    @pytest.fixture
    def backend(self, azure_store: EmulatedStore) -> Iterator[AzureBlobBackend]:
        with AzureBlobBackend.from_url(azure_store.url, **azure_store.options) as backend:
            yield backend

    @pytest.fixture
    def backend_options(self, azure_store: EmulatedStore) -> dict[str, Any]:
        return dict(azure_store.options)

    @pytest.fixture
    def secrets(self, azure_store: EmulatedStore) -> list[str]:
        return [ACCOUNT_KEY, azure_store.options["connection_string"]]

    @pytest.fixture
    def raw_get(self, azure_store: EmulatedStore) -> RawGet:  # a BlobServiceClient of its own, not the backend
        return raw_access(azure_store.url, azure_store.options)[0]  # type: ignore[index]

    @pytest.fixture
    def raw_put(self, azure_store: EmulatedStore) -> RawPut:
        return raw_access(azure_store.url, azure_store.options)[1]  # type: ignore[index]


# --- URL, options and the plugin ----------------------------------------------------------------


def test_downloads_are_read_in_the_storage_sdk_blocks_not_azure_core_4_kib(azure_store: EmulatedStore) -> None:
    from tickstore_azure._client import READ_BLOCK

    with AzureBlobBackend.from_url(azure_store.url, **azure_store.options) as backend:
        backend.put("blocks/k", b"x" * (3 * READ_BLOCK + 5))
        transport = backend._service._pipeline._transport  # our own transport: the SDK does not set it then
        assert transport.connection_config.data_block_size == READ_BLOCK == 256 * 1024
        assert backend.get("blocks/k") == b"x" * (3 * READ_BLOCK + 5)


def test_url_is_canonical_without_credentials(azure_store: EmulatedStore) -> None:
    with AzureBlobBackend.from_url(azure_store.url + "/", **azure_store.options, retries=0) as backend:
        assert backend.url == f"{azure_store.url}?account_url={_account_url(azure_store)}"
        assert repr(backend) == f"<AzureBlobBackend {backend.url}>"
        assert ACCOUNT_KEY not in repr(backend.options) and "connection_string" not in repr(backend.options)
    with AzureBlobBackend.from_url(azure_store.url.replace("az://", "azure://"), **azure_store.options) as backend:
        assert backend.url.startswith("az://")


def test_query_options_mean_the_same_as_keywords(azure_store: EmulatedStore) -> None:
    query = "retries=0&connect_timeout=2.5&read_timeout=7&max_pool_connections=4"
    keywords = {"retries": 0, "connect_timeout": 2.5, "read_timeout": 7.0, "max_pool_connections": 4}
    with (
        AzureBlobBackend.from_url(f"{azure_store.url}?{query}", **azure_store.options) as by_query,
        AzureBlobBackend.from_url(azure_store.url, **azure_store.options, **keywords) as by_keyword,
    ):
        assert by_query.options == by_keyword.options
        assert by_query == by_keyword
        by_query.put("k", b"x")
        assert by_keyword.get("k") == b"x"
    with AzureBlobBackend.from_url(f"{azure_store.url}?retries=5", **azure_store.options, retries=1) as backend:
        assert backend.options.retries == 1  # a keyword wins over the query


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("retries=-1", "retries='-1' must be an integer >= 0"),
        ("connect_timeout=soon", "connect_timeout='soon' must be a number"),
        ("max_pool_connections=2.5", "max_pool_connections='2.5' must be an integer >= 1"),
        ("account_name=Not_Valid", "3-24 lowercase letters and digits"),
    ],
)
def test_bad_option_values_are_explained(azure_store: EmulatedStore, query: str, message: str) -> None:
    with pytest.raises(InvalidURLError, match=message):
        AzureBlobBackend.from_url(f"{azure_store.url}?{query}", **azure_store.options)


def test_unknown_option_is_rejected_with_the_valid_ones(azure_store: EmulatedStore) -> None:
    with pytest.raises(InvalidURLError, match=r"unknown option.* endpoint_url .*valid options: account_url, account_"):
        AzureBlobBackend.from_url(f"{azure_store.url}?endpoint_url=x", **azure_store.options)
    with pytest.raises(InvalidURLError, match=r"unknown option\(s\) account_key .*sas_token, credential"):
        AzureBlobBackend.from_url(azure_store.url, account_key=ACCOUNT_KEY)


def test_credentials_are_refused_in_the_url_without_being_echoed(azure_store: EmulatedStore) -> None:
    sas = _sas(azure_store)
    with pytest.raises(InvalidURLError, match="sas_token must not be in an az:// URL") as info:
        AzureBlobBackend.from_url(f"{azure_store.url}?sas_token={quote(sas)}")
    assert not any(part in str(info.value) for part in _signature(sas))
    with pytest.raises(InvalidURLError, match="without user info or a query string") as info:  # a SAS in account_url
        AzureBlobBackend.from_url(azure_store.url, account_url=f"{_account_url(azure_store)}?{sas}")
    assert not any(part in str(info.value) for part in _signature(sas))


def test_a_sas_url_given_as_sas_token_is_refused_without_echoing_it(azure_store: EmulatedStore) -> None:
    """The portal's "Blob SAS URL" is not the token: the SDK would blame a shared key nobody gave."""
    sas = _sas(azure_store)
    sas_url = f"{_account_url(azure_store)}/{_container(azure_store)}?{sas}"
    with pytest.raises(InvalidURLError, match=r"sas_token must be the SAS token, the query part .*not the URL") as info:
        AzureBlobBackend.from_url(azure_store.url, account_url=_account_url(azure_store), sas_token=sas_url)
    _assert_no_secret(info.value, _signature(sas))


def test_one_credential_at_a_time(azure_store: EmulatedStore) -> None:
    with pytest.raises(InvalidURLError, match="only one of connection_string, sas_token"):
        AzureBlobBackend.from_url(azure_store.url, **azure_store.options, sas_token=_sas(azure_store))


def test_account_url_must_match_the_connection_string(azure_store: EmulatedStore) -> None:
    with pytest.raises(InvalidURLError, match="does not match the account the credentials open"):
        AzureBlobBackend.from_url(
            f"{azure_store.url}?account_url=https://other.blob.core.windows.net", **azure_store.options
        )


def test_account_name_must_match_the_connection_string(
    azure_store: EmulatedStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not silently ignored: the store would write into the connection string's account instead."""
    with pytest.raises(InvalidURLError, match="account_name prodaccount does not match the account the credentials"):
        AzureBlobBackend.from_url(f"{azure_store.url}?account_name=prodaccount", **azure_store.options)
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", azure_store.options["connection_string"])
    with pytest.raises(InvalidURLError, match="account_name prodaccount does not match"):
        open_store(azure_store.url, cache=False, account_name="prodaccount")
    with AzureBlobBackend.from_url(azure_store.url, account_name=ACCOUNT_NAME) as backend:  # the same account
        assert backend.url == f"{azure_store.url}?account_url={_account_url(azure_store)}"


def test_user_info_in_the_blob_endpoint_is_refused_without_echoing_it(azure_store: EmulatedStore) -> None:
    """A password there would show in the backend's URL, the store's repr and every error message."""
    password = "proxy-PASSWORD-s3cr3t"
    endpoint = _account_url(azure_store).replace("http://", f"http://alice:{password}@")
    cs = f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT_NAME};AccountKey={ACCOUNT_KEY};BlobEndpoint={endpoint};"
    with pytest.raises(InvalidURLError, match="BlobEndpoint must not hold user info") as info:
        AzureBlobBackend.from_url(azure_store.url, connection_string=cs)
    _assert_no_secret(info.value, [password])


def test_no_account_at_all_says_what_to_give(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AZURE_STORAGE_CONNECTION_STRING", raising=False)
    monkeypatch.delenv("AZURE_STORAGE_ACCOUNT_URL", raising=False)
    with pytest.raises(InvalidURLError, match=r"pass connection_string .*AZURE_STORAGE_CONNECTION_STRING.*account_url"):
        AzureBlobBackend.from_url("az://ticks/db")


def test_account_name_or_environment_name_the_account_without_any_request(monkeypatch: pytest.MonkeyPatch) -> None:
    """Opening sends nothing: these accounts do not exist, yet opening succeeds."""
    monkeypatch.delenv("AZURE_STORAGE_CONNECTION_STRING", raising=False)
    monkeypatch.delenv("AZURE_STORAGE_ACCOUNT_URL", raising=False)
    with AzureBlobBackend.from_url("az://ticks/db?account_name=tickstoretest", sas_token="sv=1&sig=abc") as backend:
        assert backend.url == "az://ticks/db?account_url=https://tickstoretest.blob.core.windows.net"
    monkeypatch.setenv("AZURE_STORAGE_ACCOUNT_URL", "https://fromenv.blob.core.windows.net/")
    with AzureBlobBackend.from_url("az://ticks/db") as backend:  # azure-identity's default chain
        assert backend.url == "az://ticks/db?account_url=https://fromenv.blob.core.windows.net"
        assert type(backend._owned_credential).__name__ == "DefaultAzureCredential"


@pytest.mark.parametrize(
    "name", ["ab", "a" * 64, "Ticks", "tick--store", "-ticks", "ticks-", "tick_store", "tick.store", "tïcks"]
)
def test_invalid_container_names_are_rejected_with_the_rule(name: str) -> None:
    """Checked before any client exists: no credentials are given and no request can be sent."""
    with pytest.raises(InvalidURLError, match="lowercase letters, digits and single dashes") as info:
        AzureBlobBackend.from_url(f"az://{name}/db")
    assert "3-63 characters" in str(info.value)


@pytest.mark.parametrize("name", ["abc", "a" * 63, "0-tick-store-9", "ticks"])
def test_valid_container_names_are_accepted(name: str) -> None:
    with AzureBlobBackend.from_url(f"az://{name}/db", connection_string=connection_string(free_port())) as backend:
        assert backend.container == name


def test_the_entry_point_registers_the_backend_without_importing_the_sdk() -> None:
    registry = get_registry()
    assert registry.backend_class("az") is AzureBlobBackend
    assert registry.backend_class("azure") is AzureBlobBackend
    assert registry.spec_for("az").distribution == "tickstore-azure"
    code = "import sys, tickstore_azure; sys.exit('azure.storage.blob' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_a_missing_azurite_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(azurite_module, "AZURITE", azurite_module.REPO / "node_modules" / ".bin" / "no-such-azurite")
    with pytest.raises(EmulatorError, match="run `npm ci` in the repo root"):
        azurite_command(free_port())


def test_open_store_uses_the_backend(azure_store: EmulatedStore) -> None:
    with open_store(f"{azure_store.url}?retries=0", cache=False, **azure_store.options) as store:
        assert isinstance(store.backend, AzureBlobBackend)
        assert store.backend.options.retries == 0


# --- keys, containers, ETags --------------------------------------------------------------------


def test_keys_live_under_the_prefix_and_prefixes_do_not_bleed(azure_store: EmulatedStore) -> None:
    root = azure_store.url.rsplit("/", 1)[0]
    with (
        AzureBlobBackend.from_url(f"{root}/db", **azure_store.options) as db,
        AzureBlobBackend.from_url(f"{root}/dbx", **azure_store.options) as dbx,
        AzureBlobBackend.from_url(root, **azure_store.options) as whole,
    ):
        db.put("k", b"in db")
        dbx.put("k", b"in dbx")
        assert [m.key for m in db.list()] == ["k"]
        assert [m.key for m in whole.list()] == ["db/k", "dbx/k"]
        assert whole.get("db/k") == b"in db"


def test_etags_are_the_same_from_put_head_and_list(backend_with_data: tuple[AzureBlobBackend, str]) -> None:
    backend, etag = backend_with_data
    assert backend.head("k").etag == etag
    assert [m.etag for m in backend.list("k")] == [etag]
    assert etag.startswith('"') and etag.endswith('"')
    backend.put("k", b"v2", mode=IfMatch(etag.strip('"')))  # an unquoted ETag is understood too


@pytest.fixture
def backend_with_data(azure_store: EmulatedStore) -> Iterator[tuple[AzureBlobBackend, str]]:
    with AzureBlobBackend.from_url(azure_store.url, **azure_store.options) as backend:
        yield backend, backend.put("k", b"v1").etag


def test_a_missing_container_reads_empty_and_is_created_by_the_first_writes(azure_store: EmulatedStore) -> None:
    container = f"tickstore-lazy-{time.monotonic_ns()}"
    service = BlobServiceClient.from_connection_string(azure_store.options["connection_string"])
    try:
        with AzureBlobBackend.from_url(f"az://{container}/db", **azure_store.options) as backend:
            assert list(backend.list()) == []
            with pytest.raises(ObjectNotFoundError):
                backend.get("k")
            with pytest.raises(ObjectNotFoundError):
                backend.head("k")
            with pytest.raises(PreconditionFailedError):
                backend.put("k", b"x", mode=IfMatch('"0x1"'))
            backend.delete("k")
            assert not service.get_container_client(container).exists()  # reading created nothing
            results: list[Any] = []
            threads = [
                threading.Thread(target=lambda i=i: results.append(backend.put(f"k{i}", b"x", mode="create")))
                for i in range(6)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            assert sorted(m.key for m in backend.list()) == [f"k{i}" for i in range(6)]
            assert service.get_container_client(container).exists()
    finally:
        service.delete_container(container)
        service.close()


# --- credentials --------------------------------------------------------------------------------


def test_the_connection_string_comes_from_the_environment(
    azure_store: EmulatedStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", azure_store.options["connection_string"])
    with AzureBlobBackend.from_url(azure_store.url) as backend:
        assert backend.url == f"{azure_store.url}?account_url={_account_url(azure_store)}"
        backend.put("k", b"from the environment")
        with AzureBlobBackend.from_url(azure_store.url, **azure_store.options) as explicit:
            assert explicit.get("k") == b"from the environment"
        clone = pickle.loads(pickle.dumps(backend))  # the environment's secret is not pickled
        assert "connection_string" not in clone.options.given()
        clone.close()


def test_sas_token_access(azure_store: EmulatedStore, monkeypatch: pytest.MonkeyPatch) -> None:
    # an explicit credential wins over a connection string in the environment (here a wrong one)
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", connection_string(1, WRONG_KEY))
    url = f"{azure_store.url}?account_url={_account_url(azure_store)}"
    with AzureBlobBackend.from_url(url, sas_token="?" + _sas(azure_store)) as backend:
        etag = backend.put("k", b"by sas", mode="create").etag
        backend.put("k", b"by sas, v2", mode=IfMatch(etag))
        assert backend.get("k") == b"by sas, v2"
        assert [m.key for m in backend.list()] == ["k"]
        backend.delete("k")
        with pytest.raises(ObjectNotFoundError):
            backend.head("k")


def test_a_read_only_sas_cannot_write(azure_store: EmulatedStore) -> None:
    sas = _sas(azure_store, read=True, list=True)
    with AzureBlobBackend.from_url(azure_store.url, account_url=_account_url(azure_store), sas_token=sas) as backend:
        assert list(backend.list()) == []
        with pytest.raises(BackendPermissionError, match=r"refused access to az://.*/db/k .*check the credentials"):
            backend.put("k", b"x")
        assert backend.exists()  # it may not read the container's properties: reads decide, not exists()


def test_a_sas_for_a_missing_container_finds_no_store_and_says_it_cannot_create_it(
    azure_store: EmulatedStore,
) -> None:
    """A container SAS may not read the container's properties, nor create it: a listing tells it is missing."""
    sas = _sas(azure_store)
    service = BlobServiceClient.from_connection_string(azure_store.options["connection_string"])
    with service:
        service.delete_container(_container(azure_store))
    options = {"account_url": _account_url(azure_store), "sas_token": sas}
    with AzureBlobBackend.from_url(azure_store.url, **options) as backend:
        assert list(backend.list()) == []
        assert backend.exists() is False
        with pytest.raises(StoreNotFoundError, match=r"does not exist .*these credentials cannot create it"):
            backend.put("k", b"x")
    with open_store(azure_store.url, cache=False, **options) as store, pytest.raises(StoreNotFoundError):
        store.select("BTCUSD")  # a typo must not look like an empty store


def test_a_credential_object(azure_store: EmulatedStore) -> None:
    credential = AzureNamedKeyCredential(ACCOUNT_NAME, ACCOUNT_KEY)
    with AzureBlobBackend.from_url(
        azure_store.url, account_url=_account_url(azure_store), credential=credential
    ) as backend:
        backend.put("k", b"by named key")
        assert backend.get("k") == b"by named key"
        assert ACCOUNT_KEY not in repr(backend) + repr(backend.options)


def test_a_wrong_key_is_a_permission_error(azure_store: EmulatedStore) -> None:
    port = int(_account_url(azure_store).split(":")[2].split("/")[0])
    with AzureBlobBackend.from_url(azure_store.url, connection_string=connection_string(port, WRONG_KEY)) as backend:
        for call in (lambda: backend.get("k"), lambda: backend.put("k", b"x"), lambda: list(backend.list())):
            with pytest.raises(BackendPermissionError, match=r"(Authentication|Authorization)Fail") as info:
                call()
            _assert_no_secret(info.value, [WRONG_KEY, ACCOUNT_KEY])


# --- unreachable endpoints ----------------------------------------------------------------------


def test_an_unreachable_endpoint_fails_fast(azure_store: EmulatedStore) -> None:
    port = free_port()  # nothing listens there
    sas = _sas(azure_store)
    url = f"http://127.0.0.1:{port}/{ACCOUNT_NAME}"
    with AzureBlobBackend.from_url(azure_store.url, account_url=url, sas_token=sas, **FAST) as backend:
        started = time.monotonic()
        with pytest.raises(BackendError, match=f"cannot reach Azure Blob at {url} for az://.*/db/k") as info:
            backend.get("k")
        assert time.monotonic() - started < 3
        _assert_no_secret(info.value, _signature(sas))


def test_a_silent_endpoint_times_out(azure_store: EmulatedStore) -> None:
    with socket.socket() as silent:  # accepts connections (the kernel does), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        port = silent.getsockname()[1]
        options = {**FAST, "read_timeout": 0.5, "connection_string": connection_string(port)}
        with AzureBlobBackend.from_url(azure_store.url, **options) as backend:
            started = time.monotonic()
            with pytest.raises(BackendError, match="cannot reach Azure Blob"):
                backend.head("k")
            assert time.monotonic() - started < 3


# --- secrets ------------------------------------------------------------------------------------


def _assert_no_secret(error: BaseException, secrets: list[str]) -> None:
    """Neither the error nor anything in its traceback (causes included) shows a secret."""
    shown = str(error) + repr(error) + "".join(traceback.format_exception(error))
    for secret in secrets:
        assert secret not in shown


def test_no_secret_in_any_log_record_at_debug(azure_store: EmulatedStore, caplog: pytest.LogCaptureFixture) -> None:
    """urllib3 logs every request's URL at DEBUG, and with a SAS token the URL holds the signature."""
    sas = _sas(azure_store)
    secrets = [*_signature(sas), ACCOUNT_KEY]
    caplog.set_level(logging.DEBUG)
    errors: list[BaseException] = []
    url = f"{azure_store.url}?account_url={_account_url(azure_store)}"
    with AzureBlobBackend.from_url(url, sas_token=sas) as backend:
        etag = backend.put("k", b"x", mode="create").etag
        backend.put("k", b"y", mode=IfMatch(etag))
        backend.get("k"), backend.head("k"), list(backend.list()), backend.delete("k")
        for call in (lambda: backend.get("k"), lambda: backend.put("k", b"z", mode=IfMatch(etag))):
            with pytest.raises((ObjectNotFoundError, PreconditionFailedError)) as info:
                call()
            errors.append(info.value)
    read_only = _sas(azure_store, read=True)
    with AzureBlobBackend.from_url(url, sas_token=read_only) as backend, pytest.raises(BackendPermissionError) as info:
        backend.put("k", b"x")
    errors.append(info.value)
    secrets += _signature(read_only)
    unreachable = f"az://{_container(azure_store)}/db?account_url=http://127.0.0.1:{free_port()}/{ACCOUNT_NAME}"
    with AzureBlobBackend.from_url(unreachable, sas_token=sas, **FAST) as backend, pytest.raises(BackendError) as info:
        backend.put("k", b"x")
    errors.append(info.value)
    with AzureBlobBackend.from_url(azure_store.url, **azure_store.options) as backend:  # a shared key, too
        backend.put("k", b"x")
        backend.get("k")

    records = caplog.records
    for record in records:
        message = record.getMessage()
        for secret in secrets:
            assert secret not in message, f"{record.name} logged a secret: {message[:200]}"
    assert any("sig=***" in r.getMessage() for r in records if r.name == "urllib3.connectionpool"), "nothing checked"
    assert any(r.name.startswith("azure.core") for r in records), "the SDK's own logging was not captured"
    for error in errors:
        _assert_no_secret(error, secrets)


def test_pickle_keeps_every_option(azure_store: EmulatedStore) -> None:
    with AzureBlobBackend.from_url(f"{azure_store.url}?retries=1", **azure_store.options, read_timeout=9) as backend:
        backend.put("p", b"pickled")
        clone = pickle.loads(pickle.dumps(backend))
        with clone:
            assert clone.options == backend.options and clone == backend
            assert clone.get("p") == b"pickled"
