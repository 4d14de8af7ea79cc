"""Store URLs: split one into scheme, location and options, refusing credentials and slips without echoing them.

``parse_url`` is the one place a URL or a path becomes ``(scheme, URL, options)``; the config module
resolves names and defaults to a URL first, then hands it here.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from .errors import InvalidURLError
from .options import OPTION_NAME

__all__ = ["SECRET_WORDS", "looks_like_url", "looks_secret", "parse_url", "unpadded"]

SECRET_WORDS = ("secret", "password", "passwd", "token", "key", "sig", "credential", "connection_string")
"""Words in an option name that mark it as a credential, which never belongs in a URL or the config file."""


def looks_secret(name: str) -> bool:
    """Whether an option or config key is named like a credential (``aws_secret_access_key``, ``sas_token``)."""
    return any(word in name.lower() for word in SECRET_WORDS)


def unpadded(url: str, source: str) -> str:
    """``url``, refused if blanks surround it; ``source`` names where it came from (the environment, the
    config file, or just "the store URL"), as the URL itself is not echoed."""
    if url != url.strip():
        raise InvalidURLError(
            f"{source} starts or ends with a space, tab or line break, which would name another directory or "
            "prefix than meant; remove it (for a local directory whose name really ends in a space, write "
            "file:///path/name%20; object-store prefixes hold no spaces)"
        )
    return url


_SCHEME_WITHOUT_SLASHES = re.compile(r"([A-Za-z][A-Za-z0-9+.-]+):")
"""A scheme (two letters or more, so not a Windows drive) at the start of what has no ``://``."""
_URL_WITHOUT_COLON = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)//")
"""A scheme and ``//`` without the colon between (``s3//bucket/db``) at the start of what has no ``://``."""


def looks_like_url(text: str) -> bool:
    """Whether ``text`` is a URL, or a slip `parse_url` refuses as one (``file:data``, ``s3//bucket``), not a path."""
    return "://" in text or bool(_SCHEME_WITHOUT_SLASHES.match(text) or _URL_WITHOUT_COLON.match(text))


def parse_url(url: str) -> tuple[str, str, dict[str, str]]:
    """Split a store URL into (scheme, URL without query, query options).

    A bare path becomes a ``file://`` URL, its query (``/data/ticks?tz=Europe/London``) read like
    a URL's; a directory whose name holds a ``?`` is reached as ``file:///data/odd%3Fname``.
    Credentials in the URL (``user:password@``) or secret-looking query options are refused
    without echoing them.

    Parameters
    ----------
    url : str
        A store URL (``s3://bucket/db?cache_size=10GiB``) or a local path.

    Returns
    -------
    tuple of (str, str, dict of str)
        The lower-cased scheme, the URL without its query, and the query's options as strings.

    Raises
    ------
    InvalidURLError
        The URL is empty, starts or ends with whitespace, has a scheme without ``//``
        (``file:data/db``) or without its colon (``s3//bucket/db``), has no scheme, holds
        credentials or a fragment (``#...``), repeats an option, or has a malformed query (a
        field that is not ``name=value`` with an identifier for a name is not echoed).

    Examples
    --------
    >>> from tickstore_core.config import parse_url
    >>> parse_url("s3://bucket/db?tz=UTC")
    ('s3', 's3://bucket/db', {'tz': 'UTC'})
    """
    if not isinstance(url, str) or not url.strip():
        raise InvalidURLError(f"a store URL must be a non-empty string, got {url!r}")
    unpadded(url, "the store URL")  # not echoed: it is not checked for credentials yet
    if "://" not in url:
        half_url = _SCHEME_WITHOUT_SLASHES.match(url)
        if half_url:  # file:data/db is not a path: it would make a directory named 'file:data'
            scheme = half_url.group(1)
            raise InvalidURLError(
                f"a store URL starting {scheme}: lacks the // after it: write {scheme}://... (for a local store "
                f"file:///absolute/path), or for a directory whose name holds a colon ./{scheme}:..."
            )
        no_colon = _URL_WITHOUT_COLON.match(url)
        if no_colon:  # s3//bucket/db is not a path: it would make a directory named 's3' in the current one
            scheme = no_colon.group(1)
            raise InvalidURLError(
                f"a store path starting {scheme}// looks like a URL missing the ':' after its scheme: write "
                f"{scheme}://..., or for a directory of that name ./{scheme}//..."
            )
        path, question_mark, query = url.partition("?")
        if not path.strip():
            raise InvalidURLError(f"a store path must not be empty, got {url!r}")
        try:
            url = Path(path).expanduser().resolve().as_uri() + question_mark + query
        except (OSError, RuntimeError) as exc:  # a symbolic link loop (RuntimeError before Python 3.13)
            raise InvalidURLError(
                f"the store path cannot be resolved ({type(exc).__name__}: a symbolic link loop?); check the path"
            ) from None
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if not scheme:
        raise InvalidURLError("the store URL has no scheme; use e.g. s3://bucket/db or file:///data/db")
    if parts.username is not None or parts.password is not None:
        raise InvalidURLError(
            f"credentials are not allowed in a store URL ({scheme}://...@...); pass them through the "
            "environment, the SDK's credential chain or keyword options"
        )
    if "#" in url:  # a path's own '#' is %23 by now: this one would be dropped, opening another store
        raise InvalidURLError(
            f"the {scheme}:// URL holds a '#', and what follows it would be ignored; remove the '#...'"
            + (", or write it as %23 if it is part of a directory's name" if scheme == "file" else "")
        )
    try:
        pairs = parse_qsl(parts.query, keep_blank_values=True, strict_parsing=bool(parts.query))
    except ValueError:  # its message echoes the field, maybe a pasted credential
        raise InvalidURLError(
            f"the query string of the {scheme}:// URL is malformed (not shown: it may hold a credential); write "
            "options as name=value&name=value"
        ) from None
    options: dict[str, str] = {}
    for name, value in pairs:
        if not OPTION_NAME.fullmatch(name):
            raise InvalidURLError(
                f"the query of the {scheme}:// URL has a field that is not name=value with an option's name (not "
                "shown: it may be a credential); pass credentials as keyword options or through the environment"
            )
        if name in options:
            raise InvalidURLError(f"option {name!r} appears twice in the {scheme}:// URL")
        if looks_secret(name):
            raise InvalidURLError(
                f"option {name!r} looks like a credential and is not allowed in a URL (URLs end up in "
                "logs); pass it as a keyword option or through the environment"
            )
        options[name] = value
    base = urlunsplit((scheme, parts.netloc, parts.path, "", ""))
    return scheme, base, options
