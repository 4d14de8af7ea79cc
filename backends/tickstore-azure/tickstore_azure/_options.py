"""Options of the Azure Blob backend: typed, from keyword arguments or the URL query, unknown ones rejected.

Keyword values arrive typed; query values arrive as strings and are converted here, so
``az://c/db?retries=0`` and ``from_url("az://c/db", retries=0)`` mean the same; a keyword wins
over the same option in the query. Credentials (``connection_string``, ``sas_token``,
``credential``) are accepted only as keywords: a URL ends up in logs, so one there is refused
without echoing it. :func:`redact` removes secrets from any text the SDK hands back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from tickstore_core.plugin import (
    BackendOptions,
    InvalidURLError,
    any_option,
    number_option,
    option,
    redact_secrets,
    text_option,
)

__all__ = ["SECRETS", "AzureOptions", "check_account_url", "check_container", "redact"]

_CONTAINER_RE = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")
_CONTAINER_RULE = (
    "Azure container names are 3-63 characters of lowercase letters, digits and single dashes, "
    "starting and ending with a letter or digit"
)
_ACCOUNT_RE = re.compile(r"[a-z0-9]{3,24}")
_SECRET_TEXT = re.compile(r"(?i)\b(sig|AccountKey|SharedAccessSignature)=[^&;\s'\"]+")


def _sas_token(name: str, value: Any) -> str | None:
    """The token without a leading '?'; a whole SAS URL is refused without echoing it (it holds the signature)."""
    token = (text_option(name, value) or "").lstrip("?")
    if "://" in token or "?" in token:
        raise InvalidURLError(
            f"option {name} must be the SAS token, the query part of a SAS URL (sv=...&sig=...), not the URL: "
            "pass what follows '?' as sas_token, and the account (https://<account>.blob.core.windows.net) "
            "as account_url"
        )
    return token or None


@dataclass(frozen=True)
class AzureOptions(BackendOptions):
    """Everything the backend can be told besides the container and prefix.

    ``account_url`` (or ``account_name``, or ``AZURE_STORAGE_ACCOUNT_URL``) names the account when
    the credential is a SAS token, an azure credential object or azure-identity's default chain.
    Defaults suit a pool of about 16 reading threads and production latencies; ``retries`` is
    the number of attempts after the first, each after a random pause of up to 1, 2, 4... seconds
    (botocore's standard backoff), so tests pass ``retries=0`` to fail fast on an unreachable
    endpoint.
    """

    backend = "azure"
    scheme = "az"
    credentials_from = "as keyword options or through AZURE_STORAGE_CONNECTION_STRING"

    account_url: str | None = option(text_option)
    account_name: str | None = option(text_option)
    connect_timeout: float = option(number_option(float, 0.001), 10.0)
    read_timeout: float = option(number_option(float, 0.001), 60.0)
    retries: int = option(number_option(int, 0), 3)
    max_pool_connections: int = option(number_option(int, 1), 32)
    connection_string: str | None = option(text_option, secret=True)
    sas_token: str | None = option(_sas_token, secret=True)
    credential: Any = option(any_option, secret=True)  # noqa: RUF009 - option() makes a dataclass field

    def check(self) -> None:
        given = [name for name in self.secret_names() if getattr(self, name) is not None]
        if len(given) > 1:
            raise InvalidURLError(f"give only one of {', '.join(given)} to the azure backend")
        if self.account_url is not None:
            check_account_url(self.account_url, "option account_url")
        if self.account_name is not None and not _ACCOUNT_RE.fullmatch(self.account_name):
            raise InvalidURLError(
                f"invalid Azure storage account name {self.account_name!r}: 3-24 lowercase letters and digits"
            )

    def secrets(self) -> list[str]:
        """Every secret string these options hold: also keys inside credential objects and connection strings."""
        found = [self.connection_string, self.sas_token, self.credential if isinstance(self.credential, str) else None]
        named_key = getattr(self.credential, "named_key", None)  # AzureNamedKeyCredential
        found.append(getattr(named_key, "key", None))
        if isinstance(self.credential, dict):
            found.append(self.credential.get("account_key"))
        for text in list(found):
            for match in _SECRET_TEXT.finditer(text or ""):
                value = match.group(0).split("=", 1)[1]
                found += [value, unquote(value)]
        return [secret for secret in found if isinstance(secret, str) and len(secret) >= 4]

    def redact(self, text: str) -> str:
        """``text`` with SAS signatures, account keys and these options' secrets replaced by ``***``."""
        return redact(text, self.secrets())


SECRETS = AzureOptions.secret_names()


def redact(text: str, secrets: list[str] | tuple[str, ...] = ()) -> str:
    """``text`` with SAS signatures, account keys and the given secrets replaced by ``***``."""
    return _SECRET_TEXT.sub(lambda match: f"{match.group(1)}=***", redact_secrets(text, secrets))


def check_account_url(url: str, source: str) -> str:
    """Return ``url`` if it is an http(s) account endpoint without a query, else raise (never echoing it)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or "@" in parts.netloc:
        raise InvalidURLError(
            f"{source} must look like https://<account>.blob.core.windows.net, without user info or a query "
            "string; pass a SAS token as sas_token"
        )
    return url


def check_container(container: str) -> str:
    """Return ``container`` if it is a valid Azure container name, else raise :class:`InvalidURLError` with the rule."""
    if not (3 <= len(container) <= 63 and _CONTAINER_RE.fullmatch(container)):
        raise InvalidURLError(
            f"invalid Azure container name {container!r}: {_CONTAINER_RULE}; use az://container/prefix"
        )
    return container
