"""Keeping a store healthy: ``fsck`` checks indexes against objects, ``gc`` removes orphans.

An orphan is a data object no index references: what a writer leaves behind when it crashes (or
loses its connection) between uploading a version and committing the index. Orphans are harmless
but take space. Objects younger than a grace period are never orphans, because a live writer may
be about to commit them.
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import warnings
from dataclasses import dataclass, field

from .backend import ObjectMeta
from .errors import CorruptObjectError, TickstoreError, UnreadableIndexWarning
from .index import SymbolIndex, Version
from .integrity import matches
from .layout import MANIFEST_KEY
from .store import ORPHAN_SEAL, Tickstore
from .times import TIME_MIN

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
            indexes[name] = store._load_index(name).index
        except CorruptObjectError as exc:
            unreadable[name] = str(exc)
    return indexes, unreadable


def find_orphans(store: Tickstore, grace: dt.timedelta = DEFAULT_GRACE) -> list[ObjectMeta]:
    """Data objects tickstore wrote that no index references, older than ``grace``.

    A file tickstore did not write is never an orphan: a serenity store has none at all, and in a
    store with version-named files (which serenity may write too) only files sealed by tickstore's
    HDF5 codec are candidates. The objects of a symbol whose index cannot be read are never
    orphans either: which of them it references is unknown. They are skipped with an
    :class:`UnreadableIndexWarning`.
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
        if parsed is not None and parsed.symbol not in unreadable:
            objects.append(meta)
    referenced = {v.key for index in indexes.values() for v in index}
    cutoff = dt.datetime.now(dt.timezone.utc) - grace
    candidates = [
        meta
        for meta in objects
        if meta.key not in referenced and (meta.last_modified is None or meta.last_modified < cutoff)
    ]
    if store.layout.version_named:
        candidates = [meta for meta in candidates if _written_by_tickstore(store, meta.key)]
    return candidates


def _written_by_tickstore(store: Tickstore, key: str) -> bool:
    try:
        return store.backend.get(key).startswith(ORPHAN_SEAL)
    except TickstoreError:
        return False


def gc(store: Tickstore, *, dry_run: bool = True, grace: dt.timedelta = DEFAULT_GRACE) -> list[ObjectMeta]:
    """Remove orphan objects older than ``grace`` (only list them when ``dry_run``); returns them."""
    orphans = find_orphans(store, grace)
    if not dry_run:
        store._map(lambda meta: store.backend.delete(meta.key), orphans, "gc")
        log.info("gc removed %d orphan objects from %s", len(orphans), store.backend.url)
    return orphans


def fsck(
    store: Tickstore, symbols: list[str] | None = None, *, deep: bool = False, grace: dt.timedelta = DEFAULT_GRACE
) -> FsckReport:
    """Check every index (or those of ``symbols``) against the objects it references.

    Checks the version timeline of each day (first version since the beginning of time,
    non-overlapping intervals (a gap is a delete), only the last one current), that each object exists with
    the recorded size and, with ``deep``, that its bytes match the recorded checksum.
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
            if versions[0].start_time != TIME_MIN:
                report.problems.append(
                    f"{where}: version {versions[0].version} does not start at the beginning of time"
                )
            for earlier, later in itertools.pairwise(versions):
                if earlier.end_time > later.start_time:  # a gap is a delete; an overlap is two truths
                    report.problems.append(
                        f"{where}: versions {earlier.version} and {later.version} overlap in transaction time"
                    )
            for version in versions:
                report.versions += 1
                if version.start_time >= version.end_time:
                    report.problems.append(f"{where}: version {version.version} has an empty validity interval")
                if version.current and version is not versions[-1]:
                    report.problems.append(f"{where}: version {version.version} is current but not the last")
                size = sizes.get(version.key)
                if size is None:
                    report.problems.append(f"{where}: version {version.version} object {version.key} is missing")
                elif version.bytes is not None and size != version.bytes:
                    report.problems.append(
                        f"{where}: version {version.version} object {version.key} has {size} bytes, "
                        f"{version.bytes} were committed"
                    )
    if deep:
        checks = [(name, v) for name, index in indexes.items() for v in index if v.key in sizes]

        def verify(item: tuple[str, Version]) -> str | None:
            name, version = item
            if not version.stats_known:  # a serenity file: readable is all that can be checked
                try:
                    store._read_version(name, version, None)
                except TickstoreError as exc:
                    return f"{name}: unreadable {version.key}: {exc}"
                return None
            data = store.backend.get(version.key)
            return None if matches(data, version.checksum or "") else f"{name}: object {version.key} fails its checksum"

        for problem in store._map(verify, checks, "fsck"):
            report.objects_verified += 1
            if problem:
                report.problems.append(problem)
    if symbols is None:
        report.orphans = _orphans(store, grace, indexes, unreadable)
    return report
