"""The plugin-author API: everything a backend package may import from tickstore_core.

This is the contract. A backend imports only the names listed in ``__all__`` here (through
``from tickstore_core.plugin import ...``); anything else in ``tickstore_core`` is internal and may
change in any release. What is here:

- the backend contract: :class:`Backend`, :class:`ObjectMeta`, :class:`IfMatch`, :data:`PutMode`
  and :func:`check_key` (see :mod:`tickstore_core.backend`);
- registration: :class:`BackendSpec` and the :data:`hookimpl` marker for the
  ``tickstore_backends`` hook (entry-point group ``tickstore.backends``);
- options: the :class:`BackendOptions` base, :func:`option` to declare a field, the converters
  :func:`text_option`, :func:`number_option`, :func:`flag_option` and :func:`any_option`,
  :func:`redact_secrets`, and :func:`split_url` / :func:`split_bucket_url` to take a URL apart
  (see :mod:`tickstore_core.options`);
- the errors a backend raises: :class:`StorageError` and its subclasses, :class:`InvalidURLError`,
  :class:`InvalidKeyError`, :class:`InvalidInputError`, :class:`ConfigError`.

The conformance suites a backend's tests run live in :mod:`tickstore_core.testing`
(:class:`~tickstore_core.testing.BackendConformance` for the byte-level contract,
:class:`~tickstore_core.testing.StoreConformance` for a whole store on the backend); they are
imported from there, by tests only, because they need pandas and pytest.
"""

from __future__ import annotations

from .backend import Backend, IfMatch, ObjectMeta, PutMode, check_key
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
    "flag_option",
    "hookimpl",
    "number_option",
    "option",
    "redact_secrets",
    "split_bucket_url",
    "split_url",
    "text_option",
]
