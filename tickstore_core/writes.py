"""What a write commits: each day encoded and summarised, then planned into the symbol's index.

Nothing here touches the backend: :class:`Encoded` days are built before anything is written
(so bad input fails first), and the planning functions return the new index for the engine's
compare-and-swap commit (:mod:`tickstore_core.engine`).
"""

from __future__ import annotations

import bisect
import dataclasses
import datetime as dt
import functools
from concurrent.futures import Future
from dataclasses import dataclass

import pyarrow as pa

from .bitemporal import plan_insert
from .encoding import Codec
from .frames import schema_fingerprint
from .index import SymbolIndex, Version
from .integrity import checksum
from .schema import check_compatible, type_code
from .threads import SharedPool
from .times import now_ns

__all__ = ["Encoded", "already_committed", "check_schema", "encode", "plan_inserts"]


# A payload at least this large is hashed on a thread of its own while it is being written (the
# SHA-256 of a day, about 5 ms, then costs nothing); a smaller one at once (a thread hand-off costs more).
HASH_BESIDE_WRITE_BYTES = 1 << 20
_HASHING = SharedPool("hash")  # never waits for anything, so a writer waiting for a hash cannot deadlock it


@dataclass(frozen=True)
class Encoded:
    """One day of a write, encoded and summarised before anything is written.

    ``summary`` is the version's index entry; ``version`` is the same with its checksum, waiting
    for ``digest`` (the payload's SHA-256, computed on another thread) if there is one. What runs
    before the payload is written reads ``summary``, so the hash runs beside the write.
    ``summary.version`` is -1 for "the day's next number" (an insert), or the number the version
    must have (a copy, which keeps the source's numbers).
    """

    day: dt.date
    payload: bytes
    summary: Version
    digest: Future[str] | None = dataclasses.field(default=None, compare=False, repr=False)

    @functools.cached_property
    def version(self) -> Version:
        """The version's index entry, its checksum included (waits for ``digest``)."""
        return self.summary if self.digest is None else dataclasses.replace(self.summary, checksum=self.digest.result())

    def replacing(self, version: Version) -> Encoded:
        """The same payload with another index entry (its checksum included)."""
        return Encoded(self.day, self.payload, version)


def encode(codec: Codec, day: dt.date, table: pa.Table, metadata: str | None = None) -> Encoded:
    """The day's ticks as the bytes of one object, with the statistics its index entry records.

    A large payload's checksum is computed on another thread (`Encoded.version` waits for it).
    """
    payload = codec.encode(table)
    digest = _HASHING.get().submit(checksum, payload) if len(payload) >= HASH_BESIDE_WRITE_BYTES else None
    times = table.column(0)
    rows = table.num_rows
    version = Version(
        day=day,
        version=-1,
        key="",
        start_time=0,
        end_time=0,
        recorded_at=0,
        rows=rows,
        bytes=len(payload),
        min_time=int(times[0].value) if rows else None,
        max_time=int(times[rows - 1].value) if rows else None,
        columns=tuple(table.column_names[1:]),
        schema=schema_fingerprint(table.schema),
        checksum=None if digest is not None else checksum(payload),
        types=tuple(type_code(field.type) for field in table.schema)[1:],
        metadata=metadata,
        encoding=codec.encoding,
    )
    return Encoded(day, payload, version, digest)


def plan_inserts(
    index: SymbolIndex, encoded: list[Encoded], keys: list[str], explicit: int | None
) -> tuple[SymbolIndex, list[Version]]:
    """The index after inserting ``encoded`` (one object per day) under ``keys``, and the new versions."""
    wanted = explicit if explicit is not None else now_ns()
    recorded_at = now_ns()
    changed: list[Version] = []
    new_versions = []
    for e, key in zip(encoded, keys, strict=True):
        planned = plan_insert(
            index,
            dataclasses.replace(e.version, key=key, recorded_at=recorded_at),
            wanted=wanted,
            explicit=explicit is not None,
        )
        changed.extend(planned)
        new_versions.append(planned[-1])
    return index.replace(changed), new_versions


def already_committed(index: SymbolIndex, encoded: list[Encoded], keys: list[str]) -> tuple[None, list[Version]] | None:
    """(None, versions) if ``index`` already holds the objects under ``keys``, else None.

    A commit whose response was lost (a reset connection) may have succeeded: the SDK's retry of the
    conditional put then fails its precondition, and the commit loop sees the index again. Data
    keys are unique, so finding them there means the insert is done, not to be committed twice.
    """
    days = {e.day for e in encoded}
    committed = {v.key: v for day in days for v in index.held_on(day)}  # a lost reply's commit is recent: never sealed
    if not keys or keys[0] not in committed:
        return None
    return None, [committed[key] for key in keys]


def check_schema(symbol: str, index: SymbolIndex, encoded: list[Encoded], *, replacing: bool = True) -> None:
    """Refuse column types no select could combine with those of the other days' current versions.

    The days being inserted are replaced, so only the other days count (an append, not
    ``replacing``, keeps the day's ticks: they count too); versions of tickstore 0.1 (no recorded
    types) and days without ticks are not checked (a select checks what it reads).
    """
    inserted = {e.day for e in encoded} if replacing else set()
    existing: dict[str, dict[str, list[dt.date]]] = {}
    for (columns, types), days in index.signatures().items():
        others = [d for d in days if d not in inserted] if _holds_any(days, inserted) else days
        for name, code in zip(columns, types, strict=True) if others else ():
            known = existing.setdefault(name, {})
            known[code] = [*known[code], *others] if code in known else others
    if not existing:
        return
    for e in encoded:
        if e.summary.rows and e.summary.types is not None and e.summary.columns is not None:
            check_compatible(symbol, existing, dict(zip(e.summary.columns, e.summary.types, strict=True)), [e.day])


def _holds_any(days: list[dt.date], wanted: set[dt.date]) -> bool:
    """Whether the sorted ``days`` hold any of ``wanted``: by bisection, not a pass over a long history."""
    for day in wanted:
        at = bisect.bisect_left(days, day)
        if at < len(days) and days[at] == day:
            return True
    return False
