"""The command line's version lifecycle commands: ``compact``, ``tag``, ``prune``.

`tickstore_core.cli` parses the arguments and opens the store; these print what was done.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from .errors import InvalidInputError
from .symbols import check_symbol

if TYPE_CHECKING:
    from .store import Tickstore

__all__ = ["check_known", "compact", "prune", "tag"]


def check_known(store: Tickstore, symbols: Sequence[str]) -> None:
    """Refuse symbols the store has never had: a typo must not look like a symbol without data."""
    if not symbols:
        return
    for symbol in symbols:
        check_symbol(symbol)
    known = set(store.symbols())
    unknown = [s for s in symbols if s not in known]
    if unknown:
        raise InvalidInputError(
            f"unknown symbol{'s' if len(unknown) > 1 else ''} {', '.join(unknown)} in {store.backend.url}; "
            "`tickstore ls` lists its symbols"
        )


def compact(store: Tickstore, args: argparse.Namespace) -> int:
    """``tickstore compact [SYMBOL [START [END]]]``."""
    check_known(store, [args.symbol] if args.symbol else [])
    versions = store.compact(args.symbol, args.start, args.end)
    for version in versions:
        print(f"compacted {version.day} into version {version.version} ({version.rows:,} rows)")
    print(f"{len(versions)} days compacted", file=sys.stderr)
    return 0


def tag(store: Tickstore, args: argparse.Namespace) -> int:
    """``tickstore tag add NAME [--as-of T] [-m MSG]``, ``tag ls``, ``tag rm NAME``."""
    from .times import format_ns

    if args.action == "ls":
        for name, row in store.tags().iterrows():
            print(f"{name}  {row['time'].isoformat()}  {row['message']}")
        return 0
    if not args.name:
        raise InvalidInputError(f"tag {args.action} needs a NAME")
    if args.action == "add":
        made = store.tag(args.name, as_of=args.as_of, message=args.message)
        print(f"tagged {made.name} at {format_ns(made.time)}")
    else:
        removed = store.untag(args.name)
        print(f"removed tag {removed.name} (was {format_ns(removed.time)})")
    return 0


def prune(store: Tickstore, args: argparse.Namespace) -> int:
    """``tickstore prune [--symbol S] [--before T] [--keep-versions N] [--delete] [--grace D]``."""
    check_known(store, [args.symbol] if args.symbol else [])
    plans = store.prune(
        symbol=args.symbol,
        before=args.before,
        keep_versions=args.keep_versions,
        dry_run=not args.delete,
        grace=args.grace,
    )
    for plan in plans:
        verb = "pruned" if args.delete else "would prune"
        print(f"{plan.symbol}: {verb} {len(plan.versions)} versions, {len(plan.keys)} objects, {plan.bytes:,} bytes")
    versions, size = sum(len(p.versions) for p in plans), sum(p.bytes for p in plans)
    tail = "pruned" if args.delete else "would be pruned (dry run; --delete prunes)"
    print(f"{versions} versions, {size:,} bytes {tail}", file=sys.stderr)
    return 0
