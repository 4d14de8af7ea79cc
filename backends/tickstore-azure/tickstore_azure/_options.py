"""Options of the Azure Blob backend: typed, from keyword arguments or the URL query, unknown ones rejected.

Keyword values arrive typed; query values arrive as strings and are converted here, so
``az://c/db?retries=0`` and ``from_url("az://c/db", retries=0)`` mean the same; a keyword wins
over the same option in the query. Credentials (``connection_string``, ``sas_token``,
``credential``) are accepted only as keywords: a URL ends up in logs, so one there is refused
without echoing it. :func:`redact` removes secrets from any text the SDK hands back.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any
from urllib.parse import unquote, urlsplit

from tickstore_core import InvalidURLError
from tickstore_core.options import check_option_names, number_option, text_option

__all__ = ["SECRETS", "AzureOptions", "check_account_url", "check_container", "redact"]

SECRETS = ("connection_string", "sas_token", "credential")
_CONTAINER_RE = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")
_CONTAINER_RULE = (
    "Azure container names are 3-63 characters of lowercase letters, digits and single dashes, "
    "starting and ending with a letter or digit"
)
_ACCOUNT_RE = re.compile(r"[a-z0-9]{3,24}")
_SECRET_TEXT = re.compile(r"(?i)\b(sig|AccountKey|SharedAccessSignature)=[^&;\s'\"]+")


@dataclass(frozen=True)
class AzureOptions:
    """Everything the backend can be told besides the container and prefix.

    ``account_url`` (or ``account_name``, or ``AZURE_STORAGE_ACCOUNT_URL``) names the account when
    the credential is a SAS token, an azure credential object or azure-identity's default chain.
    Defaults suit a pool of about 16 reading threads and production latencies; ``retries`` is
    the number of attempts after the first, each after a random pause of up to 1, 2, 4... seconds
    (botocore's standard backoff), so tests pass ``retries=0`` to fail fast on an unreachable
    endpoint.
    """

    account_url: str | None = None
    account_name: str | None = None
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    retries: int = 3
    max_pool_connections: int = 32
    connection_string: str | None = field(default=None, repr=False)
    sas_token: str | None = field(default=None, repr=False)
    credential: Any = field(default=None, repr=False)

    @classmethod
    def parse(cls, query: Mapping[str, str], keywords: Mapping[str, Any]) -> AzureOptions:
        """Options from the URL query and keyword arguments; raise :class:`InvalidURLError` if invalid."""
        check_option_names(
            [*query, *keywords],
            query,
            valid=[f.name for f in fields(cls)],
            secrets=SECRETS,
            backend="azure",
            scheme="az",
            credentials_from="as keyword options or through AZURE_STORAGE_CONNECTION_STRING",
        )
        values = {name: _CONVERTERS[name](name, value) for name, value in {**query, **keywords}.items()}
        options = cls(**values)
        given = [name for name in SECRETS if getattr(options, name) is not None]
        if len(given) > 1:
            raise InvalidURLError(f"give only one of {', '.join(given)} to the azure backend")
        if options.account_url is not None:
            check_account_url(options.account_url, "option account_url")
        if options.account_name is not None and not _ACCOUNT_RE.fullmatch(options.account_name):
            raise InvalidURLError(
                f"invalid Azure storage account name {options.account_name!r}: 3-24 lowercase letters and digits"
            )
        return options

    def given(self) -> dict[str, Any]:
        """The options that differ from the defaults, secrets included (to reopen a pickled backend)."""
        values, defaults = vars(self), vars(AzureOptions())
        return {name: value for name, value in values.items() if value != defaults[name]}

    def secrets(self) -> list[str]:
        """Every secret string these options hold, so that text can be scrubbed of them."""
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


def redact(text: str, secrets: list[str] | tuple[str, ...] = ()) -> str:
    """``text`` with SAS signatures, account keys and the given secrets replaced by ``***``."""
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, "***")
    return _SECRET_TEXT.sub(lambda match: f"{match.group(1)}=***", text)


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


def _anything(name: str, value: Any) -> Any:
    return value


_CONVERTERS: dict[str, Callable[[str, Any], Any]] = {
    "account_url": text_option,
    "account_name": text_option,
    "connect_timeout": number_option(float, 0.001),
    "read_timeout": number_option(float, 0.001),
    "retries": number_option(int, 0),
    "max_pool_connections": number_option(int, 1),
    "connection_string": text_option,
    "sas_token": lambda name, value: (text_option(name, value) or "").lstrip("?") or None,
    "credential": _anything,
}
