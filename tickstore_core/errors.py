"""Exception classes of tickstore.

Every error the library raises is a :class:`TickstoreError`. Where a builtin exception means the
same thing, the class also inherits it, so generic code can catch ``FileNotFoundError`` or
``ValueError`` without knowing tickstore. Messages say what went wrong and what to do next; they
never contain credentials.
"""

from __future__ import annotations

__all__ = [
    "BackendConflictError",
    "BackendError",
    "BackendPermissionError",
    "BackendUnavailableError",
    "CacheWarning",
    "ColumnNotFoundError",
    "CommitConflictError",
    "ConfigError",
    "CorruptObjectError",
    "InvalidInputError",
    "InvalidKeyError",
    "InvalidOptionError",
    "InvalidSymbolError",
    "InvalidTicksError",
    "InvalidTimeError",
    "InvalidURLError",
    "LegacyIndexWarning",
    "LegacyStoreError",
    "MissingDependencyError",
    "ObjectExistsError",
    "ObjectNotFoundError",
    "OfflineError",
    "OfflineWarning",
    "PreconditionFailedError",
    "SchemaError",
    "StorageError",
    "StoreClosedError",
    "StoreNotFoundError",
    "TickstoreError",
    "TickstoreWarning",
    "TransactionTimeError",
    "UnknownBackendError",
    "UnknownLayoutError",
    "UnreadableIndexWarning",
    "UnsafeDataError",
]


class TickstoreError(Exception):
    """Root of every error raised by tickstore."""


# --- configuration -------------------------------------------------------------------------------


class ConfigError(TickstoreError, ValueError):
    """The store cannot be opened as configured."""


class InvalidURLError(ConfigError):
    """A store URL or one of its options is malformed or not allowed."""


class InvalidOptionError(InvalidURLError):
    """A keyword option of the store or its backend is unknown or has a value it cannot take."""


class UnknownBackendError(ConfigError):
    """No installed backend handles the URL scheme."""


class BackendUnavailableError(ConfigError):
    """A backend is registered but cannot be loaded (for example its SDK is not installed)."""


class BackendConflictError(ConfigError):
    """Two installed backend plugins claim the same URL scheme."""


class MissingDependencyError(TickstoreError, ImportError):
    """A feature needs an optional package that is not installed; the message names the extra to install."""


# --- input ---------------------------------------------------------------------------------------


class InvalidInputError(TickstoreError, ValueError):
    """An argument is invalid; nothing was written."""


class InvalidSymbolError(InvalidInputError):
    """A symbol name is empty, too long, or contains characters that are not allowed."""


class InvalidTicksError(InvalidInputError):
    """A ticks DataFrame cannot be stored as given."""


class InvalidTimeError(InvalidInputError):
    """A time, day or time range is not understood or out of range."""


class TransactionTimeError(InvalidInputError):
    """An explicit transaction time would move a partition's history backwards."""


class ColumnNotFoundError(InvalidInputError):
    """A requested column exists in none of the selected partitions."""


class InvalidKeyError(InvalidInputError):
    """An object key does not follow the rules every backend relies on."""


class SchemaError(TickstoreError, TypeError):
    """A column's type on one day cannot be combined with its type on another (see the guide's schema policy)."""


# --- storage -------------------------------------------------------------------------------------


class StorageError(TickstoreError):
    """Reading from or writing to the backend failed."""


class ObjectNotFoundError(StorageError, FileNotFoundError):
    """The object does not exist in the backend."""


class ObjectExistsError(StorageError, FileExistsError):
    """A put with ``mode="create"`` found the object already there."""


class PreconditionFailedError(StorageError):
    """A conditional put lost: the object changed since its ETag was read."""


class StoreNotFoundError(StorageError, FileNotFoundError):
    """The store's root (directory, bucket or container) does not exist: a typo, not an empty store."""


class BackendPermissionError(StorageError, PermissionError):
    """The backend refused the request: check credentials and access rights."""


class BackendError(StorageError):
    """The backend could not be reached or failed; the SDK error is the ``__cause__``."""


class OfflineError(BackendError):
    """The backend is unreachable and the local cache cannot answer instead."""


class CorruptObjectError(StorageError):
    """An object's bytes do not match the checksum recorded when it was committed."""


class UnsafeDataError(StorageError):
    """An object could only be read by running code from it (for example unpickling)."""


class CommitConflictError(StorageError):
    """A commit kept losing the compare-and-swap race and gave up; nothing was committed."""


class LegacyStoreError(TickstoreError):
    """The store was written by serenity's tick store and tickstore only reads it; copy it to write."""


class UnknownLayoutError(ConfigError):
    """The location holds objects that are neither a tickstore store nor a serenity store."""


class StoreClosedError(TickstoreError):
    """The store was closed; open a new one."""


# --- warnings ------------------------------------------------------------------------------------


class TickstoreWarning(UserWarning):
    """Root of every warning tickstore issues."""


class CacheWarning(TickstoreWarning):
    """The local cache cannot be used (full disk, read-only or damaged); reads go to the backend uncached."""


class LegacyIndexWarning(TickstoreWarning):
    """A serenity store is read other than from its index alone.

    Either it has no index (version times are derived from file modification times) or an older
    tickstore left its own indexes beside it (they are ignored).
    """


class OfflineWarning(TickstoreWarning):
    """The backend is unreachable; an answer comes from the local cache and may be stale."""


class UnreadableIndexWarning(TickstoreWarning):
    """A symbol's index cannot be read; a command over many symbols skipped it and went on."""
