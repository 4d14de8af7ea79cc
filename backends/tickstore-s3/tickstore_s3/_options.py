"""Options of the S3 backend: typed, from keyword arguments or the URL query, unknown ones rejected.

Keyword values arrive typed; query values arrive as strings and are converted here, so
``s3://b/db?read_timeout=5`` and ``from_url("s3://b/db", read_timeout=5.0)`` mean the same. A
keyword wins over the same option in the query. The three credentials are accepted only as
keywords: a URL ends up in logs, so a credential in one is refused without echoing it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from tickstore_core.plugin import (
    BackendOptions,
    InvalidURLError,
    flag_option,
    number_option,
    option,
    text_option,
)

__all__ = ["IDENTITY", "SECRETS", "S3Options", "check_bucket"]

IDENTITY = ("endpoint_url", "region", "profile", "addressing_style")
"""Non-secret options that select which store is opened: they are part of the backend's URL."""

_BUCKET_RE = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_IP_RE = re.compile(r"\d+\.\d+\.\d+\.\d+")
_BUCKET_RULE = (
    "S3 bucket names are 3-63 characters of lowercase letters, digits, '.' and '-', start and end "
    "with a letter or digit, have no '..', and do not look like an IP address"
)


@dataclass(frozen=True)
class S3Options(BackendOptions):
    """Everything the backend can be told besides the bucket and prefix.

    Defaults suit a thread pool of about 16 readers and give up on an unreachable endpoint within
    seconds: ``retries`` is the number of attempts after the first (botocore's standard mode).
    ``create_bucket`` creates a missing bucket when the backend is opened; without it, a missing
    bucket is an error that says how to create it.
    """

    backend = "s3"
    scheme = "s3"
    credentials_from = "as keyword options, through AWS_* environment variables or an AWS profile"

    endpoint_url: str | None = option(text_option)
    region: str | None = option(text_option)
    profile: str | None = option(text_option)
    addressing_style: Literal["auto", "path", "virtual"] | None = option(text_option)
    connect_timeout: float = option(number_option(float, 0.001), 5.0)
    read_timeout: float = option(number_option(float, 0.001), 60.0)
    retries: int = option(number_option(int, 0), 3)
    max_pool_connections: int = option(number_option(int, 1), 32)
    create_bucket: bool = option(flag_option, False)
    aws_access_key_id: str | None = option(text_option, secret=True)
    aws_secret_access_key: str | None = option(text_option, secret=True)
    aws_session_token: str | None = option(text_option, secret=True)

    def check(self) -> None:
        if self.endpoint_url is not None:
            parts = urlsplit(self.endpoint_url)
            if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or "@" in parts.netloc:
                raise InvalidURLError(  # never echoed: user info in it would be a password
                    "option endpoint_url must look like https://host[:port], without user info or a query string; "
                    "pass credentials as aws_access_key_id and aws_secret_access_key"
                )
        if self.addressing_style not in (None, "auto", "path", "virtual"):
            style = self.addressing_style
            raise InvalidURLError(f"option addressing_style must be auto, path or virtual, not {style!r}")

    def identity(self) -> dict[str, str]:
        """The options that belong in the URL, in a fixed order."""
        values = {name: getattr(self, name) for name in IDENTITY}
        return {name: value for name, value in values.items() if value is not None}


SECRETS = S3Options.secret_names()


def check_bucket(bucket: str) -> str:
    """Return ``bucket`` if it is a valid S3 bucket name, else raise :class:`InvalidURLError` with the rule."""
    if (
        not _BUCKET_RE.fullmatch(bucket)
        or ".." in bucket
        or _IP_RE.fullmatch(bucket)
        or bucket.startswith(("xn--", "sthree-"))
        or bucket.endswith(("-s3alias", "--ol-s3"))
    ):
        raise InvalidURLError(f"invalid S3 bucket name {bucket!r}: {_BUCKET_RULE}; use s3://bucket/prefix")
    return bucket
