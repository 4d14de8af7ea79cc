"""Options of the S3 backend: typed, from keyword arguments or the URL query, unknown ones rejected.

Keyword values arrive typed; query values arrive as strings and are converted here, so
``s3://b/db?read_timeout=5`` and ``from_url("s3://b/db", read_timeout=5.0)`` mean the same. A
keyword wins over the same option in the query. The three credentials are accepted only as
keywords: a URL ends up in logs, so a credential in one is refused without echoing it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from tickstore_core import InvalidURLError
from tickstore_core.options import check_option_names, flag_option, number_option, text_option

__all__ = ["IDENTITY", "SECRETS", "S3Options", "check_bucket"]

SECRETS = ("aws_access_key_id", "aws_secret_access_key", "aws_session_token")
IDENTITY = ("endpoint_url", "region", "profile", "addressing_style")
"""Non-secret options that select which store is opened: they are part of the backend's URL."""

_BUCKET_RE = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_IP_RE = re.compile(r"\d+\.\d+\.\d+\.\d+")
_BUCKET_RULE = (
    "S3 bucket names are 3-63 characters of lowercase letters, digits, '.' and '-', start and end "
    "with a letter or digit, have no '..', and do not look like an IP address"
)


@dataclass(frozen=True)
class S3Options:
    """Everything the backend can be told besides the bucket and prefix.

    Defaults suit a thread pool of about 16 readers and give up on an unreachable endpoint within
    seconds: ``retries`` is the number of attempts after the first (botocore's standard mode).
    ``create_bucket`` creates a missing bucket when the backend is opened; without it, a missing
    bucket is an error that says how to create it.
    """

    endpoint_url: str | None = None
    region: str | None = None
    profile: str | None = None
    addressing_style: Literal["auto", "path", "virtual"] | None = None
    connect_timeout: float = 5.0
    read_timeout: float = 60.0
    retries: int = 3
    max_pool_connections: int = 32
    create_bucket: bool = False
    aws_access_key_id: str | None = field(default=None, repr=False)
    aws_secret_access_key: str | None = field(default=None, repr=False)
    aws_session_token: str | None = field(default=None, repr=False)

    @classmethod
    def parse(cls, query: Mapping[str, str], keywords: Mapping[str, Any]) -> S3Options:
        """Options from the URL query and keyword arguments; raise :class:`InvalidURLError` if invalid."""
        check_option_names(
            [*query, *keywords],
            query,
            valid=list(_CONVERTERS),
            secrets=SECRETS,
            backend="s3",
            scheme="s3",
            credentials_from="as keyword options, through AWS_* environment variables or an AWS profile",
        )
        values = {name: _CONVERTERS[name](name, value) for name, value in {**query, **keywords}.items()}
        options = cls(**values)
        if options.addressing_style not in (None, "auto", "path", "virtual"):
            style = options.addressing_style
            raise InvalidURLError(f"option addressing_style must be auto, path or virtual, not {style!r}")
        return options

    def identity(self) -> dict[str, str]:
        """The options that belong in the URL, in a fixed order."""
        return {name: value for name, value in asdict(self).items() if name in IDENTITY and value is not None}

    def given(self) -> dict[str, Any]:
        """The options that differ from the defaults, secrets included (to reopen a pickled backend)."""
        defaults = asdict(S3Options())
        return {name: value for name, value in asdict(self).items() if value != defaults[name]}

    def secrets(self) -> list[str]:
        """The credential values, so messages can be scrubbed of them (not 1-3 characters: they would maul words)."""
        return [value for value in (getattr(self, name) for name in SECRETS) if value and len(value) >= 4]


_CONVERTERS: dict[str, Callable[[str, Any], Any]] = {
    "endpoint_url": text_option,
    "region": text_option,
    "profile": text_option,
    "addressing_style": text_option,
    "connect_timeout": number_option(float, 0.001),
    "read_timeout": number_option(float, 0.001),
    "retries": number_option(int, 0),
    "max_pool_connections": number_option(int, 1),
    "create_bucket": flag_option,
    **dict.fromkeys(SECRETS, text_option),
}


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
