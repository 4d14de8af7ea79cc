"""Backend options, for the core and for backend plugins: one declarative base and its converters.

A backend declares its options as a frozen dataclass subclassing `BackendOptions`, each
field made with `option` (a converter, a default, and whether it is a secret). The base
parses them from the URL query and keyword arguments (a keyword wins), refuses unknown names and
any secret in the URL (URLs end up in logs; the message names the option and never echoes its
value), hides secrets from ``repr`` and lists their values so messages can be scrubbed of them.
`split_url` and `split_bucket_url` take a backend URL apart the same way everywhere.

Keyword values arrive typed; URL query values arrive as strings. Each converter takes the option's
name (for the message) and the value, and raises `InvalidURLError` saying what it expects.
"""

from __future__ import annotations

import dataclasses
import re
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
    "checked_number",
    "flag_option",
    "number_option",
    "option",
    "redact_secrets",
    "split_bucket_url",
    "split_url",
    "text_option",
]

Converter = Callable[[str, Any], Any]
"""An option's converter: ``convert(name, value)`` returns the value as its type or raises `InvalidURLError`."""
_N = TypeVar("_N", int, float)
_KINDS = {int: "an integer", float: "a number"}
_CONVERT = "tickstore_convert"
_SECRET = "tickstore_secret"
_Options = TypeVar("_Options", bound="BackendOptions")
OPTION_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
"""What an option's name may look like; anything else given as a name is never echoed (a pasted credential?)."""


def option(convert: Converter, default: Any = None, *, secret: bool = False) -> Any:
    """A field of a `BackendOptions` subclass: its converter, its default, whether it is a secret.

    A secret is accepted only as a keyword (never in the URL query) and left out of ``repr``.

    Parameters
    ----------
    convert : Converter
        Turns the given value (a string from the URL query, or a keyword's value) into the
        option's type: `text_option`, `flag_option`, `any_option`, ``number_option(int, 1)``
        or a function of your own taking ``(name, value)``.
    default : object, optional
        The value when the option is not given (None by default).
    secret : bool, default False
        A credential: refused in the URL, hidden from ``repr``, scrubbed from messages by
        `BackendOptions.redact`.

    Returns
    -------
    dataclasses.Field
        The field, to assign in the class body.

    Examples
    --------
    >>> from dataclasses import dataclass
    >>> from tickstore_core.plugin import BackendOptions, number_option, option, text_option
    >>> @dataclass(frozen=True)
    ... class MyOptions(BackendOptions):
    ...     backend = "mystore"
    ...     scheme = "mystore"
    ...     timeout: float = option(number_option(float, 0), 30.0)
    ...     token: str | None = option(text_option, secret=True)
    >>> MyOptions.parse({"timeout": "5"}, {"token": "s3cr3t-token"})
    MyOptions(timeout=5.0)
    """
    return dataclasses.field(default=default, repr=not secret, metadata={_CONVERT: convert, _SECRET: secret})


@dataclass(frozen=True)
class BackendOptions:
    """Base of a backend's options: subclasses only declare fields (with `option`) and these names.

    Subclass it as a frozen dataclass; `parse` then reads the options from the URL query and
    keywords, refusing unknown names and secrets in the URL. Override `check` for rules across
    options and `secrets` if secrets hide inside other values.

    Attributes
    ----------
    backend : str
        The backend's name in messages (``"s3"``).
    scheme : str
        Its URL scheme, in messages (``"s3"``).
    credentials_from : str
        Where credentials go instead of the URL, completing "pass credentials ..." in the
        message refusing one in the URL (default ``"as keyword options"``).

    Examples
    --------
    >>> from dataclasses import dataclass
    >>> from tickstore_core.plugin import BackendOptions, number_option, option, text_option
    >>> @dataclass(frozen=True)
    ... class MyOptions(BackendOptions):
    ...     backend = "mystore"
    ...     scheme = "mystore"
    ...     credentials_from = "as the token= keyword or MYSTORE_TOKEN"
    ...     timeout: float = option(number_option(float, 0), 30.0)
    ...     token: str | None = option(text_option, secret=True)
    >>> options = MyOptions.parse({"timeout": "5"}, {"token": "s3cr3t-token"})
    >>> options.timeout, options.redact("denied for s3cr3t-token")
    (5.0, 'denied for ***')
    """

    backend: ClassVar[str] = ""
    scheme: ClassVar[str] = ""
    credentials_from: ClassVar[str] = "as keyword options"

    @classmethod
    def names(cls) -> list[str]:
        """Every option, in declaration order.

        Returns
        -------
        list of str
            The field names: the options `parse` accepts.

        Examples
        --------
        >>> MyOptions.names()  # doctest: +SKIP
        ['timeout', 'token']
        """
        return [f.name for f in fields(cls)]

    @classmethod
    def secret_names(cls) -> tuple[str, ...]:
        """The options that are credentials (declared with ``option(..., secret=True)``).

        Returns
        -------
        tuple of str
            Their names.

        Examples
        --------
        >>> MyOptions.secret_names()  # doctest: +SKIP
        ('token',)
        """
        return tuple(f.name for f in fields(cls) if f.metadata.get(_SECRET))

    @classmethod
    def parse(cls: type[_Options], query: Mapping[str, str], keywords: Mapping[str, Any]) -> _Options:
        """Options from the URL query and keyword arguments, converted and checked.

        A keyword wins over the same option in the query.

        Parameters
        ----------
        query : mapping of str to str
            The URL query's options, for example ``split_url(url).query``.
        keywords : mapping of str to object
            The keyword options `Backend.from_url` received.

        Returns
        -------
        BackendOptions
            An instance of the subclass.

        Raises
        ------
        InvalidURLError
            An option is unknown (the message lists the valid ones), a secret is in the query
            (not echoed), a converter refuses a value, or `check` refuses the combination.
        InvalidOptionError
            The same for an option given as a keyword (a subclass of `InvalidURLError`).

        Examples
        --------
        >>> parts = split_url("mystore://host/db?timeout=5")  # doctest: +SKIP
        >>> MyOptions.parse(parts.query, {"token": token})  # doctest: +SKIP
        MyOptions(timeout=5.0)
        """
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
        """Rules across options, after each was converted; raise `InvalidURLError` to refuse.

        The default accepts everything; `parse` calls it last.

        Raises
        ------
        InvalidURLError
            The options cannot be used together (say which, and what to give instead).

        Examples
        --------
        >>> def check(self) -> None:  # doctest: +SKIP
        ...     if self.account_url and self.connection_string:
        ...         raise InvalidURLError("give account_url or connection_string, not both")
        """

    def given(self) -> dict[str, Any]:
        """The options that differ from the defaults, secrets included (to reopen a pickled backend).

        Returns
        -------
        dict
            Option name to value, for ``from_url(url, **options.given())``.

        Examples
        --------
        >>> MyOptions.parse({"timeout": "5"}, {}).given()  # doctest: +SKIP
        {'timeout': 5.0}
        """
        defaults = type(self)()
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        return {name: value for name, value in values.items() if value != getattr(defaults, name)}

    def secrets(self) -> list[str]:
        """The credential values, so text can be scrubbed of them (not 1-3 characters: they would maul words).

        Override it when secrets hide inside other values (a connection string's account key).

        Returns
        -------
        list of str
            The values of the secret options that are strings of 4 characters or more.

        Examples
        --------
        >>> MyOptions.parse({}, {"token": "s3cr3t-token"}).secrets()  # doctest: +SKIP
        ['s3cr3t-token']
        """
        found = (getattr(self, name) for name in self.secret_names())
        return [value for value in found if isinstance(value, str) and len(value) >= 4]

    def redact(self, text: str) -> str:
        """``text`` with every secret of these options replaced by ``***``.

        Use it on SDK messages before putting them in an error.

        Parameters
        ----------
        text : str
            Any text, such as an SDK error message.

        Returns
        -------
        str
            The text with each of `secrets` replaced by ``***``.

        Examples
        --------
        >>> options.redact("403: token s3cr3t-token expired")  # doctest: +SKIP
        '403: token *** expired'
        """
        return redact_secrets(text, self.secrets())


def redact_secrets(text: str, secrets: Iterable[str]) -> str:
    """``text`` with each of ``secrets`` (longest first) replaced by ``***``.

    Parameters
    ----------
    text : str
        Any text, such as an SDK error message.
    secrets : iterable of str
        The values to hide.

    Returns
    -------
    str
        The text with every occurrence of each secret replaced by ``***``.

    Examples
    --------
    >>> from tickstore_core.plugin import redact_secrets
    >>> redact_secrets("AccountKey=abc123xyz;", ["abc123xyz"])
    'AccountKey=***;'
    """
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


class URLParts(NamedTuple):
    """A backend URL taken apart: lowercased scheme, network location, path and query options.

    Attributes
    ----------
    scheme : str
        The scheme, lower-cased (``"s3"``).
    netloc : str
        The network location: a bucket, a container, a host (``""`` for ``file:///path``).
    path : str
        The path, with its leading ``/``.
    query : dict of str to str
        The query's options as strings, blank values kept.

    Examples
    --------
    >>> from tickstore_core.plugin import split_url
    >>> split_url("S3://bucket/prefix?region=eu-west-1").netloc
    'bucket'
    """

    scheme: str
    netloc: str
    path: str
    query: dict[str, str]


def split_url(url: str) -> URLParts:
    """Take a backend URL apart; the query becomes a dict of strings (blank values kept).

    Parameters
    ----------
    url : str
        The URL `Backend.from_url` received.

    Returns
    -------
    URLParts
        Scheme (lower-cased), network location, path and query options.

    Examples
    --------
    >>> from tickstore_core.plugin import split_url
    >>> split_url("sqlite:///data/store.db?timeout=5")
    URLParts(scheme='sqlite', netloc='', path='/data/store.db', query={'timeout': '5'})
    """
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    return URLParts(parts.scheme.lower(), parts.netloc, parts.path, query)


def split_bucket_url(url: str, schemes: Sequence[str], form: str) -> URLParts:
    """Split an object store's ``scheme://bucket/prefix?options`` URL; refuse user info and a bad prefix.

    ``form`` (``"s3://bucket/prefix"``) is how the message shows a valid URL; the refused URL is not
    echoed beyond its scheme, since user info may hold a credential.

    Parameters
    ----------
    url : str
        The URL `Backend.from_url` received.
    schemes : sequence of str
        The schemes the backend accepts (``("s3",)``).
    form : str
        A valid URL's shape, for the message.

    Returns
    -------
    URLParts
        The parts: ``netloc`` is the bucket, ``path`` the prefix (a valid key, or empty).

    Raises
    ------
    InvalidURLError
        The scheme is not one of ``schemes``, the URL holds user info, or the prefix is not a
        valid key.

    Examples
    --------
    >>> from tickstore_core.plugin import split_bucket_url
    >>> split_bucket_url("s3://ticks/phemex?region=eu-west-1", ("s3",), "s3://bucket/prefix")
    URLParts(scheme='s3', netloc='ticks', path='/phemex', query={'region': 'eu-west-1'})
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
        shown = [name for name in unknown if OPTION_NAME.fullmatch(name)]
        hidden = f"{', ' if shown else ''}a name that is no identifier (not shown)" if len(shown) < len(unknown) else ""
        raise InvalidURLError(
            f"unknown option(s) {', '.join(shown)}{hidden} for the {backend} backend; "
            f"valid options: {', '.join(valid) or 'none'}"
        )
    misplaced = sorted(set(in_url).intersection(secrets))
    if misplaced:
        raise InvalidURLError(
            f"{', '.join(misplaced)} must not be in an {scheme}:// URL (URLs end up in logs); pass credentials "
            f"{credentials_from}"
        )


def any_option(name: str, value: Any) -> Any:
    """Any value, unchanged (for keyword-only objects such as an SDK credential).

    Parameters
    ----------
    name : str
        The option's name (unused).
    value : object
        The value given.

    Returns
    -------
    object
        ``value`` itself.

    Examples
    --------
    >>> from tickstore_core.plugin import any_option
    >>> any_option("credential", 42)
    42
    """
    return value


def text_option(name: str, value: Any) -> str | None:
    """A string; empty means unset. A value of another type is refused without echoing it (a credential?).

    Parameters
    ----------
    name : str
        The option's name, for the message.
    value : object
        The value given.

    Returns
    -------
    str or None
        The string, or None for None or ``""``.

    Raises
    ------
    InvalidURLError
        The value is not a string.

    Examples
    --------
    >>> from tickstore_core.plugin import text_option
    >>> text_option("region", "eu-west-1"), text_option("region", "")
    ('eu-west-1', None)
    """
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InvalidURLError(f"option {name} must be a string")
    return value


def number_option(kind: type[int] | type[float], minimum: float) -> Converter:
    """A converter to an exact ``kind`` (no rounding, no booleans) of at least ``minimum``.

    Parameters
    ----------
    kind : int or float
        The type to convert to.
    minimum : float
        The smallest value allowed.

    Returns
    -------
    Converter
        A converter taking ``(name, value)`` that raises `InvalidURLError` for a value that is
        not an exact ``kind`` or is below ``minimum``.

    Examples
    --------
    >>> from tickstore_core.plugin import number_option
    >>> retries = number_option(int, 0)
    >>> retries("retries", "3")
    3
    >>> retries("retries", "2.5")
    Traceback (most recent call last):
    tickstore_core.errors.InvalidURLError: option retries='2.5' must be an integer >= 0
    """

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
    """A boolean, or its usual spellings in a URL: 1/0, true/false, yes/no, on/off.

    Parameters
    ----------
    name : str
        The option's name, for the message.
    value : bool or str
        The value given.

    Returns
    -------
    bool
        The flag.

    Raises
    ------
    InvalidURLError
        The value is not a boolean or one of its spellings.

    Examples
    --------
    >>> from tickstore_core.plugin import flag_option
    >>> flag_option("anonymous", "yes"), flag_option("anonymous", False)
    (True, False)
    """
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise InvalidURLError(f"option {name}={value!r} must be true or false")


def checked_number(name: str, value: Any, kind: type[_N], *, minimum: float) -> _N | None:
    """A numeric option (None passes), or an `InvalidOptionError` saying what is allowed."""
    if value is None:
        return None
    wrong = (
        isinstance(value, bool) or not isinstance(value, (int, float)) or (kind is int and not isinstance(value, int))
    )
    if wrong or value < minimum or value != value:
        raise InvalidOptionError(
            f"{name} must be {'an integer' if kind is int else 'a number'} >= {minimum:g}, got {value!r}"
        )
    return kind(value)
