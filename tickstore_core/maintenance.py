"""Keeping a store healthy: ``fsck`` checks indexes against objects, ``gc`` removes orphans.

An orphan is a data object no index references: what a writer leaves behind when it crashes (or
loses its connection) between uploading a version and committing the index. Orphans are harmless
but take space. Objects younger than a grace period are never orphans, because a live writer may
be about to commit them.

gc deletes only what it can prove a writer of this store left, never a file it did not write:

- the object is named as a writer names it: a writer token in the key on object stores; on the
  local store ``{SYMBOL}_{VERSION}.h5`` of a symbol with an index, with a version number that
  index has not handed out yet (a crashed writer's next number);
- its bytes are in the store's encoding as tickstore writes it (on the local store, the
  ``tickstore-hdf5`` integrity line: the original store's files have none);
- the backend owns it (:meth:`~tickstore_core.backend.Backend.owns`): on the local store a plain
  file inside the store's real root, not a symbolic link nor behind one.
"""

from __future__ import annotations

import datetime as dt
import logging
import warnings
from dataclasses import dataclass, field
from typing import Any

from .backend import ObjectMeta
from .bitemporal import next_version_number, timeline_problems
from .errors import CorruptObjectError, ObjectNotFoundError, TickstoreError, UnreadableIndexWarning
from .index import SymbolIndex, Version
from .integrity import matches
from .layout import MANIFEST_KEY
from .lifecycle import segment_version
from .store import Tickstore
from .times import day_start_ns, format_ns, to_duration

__all__ = ["DEFAULT_GRACE", "FsckReport", "find_orphans", "fsck", "gc"]

log = logging.getLogger("tickstore")
DEFAULT_GRACE = dt.timedelta(hours=1)


@dataclass
class FsckReport:
    """What ``fsck`` found: problems (empty when healthy), counts and orphans."""

    problems: list[str] = field(default_factory=list)
    symbols: int = 0
    versions: int = 0
    objects_verified: int = 0
    orphans: list[ObjectMeta] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _indexes(store: Tickstore, symbols: list[str] | None) -> tuple[dict[str, SymbolIndex], dict[str, str]]:
    """The readable indexes of ``symbols`` (default: all), and why each unreadable one cannot be read."""
    store.flush()
    indexes, unreadable = {}, {}
    for name in symbols or store.symbols():
        try:
            indexes[name] = store.engine.load_index(name).index
        except CorruptObjectError as exc:
            unreadable[name] = str(exc)
    return indexes, unreadable


def find_orphans(store: Tickstore, grace: dt.timedelta = DEFAULT_GRACE) -> list[ObjectMeta]:
    """Data objects no index references, older than ``grace``, that a writer of this store provably left.

    A file tickstore did not write is never an orphan: a serenity store has none at all (see the
    module docstring for the proof asked of the others). The objects of a symbol whose index
    cannot be read are never orphans either: which of them it references is unknown. They are
    skipped with an :class:`UnreadableIndexWarning`.
    """
    if store.is_serenity_store:
        return []
    indexes, unreadable = _indexes(store, None)
    for name, why in unreadable.items():
        message = f"{name} skipped: {why}. Until then gc leaves every object of {name} alone"
        log.warning(message)
        warnings.warn(message, UnreadableIndexWarning, stacklevel=2)
    return _orphans(store, grace, indexes, unreadable)


def _orphans(
    store: Tickstore, grace: dt.timedelta, indexes: dict[str, SymbolIndex], unreadable: dict[str, str]
) -> list[ObjectMeta]:
    objects = []
    for meta in store.backend.list(""):
        parsed = store.layout.parse_data_key(meta.key)
        if parsed is not None and parsed.symbol not in unreadable and store.layout.writer_named(meta.key):
            objects.append(meta)
    cutoff = dt.datetime.now(dt.timezone.utc) - to_duration(grace, "grace")
    pruned_after = int(cutoff.timestamp() * 1e9)  # objects prune dropped since then are still for readers
    referenced = {key for index in indexes.values() for v in index for key in v.keys}
    referenced |= {key for index in indexes.values() for key, since in index.garbage if since > pruned_after}
    unreferenced = [
        meta
        for meta in objects
        if meta.key not in referenced and (meta.last_modified is None or meta.last_modified < cutoff)
    ]
    return [meta for meta in unreferenced if _left_by_a_writer(store, meta.key, indexes)]


def _left_by_a_writer(store: Tickstore, key: str, indexes: dict[str, SymbolIndex]) -> bool:
    """Whether the unreferenced object ``key`` is provably a crashed writer's (see the module docstring)."""
    if store.layout.version_named:
        parsed = store.layout.parse_data_key(key)
        index = indexes.get(parsed.symbol) if parsed is not None else None
        if parsed is None or parsed.version is None or index is None:
            return False
        if parsed.version < next_version_number(index, parsed.day):
            return False
    if not store.backend.owns(key):
        return False
    try:
        data = store.backend.get(key)
    except ObjectNotFoundError:
        return False
    return store.codec.wrote(data)


def gc(store: Tickstore, *, dry_run: bool = True, grace: dt.timedelta = DEFAULT_GRACE) -> list[ObjectMeta]:
    """Remove orphan objects older than ``grace`` (only list them when ``dry_run``); returns them."""
    orphans = find_orphans(store, grace)
    if not dry_run:
        store.engine.map(lambda meta: store.backend.delete(meta.key), orphans, "gc")
        log.info("gc removed %d orphan objects from %s", len(orphans), store.backend.url)
    return orphans


def _misdescribed(name: str, version: Version, times: Any, tz: str) -> str | None:
    """What the index entry of ``version`` says wrongly of its ticks (``times``, decoded): their count,
    first and last time, or their day (in the store's time zone: none on it); None if nothing."""
    where = f"{name}: {version.day} version {version.version}"
    if version.rows is not None and len(times) != version.rows:
        return f"{where} records {version.rows} ticks; its object holds {len(times)}"
    if not len(times):
        return None
    first, last = times[0].value, times[-1].value
    if (version.min_time, version.max_time) != (first, last):
        recorded = f"{format_ns(version.min_time)} .. {format_ns(version.max_time)}"
        return f"{where} records its ticks at {recorded}; they lie at {format_ns(first)} .. {format_ns(last)}"
    day_after = version.day + dt.timedelta(days=1)  # serenity's files, copied, may spill over into a next day
    if last < day_start_ns(version.day, tz) or first >= day_start_ns(day_after, tz):
        return f"{where}: none of its ticks ({format_ns(first)} .. {format_ns(last)}) is on {version.day} in {tz}"
    return None


def fsck(
    store: Tickstore, symbols: list[str] | None = None, *, deep: bool = False, grace: dt.timedelta = DEFAULT_GRACE
) -> FsckReport:
    """Check every index (or those of ``symbols``) against the objects it references.

    Checks the version timeline of each day (non-overlapping intervals (a gap is a delete), none
    empty, only the last one current; a first version starts at the beginning of time or at an
    explicit transaction time), that each object exists with
    the recorded size and, with ``deep``, that its bytes match the recorded checksum and its ticks
    the index entry's count, first and last time and day.
    """
    report = FsckReport()
    sizes = {meta.key: meta.size for meta in store.backend.list("")}
    if MANIFEST_KEY not in sizes and sizes and not store.is_serenity_store:
        report.problems.append(f"{MANIFEST_KEY} is missing")
    indexes, unreadable = _indexes(store, symbols)
    for name, why in unreadable.items():
        report.problems.append(f"{name}: {why}; its objects were not checked")
    report.symbols = len(indexes) + len(unreadable)
    for name, index in indexes.items():
        for day in index.days():
            versions = index.versions(day)
            where = f"{name} {day}"
            report.problems.extend(f"{where}: {problem}" for problem in timeline_problems(versions))
            for version in versions:
                report.versions += 1
                for part in version.parts:
                    size = sizes.get(part.key)
                    if size is None:
                        report.problems.append(f"{where}: version {version.version} object {part.key} is missing")
                    elif version.bytes is not None and size != part.bytes:
                        report.problems.append(
                            f"{where}: version {version.version} object {part.key} has {size} bytes, "
                            f"{part.bytes} were committed"
                        )
    if deep:
        checks = [
            (name, segment_version(v, part) if v.segments is not None else v)
            for name, index in indexes.items()
            for v in index
            for part in v.parts
            if part.key in sizes
        ]

        def verify(item: tuple[str, Version]) -> str | None:
            name, version = item
            if not version.stats_known:  # a serenity file: readable is all that can be checked
                try:
                    store.engine.read_version(name, version, None)
                except TickstoreError as exc:
                    return f"{name}: unreadable {version.key}: {exc}"
                return None
            data = store.backend.get(version.key)
            if not matches(data, version.checksum or ""):
                return f"{name}: object {version.key} fails its checksum"
            del data
            try:  # the object is the one committed; does the index entry still describe it?
                times = store.engine.read_version(name, version, []).column(0)
            except TickstoreError as exc:
                return f"{name}: {version.day} version {version.version}: {exc}"
            return _misdescribed(name, version, times, store.engine.tz)

        for problem in store.engine.map(verify, checks, "fsck"):
            report.objects_verified += 1
            if problem:
                report.problems.append(problem)
    if symbols is None:
        report.orphans = _orphans(store, grace, indexes, unreadable)
    return report
