"""Amazon S3 and S3-compatible services as a tickstore backend: ``s3://bucket/prefix``.

Keys are relative to the prefix. Conditional puts are S3's own: ``mode="create"`` sends
``If-None-Match: *`` and :class:`~tickstore_core.IfMatch` sends ``If-Match``, so the
compare-and-swap happens in S3 and is atomic. Credentials come from keyword options or the standard
AWS chain (environment, profile, instance role); they never appear in the URL, the repr or an error.
Other standard AWS settings apply as usual, e.g. ``AWS_ENDPOINT_URL`` or, for S3-compatible services
that reject botocore's default checksums, ``AWS_REQUEST_CHECKSUM_CALCULATION=when_required``.
"""

from __future__ import annotations

import functools
import os
import random
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, ClassVar, cast
from urllib.parse import urlencode

import botocore.exceptions
import botocore.loaders
import botocore.session
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    HTTPClientError,
    NoCredentialsError,
    PartialCredentialsError,
    ProfileNotFound,
)

from tickstore_core.plugin import (
    Backend,
    BackendError,
    BackendPermissionError,
    ConfigError,
    IfMatch,
    InvalidURLError,
    ObjectExistsError,
    ObjectMeta,
    ObjectNotFoundError,
    PreconditionFailedError,
    PutMode,
    StorageError,
    StoreNotFoundError,
    check_key,
    check_range,
    split_bucket_url,
)

from ._logs import protect_logs
from ._options import S3Options, check_bucket

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

__all__ = ["S3Backend"]

_BODY_BROKE_OFF = (botocore.exceptions.ResponseStreamingError, botocore.exceptions.IncompleteReadError)
_PERMISSION_CODES = {"AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken"}
_NOT_FOUND_CODES = {"NoSuchKey", "NotFound", "404"}


@functools.cache
def _shared_loader() -> botocore.loaders.Loader:
    """botocore's parsed service descriptions: loading them is most of the cost of a new client."""
    return botocore.loaders.create_loader()


def _client(options: S3Options) -> S3Client:
    """A thread-safe S3 client from a fresh session, so the environment and AWS files are read anew."""
    session = botocore.session.Session(profile=options.profile)
    session.register_component("data_loader", _shared_loader())  # 10 ms to open a store instead of 100
    config = Config(
        connect_timeout=options.connect_timeout,
        read_timeout=options.read_timeout,
        retries={"total_max_attempts": options.retries + 1, "mode": "standard"},
        max_pool_connections=options.max_pool_connections,
        s3={"addressing_style": options.addressing_style or "auto"},
    )
    client = session.create_client(
        "s3",
        region_name=options.region,
        endpoint_url=options.endpoint_url,
        aws_access_key_id=options.aws_access_key_id,
        aws_secret_access_key=options.aws_secret_access_key,
        aws_session_token=options.aws_session_token,
        config=config,
    )
    protect_logs(options.secrets())
    return cast("S3Client", client)


def _reopen(url: str, options: dict[str, Any]) -> S3Backend:
    return S3Backend.from_url(url, **options)


class S3Backend(Backend):
    """Objects under ``prefix`` in an S3 bucket; safe to share between threads.

    Options are listed in :class:`~tickstore_s3._options.S3Options`. A missing bucket raises
    :class:`~tickstore_core.StoreNotFoundError` saying how to create it, unless the store is opened with
    ``create_bucket=true``, which creates it. A pickled backend carries the credentials it was
    given as keyword options (a Dask worker needs them to reopen it); the chain's are not pickled.

    The credentials need s3:GetObject, s3:PutObject, s3:DeleteObject and s3:ListBucket; without
    ListBucket, S3 answers 403 for a missing object, which reads as a permission error.
    """

    name: ClassVar[str] = "s3"
    schemes: ClassVar[tuple[str, ...]] = ("s3",)

    def __init__(self, bucket: str, prefix: str = "", options: S3Options | None = None) -> None:
        self.bucket = check_bucket(bucket)
        self.prefix = prefix.strip("/")
        self.options = options or S3Options()
        try:
            self._client = _client(self.options)
        except ProfileNotFound as exc:
            raise _profile_error(self.options, exc) from exc
        except ValueError as exc:  # botocore's message names the bad endpoint or region, never a credential
            raise InvalidURLError(f"cannot open {self.url}: {exc}") from exc
        self._bucket_seen = False
        if self.options.create_bucket:
            self._check_bucket(create=True)

    @classmethod
    def from_url(cls, url: str, **options: Any) -> S3Backend:
        parts = split_bucket_url(url, cls.schemes, "s3://bucket/prefix")
        return cls(parts.netloc, parts.path, S3Options.parse(parts.query, options))

    @property
    def url(self) -> str:
        root = f"s3://{self.bucket}/{self.prefix}".rstrip("/")
        identity = self.options.identity()
        return f"{root}?{urlencode(identity, safe=':/')}" if identity else root  # readable in messages

    def __reduce__(self) -> tuple[Any, ...]:
        return (_reopen, (f"s3://{self.bucket}/{self.prefix}", self.options.given()))

    def close(self) -> None:
        self._client.close()

    # --- the verbs -----------------------------------------------------------------------------

    def get(self, key: str) -> bytes:
        return self._read(key)[1] or b""

    def get_range(self, key: str, offset: int, length: int) -> bytes:
        check_range(offset, length)
        if length == 0:
            return b""
        return self._read(key, Range=f"bytes={offset}-{offset + length - 1}")[1] or b""

    def get_tagged(self, key: str, *, unless: str | None = None) -> tuple[str, bytes | None]:
        """One GET: the body and the ETag it came with (``If-None-Match``: 304 and no body if unchanged)."""
        if unless is None:
            return self._read(key)
        return self._read(key, IfNoneMatch=_etag(unless))

    def _read(self, key: str, **condition: Any) -> tuple[str, bytes | None]:
        """The object's ETag and bytes, or those of a ``Range`` (b"" past its end); no bytes when the
        object still has the ``IfNoneMatch`` ETag."""
        for attempt in range(self.options.retries + 1):
            try:
                response = self._client.get_object(Bucket=self.bucket, Key=self._key(key), **condition)
                body = response["Body"]
                try:
                    data = body.read()
                finally:
                    body.close()
            except _BODY_BROKE_OFF as exc:  # botocore retries a request until its headers arrive, not after
                if attempt == self.options.retries:
                    raise self._translate(exc, key) from exc
                time.sleep(random.uniform(0, min(20.0, 2.0**attempt)))  # as botocore's standard mode
            except (BotoCoreError, ClientError) as exc:
                if "Range" in condition and _code(exc) == "InvalidRange":  # the range starts at or past the end
                    return "", b""
                if "IfNoneMatch" in condition and _status(exc) == 304:  # not modified
                    self._bucket_seen = True
                    return condition["IfNoneMatch"], None
                raise self._translate(exc, key) from exc
            else:
                self._bucket_seen = True
                return _etag(response["ETag"]), bytes(data)
        raise AssertionError("unreachable")

    def head(self, key: str) -> ObjectMeta:
        try:
            response = self._client.head_object(Bucket=self.bucket, Key=self._key(key))
        except (BotoCoreError, ClientError) as exc:
            if not self._bucket_seen and _code(exc) in _NOT_FOUND_CODES:
                self._check_bucket()  # HEAD cannot tell a missing bucket from a missing key
            raise self._translate(exc, key) from exc
        self._bucket_seen = True
        return ObjectMeta(key, response["ContentLength"], _etag(response["ETag"]), response["LastModified"])

    def put(self, key: str, data: bytes, *, mode: PutMode = "overwrite") -> ObjectMeta:
        body, condition = bytes(data), dict[str, Any]()
        if mode == "create":
            condition["IfNoneMatch"] = "*"
        elif isinstance(mode, IfMatch):
            condition["IfMatch"] = mode.etag
        try:
            response = self._client.put_object(Bucket=self.bucket, Key=self._key(key), Body=body, **condition)
        except (BotoCoreError, ClientError) as exc:
            raise self._translate(exc, key, mode) from exc
        self._bucket_seen = True
        return ObjectMeta(key, len(body), _etag(response["ETag"]))

    def list(self, prefix: str = "") -> Iterator[ObjectMeta]:
        root = f"{self.prefix}/" if self.prefix else ""
        pages = self._client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=root + prefix)
        try:
            for page in pages:  # S3 lists in ascending UTF-8 byte order, which is str order
                for item in page.get("Contents", []):
                    if not item["Key"].endswith("/"):  # skip "folder" markers made by consoles
                        yield ObjectMeta(
                            item["Key"][len(root) :], item["Size"], _etag(item["ETag"]), item["LastModified"]
                        )
        except (BotoCoreError, ClientError) as exc:
            raise self._translate(exc, prefix) from exc
        self._bucket_seen = True

    def delete(self, key: str) -> None:
        try:
            self._client.delete_object(Bucket=self.bucket, Key=self._key(key))
        except (BotoCoreError, ClientError) as exc:
            raise self._translate(exc, key) from exc

    def exists(self) -> bool:
        try:
            self._check_bucket()
        except StoreNotFoundError:
            return False
        return True

    # --- helpers -------------------------------------------------------------------------------

    def _key(self, key: str) -> str:
        check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def _check_bucket(self, create: bool = False) -> None:
        """Raise the missing-bucket error, or create the bucket, if it does not exist."""
        try:
            self._client.head_bucket(Bucket=self.bucket)
        except (BotoCoreError, ClientError) as exc:
            if _code(exc) not in _NOT_FOUND_CODES:
                return  # e.g. no right to HEAD the bucket, or offline: the object request's error speaks
            if not create:
                raise self._translate(exc, "", bucket_missing=True) from exc
            self._create_bucket()
        self._bucket_seen = True

    def _create_bucket(self) -> None:
        region = self._client.meta.region_name
        location: dict[str, Any] = {}
        if region not in (None, "us-east-1"):  # us-east-1 is the one region that refuses a location
            location["CreateBucketConfiguration"] = {"LocationConstraint": region}
        try:
            self._client.create_bucket(Bucket=self.bucket, **location)
        except (BotoCoreError, ClientError) as exc:
            if _code(exc) != "BucketAlreadyOwnedByYou":  # another process of ours just created it
                raise self._translate(exc, "") from exc

    def _translate(
        self, exc: Exception, key: str, mode: PutMode | None = None, bucket_missing: bool = False
    ) -> StorageError:
        """The tickstore error for a botocore error, its message scrubbed of credentials."""
        code = _code(exc)
        where = "/".join(part for part in (f"s3://{self.bucket}", self.prefix, key) if part)
        detail = self.options.redact(str(exc))
        endpoint = self._client.meta.endpoint_url
        if bucket_missing or code == "NoSuchBucket":  # never created unasked: a typo must not make a bucket
            return StoreNotFoundError(
                f"bucket {self.bucket!r} does not exist at {endpoint}; check the name, or create the bucket "
                f"(aws s3 mb s3://{self.bucket}) or open the store with create_bucket=true"
            )
        lost = code in ("PreconditionFailed", "ConditionalRequestConflict")  # 409: a concurrent write won
        lost = lost or (mode is not None and _status(exc) in (409, 412))  # a reply that lost its body on the way
        if mode == "create" and lost:
            return ObjectExistsError(f"{where} already exists (or another writer is creating it)")
        if isinstance(mode, IfMatch) and (lost or code in _NOT_FOUND_CODES):
            return PreconditionFailedError(
                f"{where} changed or was deleted since ETag {mode.etag} was read; re-read it and retry"
            )
        if code in _NOT_FOUND_CODES:
            return ObjectNotFoundError(f"{where} does not exist")
        if code in _PERMISSION_CODES or code == "403" or isinstance(exc, (NoCredentialsError, PartialCredentialsError)):
            return BackendPermissionError(
                f"S3 at {endpoint} refused access to {where} ({detail}); check the AWS credentials (keyword "
                "options, AWS_* environment variables or the profile) and the bucket policy"
            )
        if isinstance(exc, (botocore.exceptions.ConnectionError, HTTPClientError)):
            return BackendError(
                f"cannot reach S3 at {endpoint} for {where} ({detail}); check endpoint_url and the network"
            )
        return BackendError(f"S3 at {endpoint} failed on {where}: {detail}")


def _profile_error(options: S3Options, exc: ProfileNotFound) -> ConfigError:
    """The error for a profile that is not configured, naming it and where it was chosen (as botocore does)."""
    chosen = [name for name in ("AWS_DEFAULT_PROFILE", "AWS_PROFILE") if os.environ.get(name)]
    source = "the profile option" if options.profile else (chosen or ["the environment"])[0]
    profile = exc.kwargs.get("profile") or options.profile
    return ConfigError(
        f"AWS profile {profile!r} is not configured (it is named by {source}); correct {source} or add the "
        "profile to ~/.aws/config (or the file AWS_CONFIG_FILE names)"
    )


def _code(exc: Exception) -> str:
    """The S3 error code of a ClientError (HEAD errors only have the HTTP status), else ''."""
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return ""


def _status(exc: Exception) -> int | None:
    """The HTTP status of a ClientError, else None."""
    if isinstance(exc, ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return int(status) if status is not None else None
    return None


def _etag(etag: str) -> str:
    """ETags in one form, quoted as S3 sends them, whichever way a service or proxy quotes them."""
    return f'"{etag.strip(chr(34))}"'
