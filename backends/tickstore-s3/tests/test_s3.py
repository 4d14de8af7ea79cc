"""The S3 backend against moto_server: the backend contract, plus what is particular to S3.

Beyond the conformance suite: options from the URL query or keywords, bucket-name rules, a
missing bucket, unreachable and silent endpoints failing fast, access errors from a moto_server
that checks credentials, the AWS environment chain, and secrets kept out of every message.
"""

from __future__ import annotations

import pickle
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urlencode

import boto3
import pytest

from emulators._process import free_port, start_server, stop_server
from emulators.moto import REGION, EmulatedStore, moto_server_command
from emulators.raw import raw_access
from tickstore_core import (
    BackendError,
    BackendPermissionError,
    ConfigError,
    InvalidURLError,
    ObjectNotFoundError,
    OfflineError,
    StoreNotFoundError,
)
from tickstore_core.plugins import get_registry
from tickstore_core.testing import BackendConformance, RawGet, RawPut
from tickstore_s3._backend import S3Backend

pytestmark = pytest.mark.emulator

KEY_ID = "AKIAEXAMPLEKEYID4242"
SECRET = "s3cr3t-Never-Shown-Anywhere"
CREDENTIALS = {"aws_access_key_id": KEY_ID, "aws_secret_access_key": SECRET}


def _open(store: EmulatedStore, url: str | None = None, **options: Any) -> S3Backend:
    """The test's store with distinctive credentials (moto_server accepts any) and extra options."""
    return S3Backend.from_url(url or store.url, **{**store.options, **CREDENTIALS, **options})


class TestS3Backend(BackendConformance):
    @pytest.fixture
    def backend(self, s3_store: EmulatedStore) -> Iterator[S3Backend]:
        with _open(s3_store) as backend:
            yield backend

    @pytest.fixture
    def backend_options(self) -> dict[str, Any]:
        return dict(CREDENTIALS)

    @pytest.fixture
    def secrets(self) -> list[str]:
        return [KEY_ID, SECRET]

    @pytest.fixture
    def raw_get(self, s3_store: EmulatedStore) -> RawGet:  # boto3's own client, not the backend
        return raw_access(s3_store.url, s3_store.options)[0]  # type: ignore[index]

    @pytest.fixture
    def raw_put(self, s3_store: EmulatedStore) -> RawPut:
        return raw_access(s3_store.url, s3_store.options)[1]  # type: ignore[index]


# --- URL and options ---------------------------------------------------------------------------


def test_url_is_canonical_without_credentials(s3_store: EmulatedStore) -> None:
    endpoint = s3_store.options["endpoint_url"]
    with _open(s3_store, s3_store.url + "/", read_timeout=9) as backend:
        assert backend.url == f"{s3_store.url}?{urlencode({'endpoint_url': endpoint, 'region': REGION}, safe=':/')}"
        assert repr(backend) == f"<S3Backend {backend.url}>"
    bucket = s3_store.url.split("/")[2]
    with S3Backend.from_url(f"s3://{bucket}") as root:
        assert root.url == f"s3://{bucket}" and root.prefix == ""


def test_query_options_mean_the_same_as_keywords(s3_store: EmulatedStore) -> None:
    endpoint = s3_store.options["endpoint_url"]
    query = f"?endpoint_url={endpoint}&region={REGION}&read_timeout=7.5&retries=1&max_pool_connections=20"
    with (
        S3Backend.from_url(f"{s3_store.url}{query}&create_bucket=no", **CREDENTIALS) as from_query,
        _open(s3_store, read_timeout=7.5, retries=1, max_pool_connections=20, create_bucket=False) as from_keywords,
    ):
        assert from_query.options == from_keywords.options
        assert from_query == from_keywords
        from_query.put("k", b"shared")
        assert from_keywords.get("k") == b"shared"


def test_keywords_win_over_the_query(s3_store: EmulatedStore) -> None:
    with _open(s3_store, s3_store.url + "?read_timeout=3&region=eu-west-1", region=REGION) as backend:
        assert backend.options.region == REGION and backend.options.read_timeout == 3.0


def test_unknown_option_is_rejected_with_the_valid_ones(s3_store: EmulatedStore) -> None:
    with pytest.raises(InvalidURLError, match=r"unknown option\(s\) bogus.*valid options: endpoint_url, region,"):
        _open(s3_store, bogus="1")
    with pytest.raises(InvalidURLError, match=r"valid options: .*max_pool_connections"):
        S3Backend.from_url(s3_store.url + "?endpoint=http://x")


@pytest.mark.parametrize(
    "options, message",
    [
        ({"retries": "-1"}, "retries='-1' must be an integer >= 0"),
        ({"read_timeout": "soon"}, "read_timeout='soon' must be a number"),
        ({"max_pool_connections": 2.5}, "max_pool_connections=2.5 must be an integer >= 1"),
        ({"create_bucket": "maybe"}, "create_bucket='maybe' must be true or false"),
        ({"addressing_style": "sideways"}, "addressing_style must be auto, path or virtual"),
        ({"endpoint_url": "not a url"}, "endpoint_url must look like https://host"),
    ],
)
def test_bad_option_values_are_explained(s3_store: EmulatedStore, options: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidURLError, match=message):
        _open(s3_store, **options)


def test_credentials_are_refused_in_the_url_without_echoing_them() -> None:
    with pytest.raises(InvalidURLError, match="aws_secret_access_key must not be in an s3:// URL") as info:
        S3Backend.from_url(f"s3://bucket/db?aws_secret_access_key={SECRET}")
    assert SECRET not in str(info.value)
    with pytest.raises(InvalidURLError) as info:
        S3Backend.from_url(f"s3://{KEY_ID}:{SECRET}@bucket/db")
    assert SECRET not in str(info.value) and KEY_ID not in str(info.value)


@pytest.mark.parametrize(
    "endpoint",
    [f"http://{KEY_ID}:{SECRET}@127.0.0.1:9", f"https://host/?token={SECRET}", f"ftp://{SECRET}", SECRET],
)
def test_an_endpoint_with_credentials_or_not_http_is_refused_without_echoing_it(endpoint: str) -> None:
    for attempt in (
        lambda: S3Backend.from_url("s3://bucket/db", endpoint_url=endpoint),
        lambda: S3Backend.from_url(f"s3://bucket/db?endpoint_url={quote(endpoint, safe='')}"),
    ):
        with pytest.raises(InvalidURLError, match="endpoint_url must look like https://host") as info:
            attempt()
        assert SECRET not in str(info.value) and KEY_ID not in str(info.value)


@pytest.mark.parametrize(
    "bucket",
    ["ab", "x" * 64, "Upper", "under_score", "a..b", "-dash", "dash-", "192.168.1.2", "xn--abc", "b-s3alias", ""],
)
def test_invalid_bucket_names_state_the_rule(bucket: str) -> None:
    with pytest.raises(InvalidURLError, match=r"invalid S3 bucket name .*3-63 characters of lowercase letters"):
        S3Backend.from_url(f"s3://{bucket}/db")


def test_invalid_prefix_is_rejected() -> None:
    with pytest.raises(InvalidURLError, match="invalid prefix"):
        S3Backend.from_url("s3://bucket/a/../b")


# --- layout, plugin, pickling -------------------------------------------------------------------


def test_keys_live_under_the_prefix_and_prefixes_do_not_bleed(s3_store: EmulatedStore) -> None:
    bucket = s3_store.url.split("/")[2]
    with _open(s3_store, f"s3://{bucket}/desk") as desk, _open(s3_store, f"s3://{bucket}/desk2") as desk2:
        desk.put("sym/a", b"1")
        desk2.put("sym/b", b"22")
        assert [(m.key, m.size) for m in desk.list("")] == [("sym/a", 1)]
        assert [m.key for m in desk2.list("sym/")] == ["sym/b"]
        raw = boto3.client("s3", endpoint_url=s3_store.options["endpoint_url"], region_name=REGION, **CREDENTIALS)
        try:
            stored = [item["Key"] for item in raw.list_objects_v2(Bucket=bucket)["Contents"]]
            assert stored == ["desk/sym/a", "desk2/sym/b"]
            raw.put_object(Bucket=bucket, Key="desk/folder/", Body=b"")  # a console's "folder" marker
        finally:
            raw.close()
        assert [m.key for m in desk.list("")] == ["sym/a"]


def test_etags_are_the_same_from_put_head_and_list(s3_store: EmulatedStore) -> None:
    with _open(s3_store) as backend:
        etag = backend.put("k", b"x").etag
        assert etag.startswith('"') and etag.endswith('"') and etag.count('"') == 2
        assert backend.head("k").etag == etag == next(backend.list("k")).etag


def test_the_entry_point_is_discoverable_and_imports_no_sdk() -> None:
    assert get_registry().backend_class("s3") is S3Backend
    probe = (
        "import sys, tickstore_s3; print(sorted(m for m in sys.modules if m.split('.')[0] in ('boto3', 'botocore')))"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_pickle_keeps_every_option(s3_store: EmulatedStore) -> None:
    with _open(s3_store, read_timeout=7.0, retries=1) as backend:
        backend.put("p", b"pickled")
        with pickle.loads(pickle.dumps(backend)) as clone:
            assert clone.options == backend.options and clone == backend
            assert clone.get("p") == b"pickled"


# --- missing bucket -----------------------------------------------------------------------------


def test_a_missing_bucket_is_an_error_that_says_how_to_create_it(s3_store: EmulatedStore) -> None:
    url = f"s3://tickstore-missing-{time.monotonic_ns()}/db"
    with _open(s3_store, url) as backend:
        for call in (
            lambda: backend.head("k"),  # HEAD alone cannot tell a missing bucket from a missing key
            lambda: backend.get("k"),
            lambda: backend.put("k", b"x"),
            lambda: list(backend.list("")),
        ):
            with pytest.raises(
                StoreNotFoundError, match=r"does not exist at .*; check the name, .*create_bucket=true"
            ) as info:
                call()
            assert not isinstance(info.value, ObjectNotFoundError)


def test_create_bucket_creates_a_missing_bucket(s3_store: EmulatedStore) -> None:
    url = f"s3://tickstore-created-{time.monotonic_ns()}/db"
    with _open(s3_store, url + "?create_bucket=true") as backend, _open(s3_store, url, create_bucket=True) as again:
        backend.put("k", b"x")
        assert again.get("k") == b"x"
        with pytest.raises(ObjectNotFoundError):
            backend.head("missing")
        backend.delete("k")


# --- credentials --------------------------------------------------------------------------------


def test_the_standard_aws_environment_is_used(s3_store: EmulatedStore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_store.options["endpoint_url"])
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    with S3Backend.from_url(s3_store.url) as backend:
        assert backend.url == s3_store.url
        backend.put("k", b"from the environment")
        with _open(s3_store) as explicit:
            assert explicit.get("k") == b"from the environment"


def test_no_credentials_is_a_permission_error(s3_store: EmulatedStore, monkeypatch: pytest.MonkeyPatch, tmp_path):
    """With the whole chain empty (no keys, environment, files or instance metadata)."""
    for name in ("ACCESS_KEY_ID", "SECRET_ACCESS_KEY", "SESSION_TOKEN", "PROFILE", "ROLE_ARN"):
        monkeypatch.delenv(f"AWS_{name}", raising=False)
    for name in ("WEB_IDENTITY_TOKEN_FILE", "CONTAINER_CREDENTIALS_FULL_URI", "CONTAINER_CREDENTIALS_RELATIVE_URI"):
        monkeypatch.delenv(f"AWS_{name}", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    options = {name: value for name, value in s3_store.options.items() if not name.startswith("aws_")}
    backend = S3Backend.from_url(s3_store.url, **options)
    with backend, pytest.raises(BackendPermissionError, match="check the AWS credentials"):
        backend.get("k")


def test_an_unknown_profile_is_a_config_error(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    with pytest.raises(ValueError, match="AWS profile 'nobody' is not configured"):
        S3Backend.from_url("s3://bucket/db", profile="nobody")


def test_an_unknown_profile_from_the_environment_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    """The profile botocore chose from AWS_PROFILE, not the (absent) option."""
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.delenv("AWS_DEFAULT_PROFILE", raising=False)  # botocore prefers it to AWS_PROFILE
    monkeypatch.setenv("AWS_PROFILE", "reserch")
    with pytest.raises(ConfigError, match=r"AWS profile 'reserch' is not configured \(it is named by AWS_PROFILE\)"):
        S3Backend.from_url("s3://bucket/db", endpoint_url="http://127.0.0.1:1")


@pytest.fixture(scope="module")
def auth_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    """A second moto_server that checks credentials, and an IAM user's key that no policy allows."""
    port = free_port()
    log = tmp_path_factory.mktemp("moto-auth") / "moto_server.log"
    # the first two requests (creating the user and its key) are let through without credentials
    proc = start_server("moto_server", moto_server_command(port), port, log, env={"INITIAL_NO_AUTH_ACTION_COUNT": "2"})
    endpoint = f"http://127.0.0.1:{port}"
    try:
        iam = boto3.client("iam", endpoint_url=endpoint, region_name=REGION, **CREDENTIALS)
        iam.create_user(UserName="nobody")
        key = iam.create_access_key(UserName="nobody")["AccessKey"]
        iam.close()
        yield endpoint, {"aws_access_key_id": key["AccessKeyId"], "aws_secret_access_key": key["SecretAccessKey"]}
    finally:
        stop_server(proc)


@pytest.mark.parametrize("who", ["unknown key", "wrong secret", "no policy"])
def test_refused_credentials_are_permission_errors_without_secrets(
    auth_endpoint: tuple[str, dict[str, str]], who: str
) -> None:
    endpoint, user = auth_endpoint
    credentials = {
        "unknown key": CREDENTIALS,
        "wrong secret": {"aws_access_key_id": user["aws_access_key_id"], "aws_secret_access_key": SECRET},
        "no policy": user,
    }[who]
    with S3Backend.from_url("s3://locked/db", endpoint_url=endpoint, region=REGION, **credentials) as backend:
        for call in (lambda: backend.get("k"), lambda: backend.head("k"), lambda: backend.put("k", b"x")):
            with pytest.raises(BackendPermissionError, match="refused access to s3://locked/db/k") as info:
                call()
            shown = str(info.value) + repr(info.value)
            assert credentials["aws_secret_access_key"] not in shown
            assert user["aws_secret_access_key"] not in shown


# --- unreachable endpoints ----------------------------------------------------------------------


def test_an_unreachable_endpoint_fails_fast_with_a_backend_error() -> None:
    endpoint = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    with S3Backend.from_url("s3://bucket/db", endpoint_url=endpoint, **CREDENTIALS) as backend:
        for call in (lambda: backend.head("k"), lambda: backend.get("k"), lambda: backend.put("k", b"x")):
            started = time.monotonic()
            with pytest.raises(BackendError, match=f"cannot reach S3 at {endpoint} for s3://bucket/db/k") as info:
                call()
            assert time.monotonic() - started < 5
            assert not isinstance(info.value, OfflineError)
            assert SECRET not in str(info.value) and KEY_ID not in str(info.value)


def test_a_silent_endpoint_times_out() -> None:
    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        endpoint = f"http://127.0.0.1:{silent.getsockname()[1]}"
        with S3Backend.from_url(
            "s3://bucket/db", endpoint_url=endpoint, read_timeout=0.3, retries=1, **CREDENTIALS
        ) as backend:
            started = time.monotonic()
            with pytest.raises(BackendError, match=f"cannot reach S3 at {endpoint}"):
                backend.get("k")
            assert time.monotonic() - started < 4
