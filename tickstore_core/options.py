"""Backend options, for the core and for backend plugins: one declarative base and its converters.

A backend declares its options as a frozen dataclass subclassing :class:`BackendOptions`, each
field made with :func:`option` (a converter, a default, and whether it is a secret). The base
parses them from the URL query and keyword arguments (a keyword wins), refuses unknown names and
any secret in the URL (URLs end up in logs; the message names the option and never echoes its
value), hides secrets from ``repr`` and lists their values so messages can be scrubbed of them.
:func:`split_url` and :func:`split_bucket_url` take a backend URL apart the same way everywhere.

Keyword values arrive typed; URL query values arrive as strings. Each converter takes the option's
name (for the message) and the value, and raises :class:`InvalidURLError` saying what it expects.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any, ClassVar, NamedTuple, TypeVar
from urllib.parse import parse_qsl, urlsplit

from .backend import check_key
from .errors import InvalidOptionError, InvalidURLError

__all__ = [
    "BackendOptions",
    "Converter",
    "URLParts",
    "any_option",
    "check_option_names",
    "flag_option",
    "number_option",
    "option",
    "redact_secrets",
    "split_bucket_url",
    "split_url",
    "text_option",
]

Converter = Callable[[str, Any], Any]
_KINDS = {int: "an integer", float: "a number"}
_CONVERT = "tickstore_convert"
_SECRET = "tickstore_secret"
_Options = TypeVar("_Options", bound="BackendOptions")


def option(convert: Converter, default: Any = None, *, secret: bool = False) -> Any:
    """A field of a :class:`BackendOptions` subclass: its converter, its default, whether it is a secret.

    A secret is accepted only as a keyword (never in the URL query) and left out of ``repr``.
    """
    return dataclasses.field(default=default, repr=not secret, metadata={_CONVERT: convert, _SECRET: secret})


@dataclass(frozen=True)
class BackendOptions:
    """Base of a backend's options: subclasses only declare fields (with :func:`option`) and these names.

    ``backend`` names the backend in messages, ``scheme`` its URL scheme, ``credentials_from`` says
    where credentials go instead of the URL. Override :meth:`check` for rules across options and
    :meth:`secrets` if secrets hide inside other values.
    """

    backend: ClassVar[str] = ""
    scheme: ClassVar[str] = ""
    credentials_from: ClassVar[str] = "as keyword options"

    @classmethod
    def names(cls) -> list[str]:
        """Every option, in declaration order."""
        return [f.name for f in fields(cls)]

    @classmethod
    def secret_names(cls) -> tuple[str, ...]:
        """The options that are credentials."""
        return tuple(f.name for f in fields(cls) if f.metadata.get(_SECRET))

    @classmethod
    def parse(cls: type[_Options], query: Mapping[str, str], keywords: Mapping[str, Any]) -> _Options:
        """Options from the URL query and keyword arguments; raise :class:`InvalidURLError` if invalid."""
        try:
            check_option_names(
                [*query, *keywords],
                query,
                valid=cls.names(),
                secrets=cls.secret_names(),
                backend=cls.backend,
                scheme=cls.scheme,
                credentials_from=cls.credentials_from,
            )
        except InvalidURLError as exc:
            if any(name not in cls.names() for name in keywords):
                raise InvalidOptionError(str(exc)) from None
            raise
        converters = {f.name: f.metadata[_CONVERT] for f in fields(cls)}
        values = {}
        for name, value in {**query, **keywords}.items():
            try:
                values[name] = converters[name](name, value)
            except InvalidURLError as exc:
                if name in keywords:  # a keyword, not part of the URL
                    raise InvalidOptionError(str(exc)) from None
                raise
        options = cls(**values)
        options.check()
        return options

    def check(self) -> None:
        """Rules across options, after each was converted; raise :class:`InvalidURLError` to refuse."""

    def given(self) -> dict[str, Any]:
        """The options that differ from the defaults, secrets included (to reopen a pickled backend)."""
        defaults = type(self)()
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        return {name: value for name, value in values.items() if value != getattr(defaults, name)}

    def secrets(self) -> list[str]:
        """The credential values, so text can be scrubbed of them (not 1-3 characters: they would maul words)."""
        found = (getattr(self, name) for name in self.secret_names())
        return [value for value in found if isinstance(value, str) and len(value) >= 4]

    def redact(self, text: str) -> str:
        """``text`` with every secret of these options replaced by ``***``."""
        return redact_secrets(text, self.secrets())


def redact_secrets(text: str, secrets: Iterable[str]) -> str:
    """``text`` with each of ``secrets`` (longest first) replaced by ``***``."""
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


class URLParts(NamedTuple):
    """A backend URL taken apart: lowercased scheme, network location, path and query options."""

    scheme: str
    netloc: str
    path: str
    query: dict[str, str]


def split_url(url: str) -> URLParts:
    """Take a backend URL apart; the query becomes a dict of strings (blank values kept)."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    return URLParts(parts.scheme.lower(), parts.netloc, parts.path, query)


def split_bucket_url(url: str, schemes: Sequence[str], form: str) -> URLParts:
    """Split an object store's ``scheme://bucket/prefix?options`` URL; refuse user info and a bad prefix.

    ``form`` (``"s3://bucket/prefix"``) is how the message shows a valid URL; the refused URL is not
    echoed beyond its scheme, since user info may hold a credential.
    """
    parts = split_url(url)
    if parts.scheme not in schemes or "@" in parts.netloc:
        raise InvalidURLError(f"not an {form} URL without credentials: {parts.scheme}://...")
    prefix = parts.path.strip("/")
    if prefix:
        try:
            check_key(prefix)
        except ValueError as exc:
            raise InvalidURLError(f"invalid prefix in {parts.scheme}://{parts.netloc}{parts.path}: {exc}") from exc
    return parts


def check_option_names(
    given: Iterable[str],
    in_url: Iterable[str],
    *,
    valid: Sequence[str],
    secrets: Sequence[str],
    backend: str,
    scheme: str,
    credentials_from: str,
) -> None:
    """Refuse unknown options, and credentials in the URL query (``credentials_from`` says where they go)."""
    unknown = sorted(set(given).difference(valid))
    if unknown:
        raise InvalidURLError(
            f"unknown option(s) {', '.join(unknown)} for the {backend} backend; "
            f"valid options: {', '.join(valid) or 'none'}"
        )
    misplaced = sorted(set(in_url).intersection(secrets))
    if misplaced:
        raise InvalidURLError(
            f"{', '.join(misplaced)} must not be in an {scheme}:// URL (URLs end up in logs); pass credentials "
            f"{credentials_from}"
        )


def any_option(name: str, value: Any) -> Any:
    """Any value, unchanged (for keyword-only objects such as an SDK credential)."""
    return value


def text_option(name: str, value: Any) -> str | None:
    """A string; empty means unset. A value of another type is refused without echoing it (a credential?)."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InvalidURLError(f"option {name} must be a string")
    return value


def number_option(kind: type[int] | type[float], minimum: float) -> Converter:
    """A converter to an exact ``kind`` (no rounding, no booleans) of at least ``minimum``."""

    def convert(name: str, value: Any) -> Any:
        try:
            number = kind(value)
            exact = not isinstance(value, bool) and number == float(value)
        except (TypeError, ValueError):
            exact = False
        if not exact or number < minimum:
            raise InvalidURLError(f"option {name}={value!r} must be {_KINDS[kind]} >= {minimum:g}")
        return number

    return convert


def flag_option(name: str, value: Any) -> bool:
    """A boolean, or its usual spellings in a URL: 1/0, true/false, yes/no, on/off."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise InvalidURLError(f"option {name}={value!r} must be true or false")
