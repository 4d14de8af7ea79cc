"""The bitemporal rules: how an insert or a delete changes a partition's versions.

Pure functions of an index and a transaction time, so the rules are stated (and tested) once:

- the first version of a partition is valid from the beginning of time (a backfill is visible to
  any as-of query), unless it is inserted with an explicit transaction time: then from that time,
  so replayed history never claims knowledge before it;
- a later insert starts a new version at its commit time and ends the current one there;
- a delete ends the current version at its commit time and starts none;
- transaction time only moves forward within a partition, so every version has a non-empty
  validity interval and the intervals never overlap.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
from collections.abc import Sequence

from .errors import TransactionTimeError
from .index import SymbolIndex, Version
from .times import TIME_MAX, TIME_MIN, format_ns

__all__ = ["earliest_commit_time", "next_version_number", "plan_delete", "plan_insert", "timeline_problems"]


def earliest_commit_time(latest: Version | None) -> int:
    """The earliest transaction time a new change of the partition may have."""
    if latest is None:
        return TIME_MIN
    if latest.current:
        return last_change(latest) + 1
    return latest.end_time


def last_change(latest: Version) -> int:
    """When the partition last changed, ``latest`` being its last version.

    A plain first insert is valid from the beginning of time but was made at its commit: an
    earlier ``as_of`` would rewrite what queries run since then answered.
    """
    if not latest.current:
        return latest.end_time
    return latest.recorded_at if latest.start_time == TIME_MIN else latest.start_time


def _commit_time(index: SymbolIndex, day: dt.date, wanted: int, explicit: bool) -> int:
    latest = index.latest(day)
    earliest = earliest_commit_time(latest)
    if wanted >= earliest:
        return wanted
    if explicit and latest is not None:
        replay = (
            " (to replay history, insert the day's first version with an as_of too: a plain first insert is "
            "recorded when it was made)"
            if latest.current and latest.start_time == TIME_MIN
            else ""
        )
        raise TransactionTimeError(
            f"{index.symbol} {day}: as_of {format_ns(wanted)} is not after the partition's last change "
            f"at {format_ns(last_change(latest))}; transaction time only moves forward, so pass a later as_of "
            f"or none{replay}"
        )
    return earliest  # this machine's clock is behind the last writer's: keep the order


def next_version_number(index: SymbolIndex, day: dt.date) -> int:
    """The number the next version of ``day`` gets: 0 for the first, then one more than the last."""
    latest = index.latest(day)
    return 0 if latest is None else latest.version + 1


def plan_insert(index: SymbolIndex, new: Version, *, wanted: int, explicit: bool) -> list[Version]:
    """The versions an insert of ``new`` (its number and times still to be set) adds or changes.

    Returns ``[ended previous version?, new version]`` with the new version numbered, timed and
    valid until further notice. A first version starts at the beginning of time, or at ``wanted``
    when that is an ``explicit`` transaction time.
    """
    latest = index.latest(new.day)
    commit = _commit_time(index, new.day, wanted, explicit)
    number = next_version_number(index, new.day)
    start = TIME_MIN if latest is None and not explicit else commit
    changed = []
    if latest is not None and latest.current:
        changed.append(dataclasses.replace(latest, end_time=commit))
    changed.append(dataclasses.replace(new, version=number, start_time=start, end_time=TIME_MAX))
    return changed


def plan_delete(index: SymbolIndex, day: dt.date, *, wanted: int, explicit: bool) -> Version | None:
    """The current version of ``day`` ended at the delete's commit time, or None if there is none."""
    latest = index.latest(day)
    if latest is None or not latest.current:
        return None
    commit = _commit_time(index, day, wanted, explicit)
    return dataclasses.replace(latest, end_time=commit)


def timeline_problems(versions: Sequence[Version]) -> list[str]:
    """What breaks the rules above in one day's versions (oldest first); empty when they hold.

    The intervals may leave gaps (a delete) but never overlap (two truths at once), none is
    empty, and only the last version may be current. ``fsck`` reports these.
    """
    problems = [
        f"versions {earlier.version} and {later.version} overlap in transaction time"
        for earlier, later in itertools.pairwise(versions)
        if earlier.end_time > later.start_time
    ]
    for version in versions:
        if version.start_time >= version.end_time:
            problems.append(f"version {version.version} has an empty validity interval")
        if version.current and version is not versions[-1]:
            problems.append(f"version {version.version} is current but not the last")
    return problems
