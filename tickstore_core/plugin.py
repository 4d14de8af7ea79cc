"""The plugin-author API: everything a backend package may import from tickstore_core.

This is the contract. A backend imports only the names listed in ``__all__`` here (through
``from tickstore_core.plugin import ...``); anything else in ``tickstore_core`` is internal and may
change in any release. What is here:

- the backend contract: [`Backend`][tickstore_core.plugin.Backend],
  [`ObjectMeta`][tickstore_core.plugin.ObjectMeta], [`IfMatch`][tickstore_core.plugin.IfMatch],
  `PutMode`, [`check_key`][tickstore_core.plugin.check_key] and
  [`check_range`][tickstore_core.plugin.check_range] (for an override of `Backend.get_range`);
- registration: [`BackendSpec`][tickstore_core.plugin.BackendSpec] and the
  [`hookimpl`][tickstore_core.plugin.hookimpl] marker for the
  [`tickstore_backends`][tickstore_core.plugins.TickstoreSpecs.tickstore_backends] hook
  (entry-point group ``tickstore.backends``);
- options: the [`BackendOptions`][tickstore_core.options.BackendOptions] base,
  [`option`][tickstore_core.options.option] to declare a field, the converters `text_option`,
  `number_option`, `flag_option` and `any_option`, `redact_secrets`, and
  [`split_url`][tickstore_core.options.split_url] /
  [`split_bucket_url`][tickstore_core.options.split_bucket_url] to take a URL apart;
- the errors a backend raises: `StorageError` and its subclasses, `InvalidURLError`,
  `InvalidKeyError`, `InvalidInputError`, `ConfigError`.

The conformance suites a backend's tests run live in `tickstore_core.testing`
([`BackendConformance`][tickstore_core.testing.BackendConformance] for the byte-level contract,
[`StoreConformance`][tickstore_core.testing.StoreConformance] for a whole store on the backend);
they are imported from there, by tests only, because they need pandas and pytest.

Examples
--------
A backend package's module imports only from here:

>>> from tickstore_core.plugin import Backend, BackendOptions, ObjectMeta, check_key, split_url
"""

from __future__ import annotations

from .backend import Backend, IfMatch, ObjectMeta, PutMode, check_key, check_range
from .errors import (
    BackendError,
    BackendPermissionError,
    ConfigError,
    InvalidInputError,
    InvalidKeyError,
    InvalidURLError,
    ObjectExistsError,
    ObjectNotFoundError,
    PreconditionFailedError,
    StorageError,
    StoreNotFoundError,
)
from .options import (
    BackendOptions,
    Converter,
    URLParts,
    any_option,
    flag_option,
    number_option,
    option,
    redact_secrets,
    split_bucket_url,
    split_url,
    text_option,
)
from .plugins import BackendSpec, hookimpl

__all__ = [
    "Backend",
    "BackendError",
    "BackendOptions",
    "BackendPermissionError",
    "BackendSpec",
    "ConfigError",
    "Converter",
    "IfMatch",
    "InvalidInputError",
    "InvalidKeyError",
    "InvalidURLError",
    "ObjectExistsError",
    "ObjectMeta",
    "ObjectNotFoundError",
    "PreconditionFailedError",
    "PutMode",
    "StorageError",
    "StoreNotFoundError",
    "URLParts",
    "any_option",
    "check_key",
    "check_range",
    "flag_option",
    "hookimpl",
    "number_option",
    "option",
    "redact_secrets",
    "split_bucket_url",
    "split_url",
    "text_option",
]
