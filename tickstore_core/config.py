"""Opening a store: from a URL, a named store in the config file, or the defaults.

``open_store(target)`` accepts ``s3://bucket/db``, ``az://container/db``, ``file:///data/db``, a
path, ``memory://name``, any scheme an installed plugin registers, or the name of a store in the
config file. Without a target it uses ``TICKSTORE_URL``, then the config file's ``default`` store,
then the embedded default: the local HDF5 store in the user's data directory.

The config file is TOML, at ``TICKSTORE_CONFIG`` or ``~/.config/tickstore/config.toml``::

    default = "phemex"

    [stores.phemex]
    url = "az://ticks/phemex"
    cache_size = "20GiB"
    tz = "UTC"
    account_url = "https://myaccount.blob.core.windows.net"   # any non-secret backend option

Credentials never go in URLs or in the config file: they come from the environment, the SDKs'
credential chains or keyword options, so URLs and configs can be logged and shared safely.
"""

from __future__ import annotations

import difflib
import logging
import os
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import platformdirs

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

from .backend import Backend
from .errors import BackendError, ConfigError, InvalidOptionError, InvalidURLError, TickstoreError
from .options import OPTION_NAME, flag_option
from .plugins import BackendRegistry, get_registry
from .urls import looks_like_url, looks_secret, parse_url, unpadded

if TYPE_CHECKING:
    from .cache import ObjectCache
    from .store import Tickstore

__all__ = [
    "build_cache",
    "config_path",
    "default_cache_dir",
    "default_store_path",
    "load_config",
    "open_store",
    "parse_url",
    "resolve_target",
]

log = logging.getLogger("tickstore")

STORE_OPTIONS = {
    "cache": bool,
    "cache_dir": str,
    "cache_size": str,
    "timestamp_column": str,
    "tz": str,
    "index_ttl": float,
    "max_workers": int,
    "progress": bool,
    "allow_pickle": bool,
}
_KINDS = {bool: "true or false", int: "an integer", float: "a number", str: "a string"}


def config_path() -> Path:
    """Where the config file is read from: ``TICKSTORE_CONFIG``, or ``config.toml`` in the user's config directory.

    The file need not exist.

    Returns
    -------
    pathlib.Path
        ``$TICKSTORE_CONFIG`` (``~`` expanded) when set, else for example
        ``~/.config/tickstore/config.toml`` on Linux.

    Examples
    --------
    >>> from tickstore_core.config import config_path
    >>> config_path()  # doctest: +SKIP
    PosixPath('/home/me/.config/tickstore/config.toml')
    """
    configured = os.environ.get("TICKSTORE_CONFIG")
    if configured:
        return Path(configured).expanduser()
    return Path(platformdirs.user_config_dir("tickstore")) / "config.toml"


def _opened(backend_class: Any, url: str, options: dict[str, Any]) -> Backend:
    """``backend_class.from_url(url, **options)``; a plugin's own failure, or a result that is no backend,
    named as the plugin's (our errors, which explain themselves, pass as they are)."""
    name = getattr(backend_class, "name", backend_class.__name__)
    try:
        backend = backend_class.from_url(url, **options)
    except TickstoreError:
        raise
    except Exception as exc:
        raise BackendError(
            f"backend {name!r} failed to open ({type(exc).__name__}: {exc}); see its documentation"
        ) from exc
    if not isinstance(backend, Backend):
        raise BackendError(f"backend {name!r}'s from_url returned {type(backend).__name__}, not a Backend")
    return backend


def load_config(path: Path | None = None) -> dict[str, Any]:
    """The parsed config file, checked: a ``default`` and ``[stores.NAME]`` tables with a ``url`` each.

    Parameters
    ----------
    path : pathlib.Path, optional
        The file to read; by default `config_path()`.

    Returns
    -------
    dict
        The TOML document as a dict (``{}`` when the file does not exist).

    Raises
    ------
    ConfigError
        The file is not valid TOML, a store has no ``url``, a value has the wrong type, or a key
        looks like a credential (``secret``, ``password``, ``token`` ...): keep secrets in the
        environment or the SDK's credential chain.

    Examples
    --------
    >>> from tickstore_core.config import load_config
    >>> load_config()["stores"]["phemex"]["url"]  # doctest: +SKIP
    'az://ticks/phemex'
    """
    path = path or config_path()
    if not path.exists():
        return {}
    try:
        config: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))  # TOML is UTF-8
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read the tickstore config {path}: {exc}") from exc
    default = config.get("default")
    if default is not None and (not isinstance(default, str) or not default.strip()):
        raise ConfigError(
            f'{path}: default = {default!r} must be a store name or URL in quotes, e.g. default = "phemex"'
        )
    stores = config.get("stores", {})
    if not isinstance(stores, dict) or not all(isinstance(v, dict) for v in stores.values()):
        raise ConfigError(f"{path}: [stores.NAME] entries must be tables with a url")
    for name, settings in stores.items():
        if "url" not in settings:
            raise ConfigError(f"{path}: [stores.{name}] has no url")
        url = settings["url"]
        if not isinstance(url, str) or not url.strip():
            raise ConfigError(
                f"{path}: [stores.{name}] url = {url!r} must be a URL or path in quotes, "
                'e.g. url = "s3://bucket/db" or url = "/data/ticks"'
            )
        for key in settings:
            if looks_secret(key):
                raise ConfigError(
                    f"{path}: [stores.{name}] {key} looks like a credential; keep secrets in the environment "
                    "or the SDK's credential chain, not in the config file"
                )
    return config


def resolve_target(target: str | os.PathLike[str] | None) -> tuple[str, dict[str, Any]]:
    """The URL and configured options that ``open_store(target)`` opens.

    A URL or a path (anything with ``://``, ``/``, ``\\``, ``~`` or a leading ``.``) is taken as
    it is; any other string is the name of a store in the config file. None means
    ``TICKSTORE_URL``, then the config file's ``default``, then `default_store_path()`.

    Parameters
    ----------
    target : str, os.PathLike or None
        A store URL, a path, a configured store's name, or None for the default.

    Returns
    -------
    tuple of (str, dict)
        The URL, and the options the config file sets for a named store (``{}`` otherwise).

    Raises
    ------
    ConfigError
        ``target`` names no store in the config file (the message lists the configured ones), or
        the config file is invalid.
    InvalidURLError
        ``target`` is not a string or a path.

    Examples
    --------
    >>> from tickstore_core.config import resolve_target
    >>> resolve_target("s3://bucket/db")
    ('s3://bucket/db', {})
    >>> resolve_target("phemex")  # doctest: +SKIP
    ('az://ticks/phemex', {'cache_size': '20GiB', 'tz': 'UTC'})
    """
    url, settings, _ = _resolved(target)
    return url, settings


def _resolved(target: str | os.PathLike[str] | None) -> tuple[str, dict[str, Any], str]:
    """`resolve_target`'s URL and options, and where the options came from ("" unless a configured store)."""
    config: dict[str, Any] | None = None
    if isinstance(target, os.PathLike):
        target = os.fspath(target)
    if target is not None and not isinstance(target, str):
        raise InvalidURLError(
            f"a store must be given as a URL, a path or a configured name (a string), got {type(target).__name__}"
        )
    if target is None:
        target = os.environ.get("TICKSTORE_URL") or None  # set but empty: the default, as in shells
        if target is None:
            config = load_config()
            default = config.get("default")
            target = unpadded(default, f"default in {config_path()}") if default else str(default_store_path())
        else:
            target = unpadded(target, "TICKSTORE_URL")
    if "://" in target or any(c in target for c in "/\\~") or target.startswith("."):
        return target, {}, ""
    config = load_config() if config is None else config
    stores: dict[str, dict[str, Any]] = config.get("stores", {})
    if target not in stores:
        known = ", ".join(sorted(stores)) or "none"
        raise ConfigError(
            f"no store named {target!r} in {config_path()} (configured: {known}); to open a directory "
            f"in the current directory write ./{target}"
        )
    settings = dict(stores[target])
    url = unpadded(str(settings.pop("url")), f"[stores.{target}] url in {config_path()}")
    return _beside_config(url), settings, f"[stores.{target}] in {config_path()}"


def _beside_config(url: str) -> str:
    """A configured store's ``url``, a relative path resolved against the config file's directory (not the
    current one, so the same name opens the same store wherever a script runs); anything else as it is."""
    if looks_like_url(url):
        return url  # a URL, or one parse_url refuses
    return url if Path(url.partition("?")[0]).expanduser().is_absolute() else str(config_path().absolute().parent / url)


_PADDED = "starts or ends with a space, tab or line break, which would name another directory than meant; remove it"


def default_store_path() -> Path:
    """Where the embedded default store lives: ``<user data dir>/tickstore/default``.

    `open_store()` opens it (a local HDF5 store, created on first write) when neither
    ``TICKSTORE_URL`` nor the config file's ``default`` names another store.

    Returns
    -------
    pathlib.Path
        For example ``~/.local/share/tickstore/default`` on Linux.

    Examples
    --------
    >>> import tickstore_core as ts
    >>> ts.default_store_path()  # doctest: +SKIP
    PosixPath('/home/me/.local/share/tickstore/default')
    """
    return Path(platformdirs.user_data_dir("tickstore")) / "default"


def _convert(name: str, value: Any, source: str | None) -> Any:
    """A store option given as a string as its type (others pass: the store checks them); ``source`` is
    the config file's store it came from, "" for a keyword, None for the URL query."""
    kind = STORE_OPTIONS[name]
    if not isinstance(value, str):
        return value
    try:
        return flag_option(name, value) if kind is bool else kind(value)
    except (TypeError, ValueError):  # flag_option's InvalidURLError is a ValueError
        message = f"option {name}={value!r} must be {_KINDS.get(kind, f'a {kind.__name__}')}"
    if source is None:
        raise InvalidURLError(message) from None
    raise InvalidOptionError(f"{source}: {message}" if source else message) from None


def _sourced(error: TickstoreError, from_config: dict[str, Any], where: str) -> TickstoreError:
    """``error`` with the config file's store named in front when it refuses a value set there (the store and
    the backend check values, and their messages name the option, or quote a text value, but not the file)."""
    message = str(error)
    named = any(
        re.search(rf"\b{re.escape(name)}\b", message) or (isinstance(value, str) and repr(value) in message)
        for name, value in from_config.items()
    )
    return type(error)(f"{where}: {message}") if where and named and not message.startswith(where) else error


def _unknown_option(exc: InvalidURLError, given: dict[str, Any]) -> InvalidOptionError:
    """A backend's refusal of unknown options, completed with the store options and a close match."""
    refused = str(exc).partition("valid options")[0]
    guesses = [
        f"{match[0]} for {name}"
        for name in given
        if re.search(rf"\b{re.escape(name)}\b", refused)
        and (match := difflib.get_close_matches(name, STORE_OPTIONS, 1))
    ]
    guess = f"; did you mean {', '.join(guesses)}?" if guesses else ""
    return InvalidOptionError(f"{exc}; store options: {', '.join(STORE_OPTIONS)}{guess}")


def open_store(
    url: str | os.PathLike[str] | None = None, *, registry: BackendRegistry | None = None, **options: Any
) -> Tickstore:
    """Open the tick store at ``url``: a URL, a path or a configured store's name.

    Without ``url`` it opens ``TICKSTORE_URL``, else the config file's ``default`` store, else the
    embedded default, a local HDF5 store at `default_store_path()`. A name without ``/`` is a
    store in the config file (``~/.config/tickstore/config.toml`` or ``TICKSTORE_CONFIG``); write
    ``./name`` for a directory of that name. Credentials never go in the URL: they come from the
    environment, the SDK's credential chain, or keyword options.

    Parameters
    ----------
    url : str or os.PathLike, optional
        ``s3://bucket/db``, ``az://container/db``, ``file:///data/db``, a path,
        ``memory://name``, any scheme an installed backend plugin registers, or a configured
        store's name. Options may follow as a query: ``s3://bucket/db?cache_size=20GiB``.
    registry : BackendRegistry, optional
        The backends to choose from; by default every installed plugin's.
    **options
        Store options: ``timestamp_column`` (the index name of stored frames, ``"time"`` by
        default), ``tz`` (the IANA time zone that decides a tick's trading day, ``"UTC"``),
        ``cache`` (the local read cache, on for remote stores), ``cache_dir``, ``cache_size``
        (``"20GiB"``; 4 GiB by default), ``index_ttl`` (seconds an index is reused before it
        is revalidated, 5), ``max_workers`` (concurrent partition reads: 4 local, 16 remote),
        ``progress`` (a progress bar over many partitions; by default only in an interactive
        session) and ``allow_pickle`` (read legacy pickled HDF5 objects: only for files you
        trust). Every other option goes to the backend (``endpoint_url``, ``account_url``,
        ``credential`` ...), which refuses those it does not know. A keyword wins over the same
        option in the URL or the config file.

    Returns
    -------
    Tickstore
        The open store; close it, or use it as a context manager.

    Raises
    ------
    InvalidURLError
        The URL is malformed, holds credentials, or has an unknown or invalid option.
    InvalidOptionError
        A keyword or configured option is unknown or invalid (an `InvalidURLError` too).
    UnknownBackendError
        No installed backend handles the scheme (install e.g. ``tickstore[s3]``).
    BackendUnavailableError
        The backend is registered but its SDK cannot be imported.
    ConfigError
        A store name is not in the config file, or ``tz``/``timestamp_column`` contradict what
        the store recorded.

    Examples
    --------
    >>> import tickstore_core as ts
    >>> store = ts.open_store("memory://example")
    >>> store
    <Tickstore memory://example (arrow, tz=UTC, timestamp_column='time')>
    >>> store.close()
    >>> ts.open_store("s3://ticks/phemex?cache_size=20GiB", region="eu-west-1")  # doctest: +SKIP
    >>> ts.open_store()  # the default store  # doctest: +SKIP
    """
    from .store import Tickstore  # pandas and pyarrow load only when a store is opened

    url, configured, where = _resolved(url)
    scheme, base, query = parse_url(url)
    if not all(OPTION_NAME.fullmatch(name) for name in [*configured, *options]):
        raise InvalidOptionError(
            f"an option given as a keyword{f' or in {where}' if where else ''} has a name that is no identifier "
            "(not shown: it may be a credential); options are named like cache_size or endpoint_url"
        )
    merged: dict[str, Any] = {**configured, **query, **options}
    sources = {**dict.fromkeys(configured, where), **dict.fromkeys(query), **dict.fromkeys(options, "")}
    store_options = {n: _convert(n, merged.pop(n), sources[n]) for n in list(merged) if n in STORE_OPTIONS}
    cache_options = {name: store_options.pop(name, None) for name in ("cache", "cache_dir", "cache_size")}
    backend_class = (registry or get_registry()).backend_class(scheme)
    from_config = {name: value for name, value in {**configured, **query}.items() if name not in options}
    try:
        backend = _opened(backend_class, base, merged)
    except TickstoreError as exc:
        if isinstance(exc, InvalidURLError) and "unknown option" in str(exc):
            raise _unknown_option(exc, merged) from None
        raise _sourced(exc, from_config, where) from exc.__cause__
    cache = None
    try:
        cache = build_cache(**cache_options, local=backend.is_local)
        store = Tickstore(backend, cache=cache, **store_options)
    except BaseException as exc:
        backend.close()
        if cache is not None:
            cache.close()
        if isinstance(exc, TickstoreError):
            raise _sourced(exc, from_config, where) from exc.__cause__
        raise
    log.info("opened %s", store)
    return store


def default_cache_dir() -> Path:
    """``TICKSTORE_CACHE_DIR``, or the per-user cache directory (e.g. ``~/.cache/tickstore``).

    Returns
    -------
    pathlib.Path

    Examples
    --------
    >>> default_cache_dir()  # doctest: +SKIP
    PosixPath('/home/me/.cache/tickstore')
    """
    configured = os.environ.get("TICKSTORE_CACHE_DIR")
    if configured and configured != configured.strip():
        raise ConfigError(f"TICKSTORE_CACHE_DIR {_PADDED}")
    return Path(configured).expanduser() if configured else Path(platformdirs.user_cache_dir("tickstore"))


def build_cache(
    cache: bool | ObjectCache | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    cache_size: int | str | None = None,
    *,
    local: bool,
) -> ObjectCache | None:
    """The local read cache a store opens with, from its options, then the environment, then the defaults.

    Parameters
    ----------
    cache : bool or ObjectCache, optional
        True or False turns the cache on or off; None (the default) uses it for remote backends
        and not for local ones; an `ObjectCache` is used as it is (one cache for several stores).
    cache_dir : str or path, optional
        The cache's directory; else ``TICKSTORE_CACHE_DIR``, else the per-user cache directory.
    cache_size : int or str, optional
        Its size limit (``"20GiB"``); else ``TICKSTORE_CACHE_SIZE``, else 4 GiB.
    local : bool
        Whether the backend is on this machine.

    Returns
    -------
    ObjectCache or None
        None when the cache is off.

    Raises
    ------
    ConfigError
        An option has the wrong type, the size cannot be read, or the directory starts or ends with
        a blank (the message names the option or the environment variable).

    Examples
    --------
    >>> build_cache(cache=False, local=False) is None
    True
    """
    from .cache import DEFAULT_CACHE_SIZE, ObjectCache, parse_size  # diskcache and pyarrow load only when a store opens

    if isinstance(cache, ObjectCache):  # one cache shared by several stores
        return cache
    if cache is not None and not isinstance(cache, bool):
        raise ConfigError(f"cache must be True, False or an ObjectCache, got {type(cache).__name__}")
    if cache_dir is not None and not isinstance(cache_dir, (str, os.PathLike)):
        raise ConfigError(f"cache_dir must be a directory path, got {type(cache_dir).__name__}")
    if cache_dir is not None and (not (path := os.fspath(cache_dir)) or "\0" in path):
        raise ConfigError(
            f"cache_dir={path!r} is not a directory path; give one, or leave it out for "
            "TICKSTORE_CACHE_DIR or the per-user cache directory"
        )
    if cache_dir is not None and os.fspath(cache_dir) != os.fspath(cache_dir).strip():
        raise ConfigError(f"cache_dir {_PADDED}")
    if cache_size is not None:
        try:
            parse_size(cache_size)  # a bad size is an error whether or not this store uses a cache
        except ConfigError as exc:
            raise InvalidOptionError(str(exc)) from None
    if cache is False or (cache is None and local):
        return None
    size = cache_size if cache_size is not None else os.environ.get("TICKSTORE_CACHE_SIZE") or DEFAULT_CACHE_SIZE
    if cache_size is None:
        try:
            parse_size(size)
        except ConfigError as exc:
            raise ConfigError(f"TICKSTORE_CACHE_SIZE: {exc}; correct or unset the variable") from None
    return ObjectCache(Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir(), size)
