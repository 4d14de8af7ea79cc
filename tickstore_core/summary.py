"""Per-symbol summaries kept in shards (``_summary/NN.json``), so listing thousands of symbols is quick.

Each entry records a symbol's current days, rows, bytes and number of versions, tagged with the
ETag of the index it was computed from: a listing uses an entry only while the index still has
that ETag, and recomputes (and rewrites) the others. Shards are a shortcut, updated best effort
after a commit: a lost race or a read-only credential only leaves an entry stale, never wrong. A
writer rewrites a symbol's entry at most once per `UPDATE_INTERVAL` (an intraday feed appending
ticks one by one would otherwise write the shard as often as the index) and writes what it held
back when the store is flushed or closed; meanwhile a listing recomputes the entries left stale.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import time
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd

from .backend import Backend, IfMatch
from .errors import CorruptObjectError, ObjectNotFoundError, TickstoreError, UnreadableIndexWarning
from .index import SymbolIndex
from .layout import INDEX_PREFIX, Layout, summary_key

__all__ = ["SUMMARY_FORMAT", "UPDATE_INTERVAL", "SummaryShards", "summary_entry", "summary_frame"]

log = logging.getLogger("tickstore")

SUMMARY_FORMAT = "tickstore-summary/1"
UPDATE_INTERVAL = 1.0
"""Seconds after a writer updated a symbol's entry during which its further commits leave it be."""
_COLUMNS = ("days", "first_day", "last_day", "rows", "bytes", "versions")
_DAY_COLUMNS = ("first_day", "last_day")

Entries = dict[str, dict[str, Any]]
ReadMutable = Callable[..., "tuple[str | None, bytes | None]"]
MapWork = Callable[[Callable[[Any], Any], Sequence[Any], str], list[Any]]


class SummaryShards:
    """The summary shards of one store, read and written through its backend."""

    def __init__(self, backend: Backend, layout: Layout, read: ReadMutable, map_work: MapWork) -> None:
        self._backend = backend
        self._layout = layout
        self._read = read
        self._map = map_work
        self._updated: dict[str, float] = {}  # symbol -> when this writer last updated its entry
        self._pending: dict[str, tuple[SymbolIndex, str]] = {}  # updates held back, written by `flush`
        self._updated_lock = threading.Lock()

    def frame(self, symbols: Sequence[str] | None) -> tuple[pd.DataFrame, bool]:
        """(the summary of ``symbols`` (default: all), whether any symbol was listed)."""
        listed = {
            symbol: meta.etag
            for meta in self._backend.list(INDEX_PREFIX)
            if (symbol := self._layout.symbol_of_index_key(meta.key))
        }
        wanted = sorted(listed) if symbols is None else list(symbols)
        shards = sorted({summary_key(s) for s in wanted})
        read = dict(zip(shards, self._map(self._read_shard, shards, "summary"), strict=True))
        stored = {s: e for _, shard in read.values() for s, e in shard.items()}
        entries = {s: stored[s] for s in wanted if s in stored and stored[s].get("etag") == listed.get(s)}
        stale = [s for s in wanted if s not in entries and s in listed]
        fresh = self._map(self._summarise, [(s, listed[s]) for s in stale], "summary")
        for symbol, entry in zip(stale, fresh, strict=True):
            if isinstance(entry, str):  # an unreadable index: say so, summarise the others
                log.warning(entry)
                warnings.warn(entry, UnreadableIndexWarning, stacklevel=3)
            elif entry is not None:
                entries[symbol] = entry
        for key, (etag, shard) in read.items():  # keep what was computed, drop what is stale or gone
            kept = {
                s: e
                for s, e in {**shard, **entries}.items()
                if summary_key(s) == key and s in listed and e.get("etag") == listed[s]
            }
            if kept != shard:
                self._write(key, kept, etag)
        return summary_frame(entries, wanted), bool(listed)

    def update(self, symbol: str, index: SymbolIndex, index_etag: str) -> None:
        """After a commit, record the symbol's new statistics in its shard (best effort). Within
        `UPDATE_INTERVAL` of this writer's last update of the symbol the update is held back until
        the next one, or `flush` (the store's ``flush`` and ``close``)."""
        now = time.monotonic()
        with self._updated_lock:
            if now - self._updated.get(symbol, -UPDATE_INTERVAL) < UPDATE_INTERVAL:
                self._pending[symbol] = (index, index_etag)
                return
            self._updated[symbol] = now
            self._pending.pop(symbol, None)
        self._record({symbol: (index, index_etag)})

    def flush(self) -> None:
        """Write the updates held back, one shard at a time."""
        with self._updated_lock:
            pending, self._pending = self._pending, {}
        by_shard: dict[str, dict[str, tuple[SymbolIndex, str]]] = {}
        for symbol, update in pending.items():
            by_shard.setdefault(summary_key(symbol), {})[symbol] = update
        for updates in by_shard.values():
            self._record(updates)

    def discard(self) -> None:
        """Drop the updates held back, unwritten (the store was destroyed: writing them would recreate a shard)."""
        with self._updated_lock:
            self._pending.clear()

    def _record(self, updates: dict[str, tuple[SymbolIndex, str]]) -> None:
        """Write the entries of ``updates`` (symbols of one shard) into that shard."""
        key = summary_key(next(iter(updates)))
        try:
            etag, entries = self._read_shard(key, offline_ok=False)
        except TickstoreError as exc:
            log.debug("summary of %s not updated: %s", self._backend.url, exc)
            return
        for symbol, (index, index_etag) in updates.items():
            entries[symbol] = {"etag": index_etag, **summary_entry(index)}
        self._write(key, entries, etag)

    def _read_shard(self, key: str, *, offline_ok: bool = True) -> tuple[str | None, Entries]:
        """(ETag, entries) of one shard; no entries if it is missing or unreadable."""
        etag, data = self._read(key, offline_ok=offline_ok)
        return etag, _entries(data)

    def _summarise(self, listed: tuple[str, str]) -> dict[str, Any] | str | None:
        """The entry of one symbol's index, tagged with the ETag it was listed with.

        The bytes read are that version of the index or a newer one; a newer one only makes the
        entry look stale to the next call, never wrong. None if the index vanished meanwhile, and
        what is wrong (a message) if it cannot be read.
        """
        symbol, etag = listed
        key = self._layout.index_key(symbol)
        try:
            index = SymbolIndex.from_bytes(self._backend.get(key), where=f"{self._backend.url}/{key}")
        except ObjectNotFoundError:
            return None
        except CorruptObjectError as exc:
            return f"{symbol}: {exc}"
        return {"etag": etag, **summary_entry(index)}

    def _write(self, key: str, entries: Entries, etag: str | None) -> None:
        data = json.dumps({"format": SUMMARY_FORMAT, "symbols": entries}, separators=(",", ":")).encode()
        try:
            self._backend.put(key, data, mode="create" if etag is None else IfMatch(etag))
        except TickstoreError as exc:  # another reader won, or no right to write: the next call tries again
            log.debug("summary of %s not updated: %s", self._backend.url, exc)


def summary_entry(index: SymbolIndex) -> dict[str, Any]:
    """A symbol's current days, their rows and bytes (None where a serenity store does not know), and its versions."""
    current = [v for v in (index.latest(d) for d in index.days()) if v is not None and v.current and v.may_have_rows]
    known = all(v.stats_known for v in current)
    return {
        "days": len(current),
        "first_day": current[0].day.isoformat() if current else None,
        "last_day": current[-1].day.isoformat() if current else None,
        "rows": sum(v.rows or 0 for v in current) if known else None,
        "bytes": sum(v.bytes or 0 for v in current) if known else None,
        "versions": len(index),
    }


def summary_frame(entries: Entries, wanted: Sequence[str]) -> pd.DataFrame:
    """The summary of the ``wanted`` symbols that have an entry, indexed by symbol."""
    rows = [
        {
            "symbol": s,
            **{c: entries[s][c] for c in _COLUMNS},
            **{c: None if entries[s][c] is None else dt.date.fromisoformat(entries[s][c]) for c in _DAY_COLUMNS},
        }
        for s in wanted
        if s in entries
    ]
    frame: pd.DataFrame = pd.DataFrame(rows, columns=["symbol", *_COLUMNS]).set_index("symbol")
    return frame


def _entries(data: bytes | None) -> Entries:
    """The entries of a shard; nothing if it is missing or unreadable (it is only a shortcut)."""
    if data is None:
        return {}
    try:
        document = json.loads(data)
        entries = document["symbols"] if document.get("format") == SUMMARY_FORMAT else {}
        return {s: e for s, e in entries.items() if isinstance(e, dict) and set(_COLUMNS) <= set(e)}
    except (ValueError, KeyError, TypeError, AttributeError):
        return {}
