"""The two ways a version's objects are written before its index commit, chosen by the key layout.

`UploadThenCommit` (unique data keys): every object is uploaded once under a new key, then the
index is swapped with compare-and-swap; a crash between the two leaves only an orphan, which
`gc` removes. `WriteUnderLock` (version-named keys, the original tick store's layout): the file
name carries the version number, so each file is created inside the commit, under the symbol's
lock, never overwriting a file tickstore did not leave behind.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, TypeVar

from .bitemporal import next_version_number
from .errors import CommitConflictError, InvalidInputError, ObjectExistsError, SchemaError, TickstoreError
from .index import SymbolIndex
from .integrity import matches
from .layout import writer_token
from .writes import Encoded

if TYPE_CHECKING:
    from .engine import Engine, Finish

__all__ = ["UploadThenCommit", "WriteUnderLock"]

_T = TypeVar("_T")


class UploadThenCommit:
    """Upload each object under a new unique key, then commit the index change."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def write(self, symbol: str, encoded: list[Encoded], finish: Finish[_T]) -> _T:
        """Upload every object once under a new unique key, then commit; uncommitted objects are removed."""
        token = writer_token()
        keys = [
            self._engine.layout.data_key(symbol, e.day, -1, f"{token}-{i}", self._engine.codec.suffix)
            for i, e in enumerate(encoded)
        ]
        self._engine.map(lambda pair: self._upload(*pair), list(zip(keys, encoded, strict=True)), f"upload {symbol}")
        try:
            return self._engine.commit(symbol, lambda index: finish(index, keys))
        except (CommitConflictError, InvalidInputError, SchemaError):
            for key in keys:  # certainly not committed: do not leave orphans behind
                with contextlib.suppress(TickstoreError):
                    self._engine.backend.delete(key)
            raise

    def _upload(self, key: str, encoded: Encoded) -> None:
        """Create the object under its new unique ``key``.

        If it exists already, only an earlier attempt of this very upload can have written it (a
        retry by the SDK after a lost response): fine if the bytes are ours.
        """
        try:
            self._engine.backend.put(key, encoded.payload, mode="create")
        except ObjectExistsError:
            if not matches(self._engine.backend.get(key), encoded.version.checksum or ""):
                raise


class WriteUnderLock:
    """Create version-named files inside the commit, under the symbol's lock."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def write(self, symbol: str, encoded: list[Encoded], finish: Finish[_T]) -> _T:
        """Write version-named files inside the commit, under the symbol's lock.

        Under the lock an existing file at the next version's name can only be an orphan of a
        crashed writer; the number is the day's next one, or the one ``encoded`` carries (a copy).
        """
        token = writer_token()

        def change(index: SymbolIndex) -> tuple[SymbolIndex | None, _T]:
            keys = []
            for e in encoded:
                wanted = e.summary.version  # not e.version: its checksum is still being computed
                number = wanted if wanted >= 0 else next_version_number(index, e.day)
                latest = index.latest(e.day)
                if wanted < 0:  # the next number: taken only if the latest has it
                    taken = latest is not None and latest.version >= number
                else:  # a copy's own number
                    taken = index.version(e.day, number) is not None
                if taken:
                    raise CommitConflictError(
                        f"{symbol} {e.day} version {number} was committed by another writer meanwhile; "
                        "nothing was written"
                    )
                key = self._engine.layout.data_key(symbol, e.day, number, token, self._engine.codec.suffix)
                self._create_numbered(key, e.payload)
                keys.append(key)
            return finish(index, keys)

        return self._engine.commit(symbol, change)  # which holds the symbol's lock in this layout

    def _create_numbered(self, key: str, payload: bytes) -> None:
        """Create a version-named file, under the symbol's lock; never overwrite one that is not our orphan.

        Under the lock, a file already at the next version's name can only be replaced when it is
        provably what a writer of this store left: a file tickstore wrote, owned by the backend. A
        file behind a symbolic link (another store's) or one tickstore did not write (serenity's, or
        a legacy file copied in) is left untouched.
        """
        try:
            self._engine.backend.put(key, payload, mode="create")
            return
        except ObjectExistsError:
            pass
        if not self._engine.backend.owns(key):
            reason = "it lies behind a symbolic link, so it belongs to another directory"
        elif not self._engine.codec.wrote(self._engine.backend.get(key)):
            reason = "tickstore did not write it"
        else:
            self._engine.backend.put(key, payload, mode="overwrite")
            return
        raise ObjectExistsError(
            f"{self._engine.backend.url}/{key} already exists and is not an orphan of this store ({reason}); "
            "nothing was committed: move that file away, then insert again"
        )
