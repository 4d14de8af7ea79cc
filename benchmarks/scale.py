"""Scale checks: index lookups with 10 years of days, and opening a store with 1,000 symbols.

1. A symbol with ~3,650 days, a fifth of them corrected once and some twice, built directly as a
   :class:`tickstore_core.index.SymbolIndex` and installed in a ``memory://`` store. Measured: the
   index lookup of a select (``SymbolIndex.lookup``), the store's whole query planning with the
   index in memory (argument checks, day bounds, lookup, filtering: everything a select does
   before reading data), for a 3-day, a 20-day and an as-of range; and, for information, parsing
   the index object (what a select pays when the index is reloaded).
2. A store with 1,000 symbols (one tiny insert each), on ``memory://`` and on ``file://`` (the
   HDF5 backend): opening it, then selecting one symbol, through a backend wrapper that counts
   get/head/list/put calls. Opening must not read every symbol's index.

``python benchmarks/scale.py`` prints the checks; ``--json`` prints one ``RESULT {...}`` line.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import datetime as dt
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

import pandas as pd

import tickstore_core as ts
from tickstore_core import Backend, ObjectMeta, Tickstore
from tickstore_core.index import SymbolIndex, Version
from tickstore_core.plugins import get_registry
from tickstore_core.query import plan_query
from tickstore_core.times import TIME_MAX, TIME_MIN

SYMBOL = "BTCUSD"
LOOKUP_LIMIT_S = 1e-3


def _median_seconds(call: Callable[[], Any], runs: int) -> float:
    call()
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def ten_year_index(days: int = 3650, first: dt.date = dt.date(2015, 1, 1)) -> SymbolIndex:
    """``days`` consecutive days of one symbol: every 5th day corrected once, every 50th twice."""
    versions = []
    day_ns = 86_400 * 10**9
    for i in range(days):
        day = first + dt.timedelta(days=i)
        midnight = int(pd.Timestamp(day, tz="UTC").value)
        count = 1 + (i % 5 == 0) + (i % 50 == 0)
        starts = [TIME_MIN] + [midnight + (k + 1) * day_ns for k in range(count - 1)]
        ends = [*starts[1:], TIME_MAX]
        for number in range(count):
            versions.append(
                Version(
                    day=day,
                    version=number,
                    key=f"data/{SYMBOL}/{day:%Y/%m/%d}/{i:x}-{number}.parquet",
                    start_time=starts[number],
                    end_time=ends[number],
                    recorded_at=max(starts[number], midnight + day_ns),
                    rows=500_000,
                    bytes=9_000_000,
                    min_time=midnight + 1,
                    max_time=midnight + day_ns - 1,
                    columns=("price", "size", "side", "trade_id"),
                    schema="0123456789abcdef",
                    checksum="sha256:" + "0" * 64,
                )
            )
    return SymbolIndex(SYMBOL, versions)


def index_checks() -> list[dict[str, Any]]:
    index = ten_year_index()
    days = index.days()
    data = index.to_bytes()
    store = ts.open_store("memory://bench-scale-index", progress=False)
    try:
        store.insert(SYMBOL, pd.DataFrame({"price": [1.0]}, index=pd.to_datetime(["2015-01-01 00:00:01"], utc=True)))
        store.backend.put(store.layout.index_key(SYMBOL), data, mode="overwrite")
        store.flush()
        store.days(SYMBOL)  # loaded, in memory (index_ttl)
        assert len(store.engine.index(SYMBOL)) == len(index)
        middle = days[len(days) // 2]
        ranges = {
            "3 days": (middle, middle + dt.timedelta(days=2), None),
            "20 days": (middle, middle + dt.timedelta(days=19), None),
            "20 days as-of": (middle, middle + dt.timedelta(days=19), int(pd.Timestamp(middle, tz="UTC").value)),
        }
        checks = []
        for name, (first, last, as_of) in ranges.items():
            found = index.lookup(first, last, as_of)
            seconds = _median_seconds(lambda f=first, la=last, a=as_of: index.lookup(f, la, a), 2000)
            checks.append(_check(f"SymbolIndex.lookup, {name} of {len(days):,} days ({len(found)} versions)", seconds))
            start = pd.Timestamp(first, tz="UTC")
            end = pd.Timestamp(last, tz="UTC") + pd.Timedelta(days=1) - pd.Timedelta(1, "ns")
            as_of_ts = None if as_of is None else pd.Timestamp(as_of, tz="UTC")
            query = plan_query(store.engine, SYMBOL, start, end, as_of_ts, None)
            assert len(query.versions) == len(found), (len(query.versions), len(found))
            seconds = _median_seconds(
                lambda s=start, e=end, a=as_of_ts: plan_query(store.engine, SYMBOL, s, e, a, None), 2000
            )
            checks.append(_check(f"select planning (plan_query, index in memory), {name}", seconds))
        parse = _median_seconds(lambda: SymbolIndex.from_bytes(data, where="bench"), 5)
        checks.append(
            {
                "name": f"index reload: parse {len(index):,} versions ({len(data) / 1e6:.1f} MB JSON)",
                "measured": f"{parse * 1e3:.1f} ms",
                "seconds": parse,
                "passed": None,
            }
        )
        return checks
    finally:
        store.close()


def _check(name: str, seconds: float) -> dict[str, Any]:
    return {
        "name": name,
        "measured": f"{seconds * 1e6:.0f} us",
        "seconds": seconds,
        "needed": "< 1 ms",
        "passed": seconds < LOOKUP_LIMIT_S,
    }


# --- opening a store with many symbols -------------------------------------------------------------


def counting(inner: Backend) -> Any:
    """``inner`` behind a wrapper counting its calls (by verb, and the keys read)."""

    class Counting(Backend):
        name: ClassVar[str] = inner.name
        schemes: ClassVar[tuple[str, ...]] = inner.schemes
        encoding: ClassVar[str] = inner.encoding
        layout: ClassVar[str] = inner.layout
        is_local: ClassVar[bool] = inner.is_local

        def __init__(self) -> None:
            self.calls: collections.Counter[str] = collections.Counter()
            self.index_reads = 0

        @classmethod
        def from_url(cls, url: str, **options: Any) -> Backend:
            raise NotImplementedError

        @property
        def url(self) -> str:
            return inner.url

        def _count(self, verb: str, key: str) -> None:
            self.calls[verb] += 1
            if key.startswith("_index/") and verb in ("get", "head"):
                self.index_reads += 1

        def get(self, key: str) -> bytes:
            self._count("get", key)
            return inner.get(key)

        def head(self, key: str) -> ObjectMeta:
            self._count("head", key)
            return inner.head(key)

        def put(self, key: str, data: bytes, *, mode: Any = "overwrite") -> ObjectMeta:
            self._count("put", key)
            return inner.put(key, data, mode=mode)

        def list(self, prefix: str = "") -> Iterator[ObjectMeta]:
            self._count("list", prefix)
            return inner.list(prefix)

        def delete(self, key: str) -> None:
            self._count("delete", key)
            inner.delete(key)

        def lock(self, name: str) -> contextlib.AbstractContextManager[None]:
            return inner.lock(name)

        def close(self) -> None:
            inner.close()

    return Counting()


def many_symbols(url: str, symbols: int, options: dict[str, Any]) -> list[dict[str, Any]]:
    tick = pd.DataFrame({"price": [42_000.0]}, index=pd.to_datetime(["2024-03-04 12:00"], utc=True))
    began = time.perf_counter()
    with ts.open_store(url, progress=False, **options) as store:
        for i in range(symbols):
            store.insert(f"SYM{i:04d}", tick)
    built = time.perf_counter() - began
    scheme = url.partition("://")[0]
    inner = get_registry().backend_class(scheme).from_url(url, **options)
    backend = counting(inner)
    start = time.perf_counter()
    store = Tickstore(backend, progress=False)
    opened = time.perf_counter() - start
    at_open = dict(backend.calls)
    index_reads_at_open = backend.index_reads
    try:
        backend.calls.clear()
        frame = store.select("SYM0500", "2024-03-04", "2024-03-05")
        assert len(frame) == 1
        at_select = dict(backend.calls)
    finally:
        store.close()
    total = sum(at_open.values())
    label = f"{scheme}:// with {symbols:,} symbols"
    return [
        {
            "name": f"open a {label} (built in {built:.1f} s): backend calls",
            "measured": f"{total} ({_verbs(at_open)}), {index_reads_at_open} index reads, {opened * 1e3:.1f} ms",
            "needed": "no index read; calls independent of symbols",
            "passed": index_reads_at_open == 0 and total <= 5,
            "calls": at_open,
        },
        {
            "name": f"then select one symbol of the {label}: backend calls",
            "measured": f"{sum(at_select.values())} ({_verbs(at_select)})",
            "passed": None,
            "calls": at_select,
        },
    ]


def _verbs(calls: dict[str, int]) -> str:
    return ", ".join(f"{verb} {n}" for verb, n in sorted(calls.items())) or "none"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true", help="print one RESULT {...} line")
    parser.add_argument("--symbols", type=int, default=1000)
    args = parser.parse_args(argv)
    checks = index_checks()
    checks += many_symbols("memory://bench-scale-symbols", args.symbols, {})
    with tempfile.TemporaryDirectory(prefix="tickstore-scale-") as tmp:
        checks += many_symbols(f"file://{tmp}/store", args.symbols, {"fsync": False})
    if args.json:
        print("RESULT " + json.dumps({"checks": checks}), flush=True)
    else:
        for check in checks:
            mark = "info" if check.get("passed") is None else ("PASS" if check["passed"] else "FAIL")
            print(f"{mark:>4}  {check['name']}: {check['measured']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
