"""Exception classes of tickstore.

Every error the library raises is a `TickstoreError`. Where a builtin exception means the
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
    "UnknownSymbolWarning",
    "UnreadableIndexWarning",
    "UnsafeDataError",
]


class TickstoreError(Exception):
    """Root of every error tickstore raises: catch it to handle any of them; the message says what to do."""


# --- configuration -------------------------------------------------------------------------------


class ConfigError(TickstoreError, ValueError):
    """The store cannot be opened as configured (option, config file, store setting); fix what the message names."""


class InvalidURLError(ConfigError):
    """A store URL or one of its options is malformed or not allowed; correct it as the message shows."""


class InvalidOptionError(InvalidURLError):
    """A keyword option of the store or its backend is unknown or invalid; use one the message lists."""


class UnknownBackendError(ConfigError):
    """No installed backend handles the URL scheme; install its package (``pip install "tickstore[s3]"``)."""


class BackendUnavailableError(ConfigError):
    """A backend is registered but cannot be imported (its SDK is missing?); install what the message names."""


class BackendConflictError(ConfigError):
    """Two installed plugins claim the same URL scheme; uninstall one, or choose with ``TICKSTORE_PLUGINS``."""


class MissingDependencyError(TickstoreError, ImportError):
    """A feature needs an optional package that is not installed; install the extra the message names."""


# --- input ---------------------------------------------------------------------------------------


class InvalidInputError(TickstoreError, ValueError):
    """An argument is invalid and nothing was written; correct the argument the message names."""


class InvalidSymbolError(InvalidInputError):
    """A symbol is empty, over 128 characters or has characters outside ``A-Za-z0-9._-+=@^~#!``; rename it."""


class InvalidTicksError(InvalidInputError):
    """A ticks DataFrame cannot be stored as given (no time index, no columns, ticks off the day); fix the frame."""


class InvalidTimeError(InvalidInputError):
    """A time, day or range is not understood or out of range; pass a timestamp, date or ``YYYY-MM-DD`` string."""


class TransactionTimeError(InvalidInputError):
    """An explicit ``as_of`` is not later than the partition's last change; replay changes in transaction-time order."""


class ColumnNotFoundError(InvalidInputError):
    """A requested column exists in none of the selected partitions; check its name against the stored columns."""


class InvalidKeyError(InvalidInputError):
    """An object key breaks the rules every backend relies on (see ``check_key``); use valid relative names."""


class SchemaError(TickstoreError, TypeError):
    """A column's type on one day cannot be combined with its type on another; cast it (see the schema policy)."""


# --- storage -------------------------------------------------------------------------------------


class StorageError(TickstoreError):
    """Reading from or writing to the backend failed; the subclass and the message say why."""


class ObjectNotFoundError(StorageError, FileNotFoundError):
    """An object the store needs does not exist in the backend; if it was deleted by hand, run ``tickstore fsck``."""


class ObjectExistsError(StorageError, FileExistsError):
    """A put with ``mode="create"`` found the object already there; the core retries or reports the conflict."""


class PreconditionFailedError(StorageError):
    """A conditional put lost: the object changed since its ETag was read (a backend raises it; the core retries)."""


class StoreNotFoundError(StorageError, FileNotFoundError):
    """The store's root (directory, bucket or container) does not exist; check the URL for a typo, or create it."""


class BackendPermissionError(StorageError, PermissionError):
    """The backend refused the request; check the credentials and their access rights."""


class BackendError(StorageError):
    """The backend could not be reached or failed; retry, and see the SDK error in ``__cause__``."""


class OfflineError(BackendError):
    """The backend is unreachable and the local cache cannot answer instead; retry when online, or prefetch first."""


class CorruptObjectError(StorageError):
    """An object's bytes do not match the checksum recorded at commit; run ``tickstore fsck`` and re-insert."""


class UnsafeDataError(StorageError):
    """An object can only be read by unpickling it; open with ``allow_pickle=True`` only if you trust its source."""


class CommitConflictError(StorageError):
    """A commit kept losing the compare-and-swap race to other writers and gave up; nothing was committed, so retry."""


class LegacyStoreError(TickstoreError):
    """A write to a store of serenity's tick store, which tickstore only reads; ``tickstore copy`` it to write."""


class UnknownLayoutError(ConfigError):
    """The location holds objects of neither a tickstore nor a serenity store; point the URL at a store."""


class StoreClosedError(TickstoreError):
    """The store was used after `close`; open a new one."""


# --- warnings ------------------------------------------------------------------------------------


class TickstoreWarning(UserWarning):
    """Root of every warning tickstore issues: filter it to silence or escalate them all."""


class CacheWarning(TickstoreWarning):
    """The local cache is unusable (full disk, read-only, damaged) and reads go uncached; free space or move it."""


class LegacyIndexWarning(TickstoreWarning):
    """A serenity store is read other than from its index alone; the message says which.

    Either it has no index (version times are derived from file modification times) or an older
    tickstore left its own indexes beside it (they are ignored).
    """


class OfflineWarning(TickstoreWarning):
    """The backend is unreachable and an answer comes from the local cache, so it may be stale; refresh when online."""


class UnreadableIndexWarning(TickstoreWarning):
    """A symbol's index cannot be read and a command over many symbols skipped it; run ``tickstore fsck`` on it."""


class UnknownSymbolWarning(TickstoreWarning):
    """A read over many symbols named symbols the store does not have; they read as empty (check the names)."""
