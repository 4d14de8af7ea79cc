"""No secret in any log line, exception, warning or repr, over a whole research workflow.

Every logger is captured at DEBUG (the SDKs' own included, and urllib3's request lines) while a
store on each cloud emulator is written, read, copied, checked and broken on purpose; then the
captured text is searched for the credentials the store was given.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import subprocess
import sys
import traceback
import warnings
from pathlib import Path
from typing import Any

import pytest
from azure.storage.blob import ContainerSasPermissions, generate_container_sas

from emulators.azurite import ACCOUNT_KEY, ACCOUNT_NAME
from tickstore_core import open_store
from tickstore_core.errors import TickstoreError
from tickstore_core.maintenance import fsck, gc
from tickstore_core.migrate import copy_store
from tickstore_core.testing import make_ticks

DAY = dt.date(2024, 3, 4)
S3_SECRET = "tickstoreS3SecretKey/ZZ9PluralZAlpha+Q"
S3_SESSION = "tickstoreSessionTokenZZ9PluralZAlpha"


def _cloud(cloud: str, request: pytest.FixtureRequest) -> tuple[str, dict[str, Any], list[str], dict[str, str]]:
    """(url, options, the secrets in them, the same credentials as environment variables)."""
    if cloud == "s3":
        emulated = request.getfixturevalue("s3_store")
        options = {**emulated.options, "aws_secret_access_key": S3_SECRET, "aws_session_token": S3_SESSION}
        env = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": S3_SECRET, "AWS_SESSION_TOKEN": S3_SESSION}
        env |= {"AWS_ENDPOINT_URL": emulated.options["endpoint_url"], "AWS_DEFAULT_REGION": "us-east-1"}
        return emulated.url, options, [S3_SECRET, S3_SESSION], env
    emulated = request.getfixturevalue("azure_store")
    connection = emulated.options["connection_string"]
    container = emulated.url.split("/")[2]
    sas = generate_container_sas(
        ACCOUNT_NAME,
        container,
        account_key=ACCOUNT_KEY,
        permission=ContainerSasPermissions(read=True, write=True, delete=True, list=True, add=True, create=True),
        expiry=dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1),
    )
    signature = dict(part.split("=", 1) for part in sas.split("&"))["sig"]
    account_url = connection.split("BlobEndpoint=")[1].rstrip(";")
    options = {"sas_token": sas, "account_url": account_url}
    return emulated.url, options, [ACCOUNT_KEY, signature, connection], {"AZURE_STORAGE_CONNECTION_STRING": connection}


def _shown(error: BaseException) -> str:
    return str(error) + repr(error) + "".join(traceback.format_exception(error))


@pytest.mark.parametrize("cloud", ["s3", "azure"])
def test_a_whole_workflow_logs_and_shows_no_secret(cloud, request, caplog, tmp_path):
    url, options, secrets, _ = _cloud(cloud, request)
    caplog.set_level(logging.DEBUG)  # the root logger: every library's records
    shown: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with open_store(url, cache=True, cache_dir=str(tmp_path / "cache"), **options) as store:
            shown += [repr(store), store._repr_html_(), repr(store.backend), str(store.cache_stats())]
            for n in range(3):
                store.insert("BTCUSD", make_ticks(DAY + dt.timedelta(days=n), 200, seed=n))
            before = store.history("BTCUSD")["start_time"].max()
            store.insert("BTCUSD", make_ticks(DAY, 100, seed=9))
            store.select("BTCUSD"), store.select("BTCUSD", as_of=before, columns=["price"])
            store.delete("BTCUSD", DAY + dt.timedelta(days=2))
            store.prefetch("BTCUSD")
            shown += [str(store.history("BTCUSD")), str(store.symbols()), str(fsck(store, deep=True)), str(gc(store))]
            with open_store((tmp_path / "copy").as_uri()) as local:
                shown.append(str(copy_store(store, local)))
                shown.append(str(copy_store(local, store)))  # resumed: nothing left to copy
            for bad in (lambda: store.select("BTCUSD", columns=["nope"]), lambda: store.insert("../x", None)):
                with pytest.raises(TickstoreError) as info:
                    bad()
                shown.append(_shown(info.value))
        refused = {**options, "retries": 0, "connect_timeout": 0.5}
        if cloud == "s3":
            refused["endpoint_url"] = "http://127.0.0.1:9"  # nothing listens on the discard port
        else:
            refused["account_url"] = f"http://127.0.0.1:9/{ACCOUNT_NAME}"
        with pytest.raises(TickstoreError) as info, open_store(url, **refused) as unreachable:
            unreachable.insert("BTCUSD", make_ticks(DAY, 5))
        shown.append(_shown(info.value))
    shown += [str(w.message) for w in caught]
    logged = [record.getMessage() for record in caplog.records]
    assert any("127.0.0.1" in line for line in logged), "the SDKs' request logging was not captured"
    for secret in secrets:
        for text in [*logged, *shown]:
            assert secret not in text, f"a secret leaked into: {text[:300]}"


@pytest.mark.parametrize("cloud", ["s3", "azure"])
def test_the_command_line_at_verbose_shows_no_secret(cloud, request, tmp_path):
    url, _, secrets, env = _cloud(cloud, request)
    ticks = tmp_path / "ticks.csv"
    make_ticks(DAY, 50).to_csv(ticks)
    tickstore = Path(sys.executable).parent / "tickstore"
    environment = {**os.environ, **env, "TICKSTORE_CACHE_DIR": str(tmp_path / "cache")}
    output = ""
    for command in (["insert", "BTCUSD", str(ticks)], ["select", "BTCUSD", "2024-03-04", "2024-03-05"], ["ls"]):
        done = subprocess.run(
            [str(tickstore), "-v", "--no-progress", "--store", url, *command],
            env=environment,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        output += done.stdout + done.stderr
    assert "DEBUG" in output and "BTCUSD" in output
    for secret in secrets:
        assert secret not in output
