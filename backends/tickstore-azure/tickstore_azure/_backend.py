"""Azure Blob Storage as a tickstore backend: ``az://container/prefix``.

Keys are blob names relative to the prefix. Conditional puts are Azure's own: ``mode="create"``
sends ``If-None-Match: *`` and :class:`~tickstore_core.IfMatch` sends ``If-Match``, so the
compare-and-swap happens in the service and is atomic. Credentials come from the options, the
environment or azure-identity (see :mod:`tickstore_azure._client`); they never appear in the URL,
the repr, an error or a log line.
"""

from __future__ import annotations

from collections.abc import Iterator
from enum import Enum
from typing import Any, ClassVar
from urllib.parse import urlencode, urlsplit

from azure.core import MatchConditions
from azure.core.exceptions import (
    AzureError,
    ClientAuthenticationError,
    ResourceExistsError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.storage.blob import BlobClient

from tickstore_core.plugin import (
    Backend,
    BackendError,
    BackendPermissionError,
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

from ._client import make_client
from ._options import AzureOptions, check_container

__all__ = ["AzureBlobBackend"]


def _reopen(url: str, options: dict[str, Any]) -> AzureBlobBackend:
    return AzureBlobBackend.from_url(url, **options)


class AzureBlobBackend(Backend):
    """Blobs under ``prefix`` in an Azure container; safe to share between threads.

    Options are listed in :class:`~tickstore_azure._options.AzureOptions`. A missing container is
    created by the first write (an existing one is fine), so opening a store sends no request and
    works offline; until then the backend lists nothing and :meth:`exists` is false (the store refuses
    reads, a typo must not look like an empty store). Credentials that cannot create it (a container
    SAS) get :class:`~tickstore_core.StoreNotFoundError` on that write. A pickled backend carries the
    options it was given, credentials included (a Dask worker needs them); those found in the
    environment or by azure-identity are looked up again where it is unpickled.
    """

    name: ClassVar[str] = "azure"
    schemes: ClassVar[tuple[str, ...]] = ("az", "azure")

    def __init__(self, container: str, prefix: str = "", options: AzureOptions | None = None) -> None:
        self.container = check_container(container)
        self.prefix = prefix.strip("/")
        self.options = options or AzureOptions()
        try:
            self._service, self._owned_credential = make_client(self.options)
        except (ValueError, TypeError) as exc:  # malformed connection string, URL or credential type
            message = self.options.redact(str(exc))
            raise InvalidURLError(f"cannot open az://{self.container}: {message}") from exc
        endpoint = urlsplit(self._service.primary_endpoint)  # the query may hold a SAS: leave it out
        self.account_url = f"{endpoint.scheme}://{endpoint.netloc}{endpoint.path}".rstrip("/")
        try:
            self._check_account()
        except InvalidURLError:
            self.close()
            raise
        self._container = self._service.get_container_client(self.container)

    def _check_account(self) -> None:
        """Refuse an account_url or account_name the credentials do not open: it must not be silently ignored."""
        given = {"account_url": self.options.account_url, "account_name": self.options.account_name}
        opened = {"account_url": self.account_url, "account_name": (self._service.account_name or "").lower()}
        for name, value in given.items():
            if value and value.rstrip("/").lower() != opened[name].lower():  # account names are lowercase
                raise InvalidURLError(
                    f"{name} {value} does not match the account the credentials open ({self.account_url}); leave "
                    f"{name} out or correct it (a connection string, also AZURE_STORAGE_CONNECTION_STRING, names "
                    "its own account)"
                )

    @classmethod
    def from_url(cls, url: str, **options: Any) -> AzureBlobBackend:
        parts = split_bucket_url(url, cls.schemes, "az://container/prefix")
        return cls(parts.netloc, parts.path, AzureOptions.parse(parts.query, options))

    @property
    def url(self) -> str:
        root = f"az://{self.container}/{self.prefix}".rstrip("/")
        return f"{root}?{urlencode({'account_url': self.account_url}, safe=':/')}"

    def __reduce__(self) -> tuple[Any, ...]:
        return (_reopen, (f"az://{self.container}/{self.prefix}", self.options.given()))

    def close(self) -> None:
        self._service.close()
        if self._owned_credential is not None:
            self._owned_credential.close()

    # --- the verbs -----------------------------------------------------------------------------

    def get(self, key: str) -> bytes:
        try:
            return self._blob(key).download_blob().readall()
        except AzureError as exc:
            raise self._translate(exc, key) from exc

    def get_tagged(self, key: str, *, unless: str | None = None) -> tuple[str, bytes | None]:
        """One download: the body and the ETag it came with (``If-None-Match``: 304 and no body if unchanged)."""
        condition: dict[str, Any] = {}
        if unless is not None:
            condition = {"etag": _etag(unless), "match_condition": MatchConditions.IfModified}
        try:
            download = self._blob(key).download_blob(**condition)
            return _etag(download.properties.etag), download.readall()
        except AzureError as exc:
            # not modified: 304 (the SDK raises ResourceNotModifiedError or, for downloads, ResourceModifiedError)
            if unless is not None and getattr(exc, "status_code", None) in (304, 412):
                return _etag(unless), None
            raise self._translate(exc, key) from exc

    def get_range(self, key: str, offset: int, length: int) -> bytes:
        check_range(offset, length)
        if length == 0:
            return b""
        try:
            return bytes(self._blob(key).download_blob(offset=offset, length=length).readall())
        except AzureError as exc:
            if getattr(exc, "status_code", None) == 416:  # the range starts at or past the blob's end
                return b""
            raise self._translate(exc, key) from exc

    def head(self, key: str) -> ObjectMeta:
        try:
            props = self._blob(key).get_blob_properties()
        except AzureError as exc:
            raise self._translate(exc, key) from exc
        return ObjectMeta(key, props.size, _etag(props.etag), props.last_modified)

    def put(self, key: str, data: bytes, *, mode: PutMode = "overwrite") -> ObjectMeta:
        body, blob = bytes(data), self._blob(key)
        condition: dict[str, Any] = {}
        if isinstance(mode, IfMatch):
            condition = {"etag": mode.etag, "match_condition": MatchConditions.IfNotModified}
        try:
            try:
                result = blob.upload_blob(body, length=len(body), overwrite=mode != "create", **condition)
            except ResourceNotFoundError as exc:
                if isinstance(mode, IfMatch) or _code(exc) != "ContainerNotFound":
                    raise
                self._create_container()
                result = blob.upload_blob(body, length=len(body), overwrite=mode != "create", **condition)
        except AzureError as exc:
            raise self._translate(exc, key, mode) from exc
        return ObjectMeta(key, len(body), _etag(result["etag"]), result["last_modified"])

    def list(self, prefix: str = "") -> Iterator[ObjectMeta]:
        root = f"{self.prefix}/" if self.prefix else ""
        try:  # Azure lists blob names in ascending order
            for blob in self._container.list_blobs(name_starts_with=root + prefix, include=["metadata"]):
                folder = blob.name.endswith("/") or (blob.metadata or {}).get("hdi_isfolder") == "true"
                if not folder:  # directories of hierarchical accounts, and "folder" blobs tools make
                    yield ObjectMeta(blob.name[len(root) :], blob.size, _etag(blob.etag), blob.last_modified)
        except ResourceNotFoundError as exc:
            if _code(exc) != "ContainerNotFound":  # a container not created yet holds nothing
                raise self._translate(exc, prefix) from exc
        except AzureError as exc:
            raise self._translate(exc, prefix) from exc

    def delete(self, key: str) -> None:
        try:
            self._blob(key).delete_blob(delete_snapshots="include")
        except ResourceNotFoundError:
            pass  # already gone, or the container was never created
        except AzureError as exc:
            raise self._translate(exc, key) from exc

    def exists(self) -> bool:
        try:
            return bool(self._container.exists())  # the first write creates it
        except AzureError as exc:
            error = self._translate(exc, "")
            if not isinstance(error, BackendPermissionError):
                raise error from exc
        try:  # e.g. a container SAS may list blobs but not read the container: one listed name tells
            next(self._container.list_blobs(results_per_page=1).by_page(), None)
        except AzureError as exc:
            if _code(exc) == "ContainerNotFound":
                return False
            error = self._translate(exc, "")
            if not isinstance(error, BackendPermissionError):  # not allowed to list either: the reads speak
                raise error from exc
        return True

    # --- helpers -------------------------------------------------------------------------------

    def _blob(self, key: str) -> BlobClient:
        check_key(key)
        return self._container.get_blob_client(f"{self.prefix}/{key}" if self.prefix else key)

    def _create_container(self) -> None:
        try:
            self._container.create_container()
        except ResourceExistsError:
            pass  # another writer created it first
        except AzureError as exc:
            error = self._translate(exc, "")
            if isinstance(error, BackendPermissionError):  # e.g. a container SAS: it can never create one
                raise StoreNotFoundError(
                    f"container {self.container!r} does not exist at {self.account_url} and these credentials "
                    f"cannot create it; check the name, or create it (az storage container create --name "
                    f"{self.container}) or use credentials that may"
                ) from exc
            raise error from exc

    def _translate(self, exc: AzureError, key: str, mode: PutMode | None = None) -> StorageError:
        """The tickstore error for an Azure SDK error, its message scrubbed of credentials."""
        where = "/".join(part for part in (f"az://{self.container}", self.prefix, key) if part)
        status, code = getattr(exc, "status_code", None), _code(exc)
        first_line = (str(exc.message or exc).strip().splitlines() or [""])[0]
        detail = self.options.redact(f"{code}: {first_line}" if code else first_line)
        if mode == "create" and (isinstance(exc, ResourceExistsError) or status in (409, 412)):
            return ObjectExistsError(f"{where} already exists (or another writer is creating it)")
        if isinstance(mode, IfMatch) and status in (404, 412):
            return PreconditionFailedError(
                f"{where} changed or was deleted since ETag {mode.etag} was read; re-read it and retry"
            )
        if isinstance(exc, ResourceNotFoundError) or status == 404:
            return ObjectNotFoundError(f"{where} does not exist")
        if isinstance(exc, ClientAuthenticationError) or status in (401, 403):
            return BackendPermissionError(
                f"Azure Blob at {self.account_url} refused access to {where} ({detail}); check the credentials "
                "(connection_string, AZURE_STORAGE_CONNECTION_STRING, sas_token, credential or azure-identity) and "
                "their permissions on the container"
            )
        if isinstance(exc, (ServiceRequestError, ServiceResponseError)):
            return BackendError(
                f"cannot reach Azure Blob at {self.account_url} for {where} ({detail}); check account_url and the "
                "network, or raise connect_timeout, read_timeout or retries"
            )
        return BackendError(f"Azure Blob at {self.account_url} failed on {where}: {detail}")


def _code(exc: AzureError) -> str:
    """The storage error code (``BlobNotFound``...) of an HTTP error, else ''."""
    code = getattr(exc, "error_code", None)
    return str(code.value if isinstance(code, Enum) else code or "")


def _etag(etag: str | None) -> str:
    """ETags in one form, quoted as in HTTP headers: Azure quotes them in headers, not in listings."""
    return f'"{(etag or "").strip(chr(34))}"'
