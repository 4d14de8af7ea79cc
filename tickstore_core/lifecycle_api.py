"""The store's version lifecycle API: append, compaction, tags, cache pins and pruning.

Part of `tickstore_core.store.Tickstore`. The rules (what an append, a compaction or a prune
makes of the versions) are `tickstore_core.lifecycle`'s; tags are `tickstore_core.tags`'; the
engine (`tickstore_core.engine`) writes and commits.
"""

from __future__ import annotations

import bisect
import dataclasses
import datetime as dt
import logging
import random
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pandas as pd

from .backend import IfMatch
from .engine import MAX_COMMIT_ATTEMPTS, Engine
from .errors import (
    CommitConflictError,
    ConfigError,
    InvalidInputError,
    InvalidTicksError,
    ObjectExistsError,
    PreconditionFailedError,
    PrunedError,
    TickstoreError,
    TransactionTimeError,
    UnknownTagError,
)
from .frames import split_days, ticks_to_table
from .index import SymbolIndex, Version, pruned_interval
from .lifecycle import (
    COMPACT_AT,
    PRUNE_GRACE,
    PrunePlan,
    appended_version,
    check_metadata,
    compacted_version,
    freed_by_compaction,
    plan_prune,
    remove_pruned,
)
from .symbols import check_symbol
from .tags import (
    TAGS_KEY,
    Tag,
    check_message,
    check_tag_name,
    read_tags,
    tag_time,
    tags_to_bytes,
)
from .times import TIME_MAX, TIME_MIN, TimeLike, format_ns, now_ns, span_ns, to_day, to_duration
from .writes import already_committed, check_schema, plan_inserts
from .writing import FUTURE_TOLERANCE_NS, check_tick_range, explicit_as_of

__all__ = ["LifecycleAPI"]

log = logging.getLogger("tickstore")


class _Superseded(CommitConflictError):
    """A compaction found the day changed (replaced or deleted) meanwhile: nothing to commit."""


class LifecycleAPI:
    """Append, compact, tag, pin and prune (mixed into `Tickstore`)."""

    _engine: Engine

    if TYPE_CHECKING:  # from ReadAPI, mixed into the same class

        def symbols(self) -> list[str]: ...

        def prefetch(
            self,
            symbol: str,
            start: TimeLike | None = None,
            end: TimeLike | None = None,
            as_of: TimeLike | None = None,
        ) -> int: ...

    def append(
        self,
        symbol: str,
        ticks: pd.DataFrame,
        *,
        as_of: TimeLike | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> list[Version]:
        """Add ``ticks`` to the current version of each day they fall on, rewriting nothing.

        The new version of a day is its current version's objects (segments) plus one new object
        holding ``ticks``, committed atomically for all days like an insert: a select as of a time
        before the append does not see them, and concurrent appenders lose nothing (a writer that
        loses the commit race re-bases on the new current version). A select sorts by time stably,
        so appended ticks come after ticks already there with the same timestamp. A day is compacted
        into one object (see `compact`) once it has 32 segments, and when it ends: the first append
        to a later day compacts the day before it. Appending to a day with no current version
        starts it, as an insert would.

        Parameters
        ----------
        symbol : str
            The instrument.
        ticks : pandas.DataFrame
            Indexed by timestamp (naive means UTC); not empty.
        as_of : timestamp, optional
            Record the append at this transaction time instead of now (times must move forward).
        metadata : dict, optional
            JSON-serialisable notes with string keys, stored with the new versions (at most 16 KiB) and
            shown by `history`.

        Returns
        -------
        list of Version
            The new version of each day, in day order.

        Raises
        ------
        InvalidTicksError
            The frame is empty, not indexed by time, or has ticks outside the supported days.
        SchemaError
            A column's type cannot be combined with the type the day or other days hold.

        Examples
        --------
        >>> store.append("BTCUSD", last_minute_trades)  # doctest: +SKIP
        """
        self._engine.check_open()
        check_symbol(symbol)
        self._engine.check_writable()
        explicit = explicit_as_of(None, as_of)
        note = check_metadata(metadata)
        table = ticks_to_table(ticks, self._engine.timestamp_column)
        check_tick_range(table, self._engine.tz)
        by_day = split_days(table, self._engine.tz)
        if not by_day:
            raise InvalidTicksError("the ticks are empty; there is nothing to append")
        encoded = [self._engine.encode(d, t, note) for d, t in sorted(by_day.items())]
        check_schema(symbol, self._engine.index_for_write(symbol), encoded, replacing=False)
        self._engine.ensure_manifest()
        if explicit is not None:  # fail before uploading anything when the order is already wrong
            plan_inserts(self._engine.index(symbol), encoded, [""] * len(encoded), explicit)

        def finish(index: SymbolIndex, keys: list[str]) -> tuple[SymbolIndex | None, list[Version]]:
            done = already_committed(index, encoded, keys)
            if done is not None:
                return done
            check_schema(symbol, index, encoded, replacing=False)
            appended = [
                e.replacing(appended_version(index.latest(e.day), dataclasses.replace(e.version, key=k)))
                for e, k in zip(encoded, keys, strict=True)
            ]
            return plan_inserts(index, appended, [v.version.key for v in appended], explicit)

        versions = self._engine.write_versions(symbol, encoded, finish)
        for version, e in zip(versions, encoded, strict=True):  # compaction reads the segments back
            self._engine.keep_written(version.parts[-1].key, e.payload, e.version.checksum)
        full = [v for v in versions if v.segments is not None and len(v.segments) >= COMPACT_AT]
        due = {v.day: v for v in [*self._ended_day(symbol, max(v.day for v in versions)), *full]}
        for version in due.values():
            try:
                self._compact_day(symbol, version)
            except TickstoreError as exc:  # the append is committed: raising would have it retried, twice stored
                log.warning("compaction of %s %s after an append failed: %s", symbol, version.day, exc)
        return versions

    def _ended_day(self, symbol: str, newest: dt.date) -> list[Version]:
        """The current version of the day before ``newest``, if made of several segments: the first
        append to a later day ends that day, which is then merged into one object."""
        index = self._engine.index(symbol)
        days = index.days()
        position = bisect.bisect_left(days, newest)
        previous = index.at(days[position - 1], None) if position > 0 else None
        return [previous] if previous is not None and len(previous.segments or ()) > 1 else []

    def compact(self, symbol: str | None = None, start: Any = None, end: Any = None) -> list[Version]:
        """Merge each day made of several segments (by appends) into one object.

        A compaction version holds exactly the ticks of the version it replaces, in the same order,
        and is valid from the earliest time the day may change, so no select as of any time returns
        anything different; `history` marks it ``kind="compaction"``. Appends made meanwhile are
        kept (after the merged object); a day replaced or deleted meanwhile is left alone.

        Parameters
        ----------
        symbol : str, optional
            Only this symbol (default: every symbol).
        start, end : date or str, optional
            Only days in this range (inclusive), as for `select`.

        Returns
        -------
        list of Version
            The compaction versions committed.

        Examples
        --------
        >>> store.compact("BTCUSD", "2024-03-04")  # doctest: +SKIP
        """
        self._engine.check_open()
        self._engine.check_writable()
        symbols = [check_symbol(symbol)] if symbol is not None else self.symbols()
        start_ns, end_ns = span_ns(start, end, self._engine.tz)
        done = []
        for name in symbols:
            index = self._engine.load_index(name, offline_ok=False).index
            days = index.days()
            if not days:
                continue
            first = days[0] if start_ns == TIME_MIN else to_day(pd.Timestamp(start_ns, tz="UTC"), self._engine.tz)
            last = days[-1] if end_ns == TIME_MAX else to_day(pd.Timestamp(end_ns, tz="UTC"), self._engine.tz)
            for version in index.lookup(first, last):
                if version.segments is not None and len(version.segments) > 1:
                    compacted = self._compact_day(name, version)
                    if compacted is not None:
                        done.append(compacted)
        return done

    def _compact_day(self, symbol: str, version: Version) -> Version | None:
        """Commit the current ``version`` of a day (made of segments) again as one object."""
        table = self._engine.read_version(symbol, version, None)
        (encoded,) = [self._engine.encode(version.day, table, version.metadata)]
        original = version.keys

        def finish(index: SymbolIndex, keys: list[str]) -> tuple[SymbolIndex | None, Version | None]:
            current = index.latest(version.day)
            if current is not None and current.keys[0] == keys[0] and current.kind == "compaction":
                return None, current  # committed by an earlier attempt whose reply was lost
            if current is None:
                raise _Superseded(f"{symbol} {version.day} has no version to compact")
            new = compacted_version(current, dataclasses.replace(encoded.version, key=keys[0]), original)
            if new is None:
                raise _Superseded(f"{symbol} {version.day} changed while it was compacted; nothing to do")
            new = dataclasses.replace(new, recorded_at=now_ns())
            freed = [(key, new.recorded_at) for key in freed_by_compaction(index, current, new)]
            return index.replace([new], dropped=[current], garbage=freed), new

        try:
            return self._engine.write_versions(symbol, [encoded], finish)
        except _Superseded:  # the object written is deleted (or, numbered, left for the next writer/gc)
            return None

    # --- tags ---------------------------------------------------------------------------------

    def tag(self, name: str, *, as_of: Any = None, message: str = "") -> Tag:
        """Pin the whole store (every symbol) at one transaction time under ``name``.

        ``as_of="tag:NAME"`` then reads exactly what the store held at that time, wherever an
        ``as_of`` is accepted (`select`, `to_dask`, `history`, `days`, `prefetch`), and `prune`
        never removes a version valid then. Tags are stored in the store (``_tags.json``, changed
        by compare-and-swap), so every machine sees them.

        Parameters
        ----------
        name : str
            Letters, digits and ``._-+=@^~#!`` (the rules of symbol names).
        as_of : timestamp or "tag:OTHER", optional
            The transaction time to pin (default: now).
        message : str, optional
            Why, e.g. the paper it reproduces.

        Returns
        -------
        Tag

        Raises
        ------
        InvalidInputError
            A bad name, or a tag of that name exists (untag it first).
        PrunedError
            History at ``as_of`` was already pruned for some symbol.

        Examples
        --------
        >>> store.tag("paper-2024", message="results of section 4")  # doctest: +SKIP
        """
        self._engine.check_open()
        self._engine.check_writable()
        check_tag_name(name)
        check_message(message)
        when = now_ns() if as_of is None else self._engine.as_of_ns(as_of)
        assert when is not None
        if when > now_ns() + FUTURE_TOLERANCE_NS:
            raise TransactionTimeError(f"as_of {format_ns(when)} is in the future; a tag pins a time already past")
        self._refuse_pruned(when)
        tag = Tag(name, when, now_ns(), message)
        self._engine.ensure_manifest()

        def change(tags: dict[str, Tag]) -> dict[str, Tag]:
            if name in tags:
                raise InvalidInputError(f"tag {name!r} exists already; untag it first or choose another name")
            return {**tags, name: tag}

        self._change_tags(change)
        try:  # a prune that read the tags before this one may have committed since the check above
            self._refuse_pruned(when)
        except PrunedError:
            self._change_tags(lambda tags: {n: t for n, t in tags.items() if t != tag})
            raise
        return tag

    def _refuse_pruned(self, when: int) -> None:
        """Refuse to tag ``when`` if some symbol's history then is gone."""
        for symbol in self.symbols():
            pruned = self._engine.load_index(symbol, offline_ok=False).index.pruned
            gone = [d for d in pruned if pruned_interval(pruned, d, when) is not None]
            if gone:
                raise PrunedError(f"cannot tag {format_ns(when)}: {symbol}'s history then was pruned (e.g. {gone[0]})")

    def tags(self) -> pd.DataFrame:
        """Every tag of the store, sorted by name.

        Returns
        -------
        pandas.DataFrame
            Indexed by ``name``: ``time`` (the transaction time it pins), ``created`` and ``message``.

        Examples
        --------
        >>> store.tags()  # doctest: +SKIP
        """
        self._engine.check_open()
        tags = self._read_tags()[1]
        if not tags:
            self._engine.check_exists()  # a mistyped path is not a store without tags
        rows = [
            {"name": t.name, "time": t.time, "created": t.created, "message": t.message}
            for t in sorted(tags.values(), key=lambda t: t.name)
        ]
        frame = pd.DataFrame(rows, columns=["name", "time", "created", "message"])
        for column in ("time", "created"):
            frame[column] = pd.to_datetime(frame[column].astype("int64"), unit="ns", utc=True)
        result: pd.DataFrame = frame.set_index("name")
        return result

    def untag(self, name: str) -> Tag:
        """Remove the tag ``name``: the versions it kept may then be pruned.

        Parameters
        ----------
        name : str
            The tag.

        Returns
        -------
        Tag
            The tag removed.

        Raises
        ------
        UnknownTagError
            No such tag.

        Examples
        --------
        >>> store.untag("paper-2024")  # doctest: +SKIP
        """
        self._engine.check_open()
        self._engine.check_writable()
        check_tag_name(name)
        removed: list[Tag] = []

        def change(tags: dict[str, Tag]) -> dict[str, Tag]:
            if name not in tags:
                raise UnknownTagError(f"no tag {name!r} in {self._engine.backend.url}; `tickstore tag ls` lists them")
            removed[:] = [tags[name]]
            return {n: t for n, t in tags.items() if n != name}

        self._change_tags(change)
        return removed[0]

    def _read_tags(self, *, offline_ok: bool = True) -> tuple[str | None, dict[str, Tag]]:
        return read_tags(self._engine.read_mutable, self._engine.backend.url, offline_ok=offline_ok)

    def _change_tags(self, change: Callable[[dict[str, Tag]], dict[str, Tag]]) -> None:
        for attempt in range(MAX_COMMIT_ATTEMPTS):
            etag, tags = self._read_tags(offline_ok=False)
            data = tags_to_bytes(change(tags))
            try:
                meta = self._engine.backend.put(TAGS_KEY, data, mode="create" if etag is None else IfMatch(etag))
            except (PreconditionFailedError, ObjectExistsError):
                time.sleep(random.uniform(0, min(0.5, 0.005 * 2**attempt)))
                continue
            if self._engine.cache is not None:
                self._engine.cache.put_tagged(self._engine.backend.url, TAGS_KEY, meta.etag, data)
            return
        raise CommitConflictError(
            f"gave up changing the tags of {self._engine.backend.url} after {MAX_COMMIT_ATTEMPTS} lost races"
        )

    def pin(self, tag: str) -> int:
        """Keep every object the tag ``tag`` reads (all symbols) in the local cache until `unpin`.

        Pinned objects are exempt from LRU eviction: the tagged state stays readable offline.

        Parameters
        ----------
        tag : str
            The tag whose state to keep.

        Returns
        -------
        int
            The bytes of the pinned objects, as stored.

        Raises
        ------
        UnknownTagError
            No such tag.
        ConfigError
            The store has no cache, or the cache cannot be written.

        Examples
        --------
        >>> store.pin("paper-2024")  # doctest: +SKIP
        """
        tag_time(self._engine.read_mutable, self._engine.backend.url, check_tag_name(tag))
        return sum(self.prefetch(symbol, as_of=f"tag:{tag}") for symbol in self.symbols())

    def unpin(self, tag: str) -> int:
        """Release the objects `pin` kept for ``tag``: those no other pin holds leave the cache.

        Parameters
        ----------
        tag : str
            The tag pinned.

        Returns
        -------
        int
            How many cache entries were removed.

        Examples
        --------
        >>> store.unpin("paper-2024")  # doctest: +SKIP
        """
        check_tag_name(tag)
        if self._engine.cache is None:
            raise ConfigError(f"the store {self._engine.backend.url} has no cache; open it with cache=True")
        return int(self._engine.cache.unpin(self._engine.backend.url, tag))

    # --- pruning ------------------------------------------------------------------------------

    def prune(
        self,
        *,
        symbol: str | None = None,
        before: Any = None,
        keep_versions: int | None = None,
        dry_run: bool = True,
        grace: dt.timedelta | float | str | None = None,
    ) -> list[PrunePlan]:
        """Remove superseded versions (and the objects only they use) to shrink the store.

        A version is removed when its validity ended at or before ``before`` (default: any ended
        version), unless it is the latest version of its day (current or deleted), one of the
        ``keep_versions`` newest of its day, or valid at a tag's time. An object shared with a kept
        version stays. Afterwards a select as of a pruned time raises `PrunedError` (never
        other data); ``history`` no longer lists the versions.

        Concurrent writers are safe (each symbol's change is a compare-and-swap commit). Concurrent
        readers are too: the objects are deleted only ``grace`` (default one hour, as for `gc`)
        after the commit that dropped them, by a later prune (or `gc`); a reader that still misses
        one gets a `PrunedError`.

        Parameters
        ----------
        symbol : str, optional
            Only this symbol (default: every symbol).
        before : timestamp, optional
            Only versions whose validity ended at or before this transaction time.
        keep_versions : int, optional
            Keep at least this many newest versions of each day.
        dry_run : bool
            Only report what would be removed (the default).
        grace : timedelta, seconds or str, optional
            How long dropped objects are kept for readers (default one hour; ``"30min"``; 0 deletes them now).

        Returns
        -------
        list of PrunePlan
            Per symbol with something to prune: the versions, the objects freed and their bytes.

        Examples
        --------
        >>> plans = store.prune(before="2024-01-01", dry_run=False)  # doctest: +SKIP
        >>> sum(p.bytes for p in plans)  # doctest: +SKIP
        """
        self._engine.check_open()
        self._engine.check_writable()
        if keep_versions is not None and (
            isinstance(keep_versions, bool) or not isinstance(keep_versions, int) or keep_versions < 0
        ):
            raise InvalidInputError(f"keep_versions must be an integer >= 0, got {keep_versions!r}")
        before_ns = None if before is None else self._engine.as_of_ns(before, "before")
        grace_ns = int((PRUNE_GRACE if grace is None else to_duration(grace, "grace")).total_seconds() * 1e9)
        symbols = [check_symbol(symbol)] if symbol is not None else self.symbols()
        plans = []
        for name in symbols:
            tag_times = [t.time for t in self._read_tags(offline_ok=False)[1].values()]
            plan = plan_prune(
                self._engine.load_index(name, offline_ok=False).index,
                before=before_ns,
                keep_versions=keep_versions,
                tag_times=tag_times,
            )
            if not plan.empty:
                plans.append(plan)
            if not dry_run:
                self._prune_symbol(name, before_ns, keep_versions, grace_ns)
        return plans

    def _prune_symbol(self, symbol: str, before: int | None, keep_versions: int | None, grace_ns: int) -> None:
        """Commit one symbol's prune, then delete the garbage old enough, then forget it.

        The objects the pruned versions leave go to the index's garbage list with the commit time;
        those older than the grace period are deleted, and only then taken off the list, so a
        prune killed at any moment leaves the next one everything still to delete.
        """

        dropped: list[Version] = []

        def change(index: SymbolIndex) -> tuple[SymbolIndex | None, list[str]]:
            tag_times = [t.time for t in self._read_tags(offline_ok=False)[1].values()]  # read again: tags may be new
            plan = plan_prune(index, before=before, keep_versions=keep_versions, tag_times=tag_times)
            dropped[:] = plan.versions
            now = now_ns()
            garbage = [*index.garbage, *((k, now) for k in plan.keys)]
            garbage += [(c.key, now) for c in index.chunks] if plan.versions else []
            due = [k for k, since in garbage if since + grace_ns <= now]
            if not plan.versions:
                return None, due
            removed = {(v.day, v.version) for v in plan.versions}
            kept = [v for v in index if (v.day, v.version) not in removed]
            return index.rebuilt(kept, pruned=plan.pruned, garbage=garbage), due

        due = self._engine.commit(symbol, change)
        needed = self._back_off(symbol, dropped) if dropped else set()
        due = [k for k in due if k not in needed]
        if not due:
            return
        self._engine.map(self._engine.backend.delete, due, f"prune {symbol}")
        gone = set(due)

        def forget(index: SymbolIndex) -> tuple[SymbolIndex | None, None]:
            left = [(k, t) for k, t in index.garbage if k not in gone]
            return (None, None) if len(left) == len(index.garbage) else (index.with_marks(garbage=left), None)

        self._engine.commit(symbol, forget)
        log.info("prune deleted %d objects of %s from %s", len(due), symbol, self._engine.backend.url)

    def _back_off(self, symbol: str, removed: list[Version]) -> set[str]:
        """Put back the pruned versions valid at a tag made while the prune ran (it read the tags
        before that tag was written, and the tag checked the symbol before the prune committed);
        returns the keys of the objects they need, which must not be deleted."""
        times = [t.time for t in self._read_tags(offline_ok=False)[1].values()]
        back = [v for v in removed if any(v.valid_at(t) for t in times)]
        if not back:
            return set()

        def restore(index: SymbolIndex) -> tuple[SymbolIndex | None, None]:
            held = {(v.day, v.version) for v in index}
            missing = [v for v in back if (v.day, v.version) not in held]
            needed = {k for v in missing for k in v.keys}
            garbage = [(k, t) for k, t in index.garbage if k not in needed]
            if not missing:
                return None, None
            return index.rebuilt([*index, *missing], pruned=remove_pruned(index.pruned, missing), garbage=garbage), None

        self._engine.commit(symbol, restore)
        log.info("prune of %s kept %d versions valid at a tag made meanwhile", symbol, len(back))
        return {k for v in back for k in v.keys}
