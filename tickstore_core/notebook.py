"""How a store shows itself in Jupyter: a small HTML summary, never a secret."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from .errors import CorruptObjectError, TickstoreError

if TYPE_CHECKING:
    from .store import Tickstore

__all__ = ["store_summary_html"]

MAX_SYMBOLS_SHOWN = 20


def _row(name: str, value: object) -> str:
    cell = "style='text-align:left'"
    return f"<tr><th {cell}>{html.escape(name)}</th><td {cell}>{html.escape(str(value))}</td></tr>"


def store_summary_html(store: Tickstore) -> str:
    """Backend URL, encoding, time settings, the first symbols with their day ranges, cache stats."""
    rows = [
        _row("backend", store.backend.url),
        _row("encoding", f"{store.codec.name} ({store.layout.name} layout)"),
        _row("time zone", store.tz),
        _row("timestamp column", store.timestamp_column),
    ]
    try:
        symbols = store.symbols()
        rows.append(_row("symbols", len(symbols)))
        for symbol in symbols[:MAX_SYMBOLS_SHOWN]:
            try:
                days = store.days(symbol)
            except CorruptObjectError as exc:  # one unreadable index: say so, show the others
                rows.append(_row(f"  {symbol}", f"unreadable: {exc}"))
                continue
            span = f"{len(days)} days, {days[0]} .. {days[-1]}" if days else "no days with ticks"
            rows.append(_row(f"  {symbol}", span))
        if len(symbols) > MAX_SYMBOLS_SHOWN:
            rows.append(_row("  ...", f"{len(symbols) - MAX_SYMBOLS_SHOWN} more"))
    except TickstoreError as exc:
        rows.append(_row("symbols", f"unavailable: {exc}"))
    stats = store.cache_stats()
    if stats.get("enabled"):
        shown = ("hits", "misses", "bytes_from_cache", "bytes_fetched", "evictions", "entries", "volume", "size_limit")
        rows.append(_row("cache", ", ".join(f"{k}={stats[k]:,}" for k in shown)))
        rows.append(_row("cache directory", stats["directory"]))
        if "problem" in stats:  # turned off or read-only after a failure: say so, not only the counters
            rows.append(_row("cache problem", stats["problem"]))
    else:
        rows.append(_row("cache", "off"))
    return f"<table><caption>tickstore</caption>{''.join(rows)}</table>"
