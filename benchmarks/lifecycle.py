"""The version lifecycle's costs (issue 13): many small appends, a fragmented day, a long history.

    .venv/bin/python benchmarks/lifecycle.py [--appends 10000] [--backends file s3]

Measures, per backend (file://, and S3 on a moto_server it starts):

- N one-row appends into one day: the mean cost of the first and last 5 % and the total (the
  issue asks: last <= 2x first, total under 60 s);
- a select of a day made of up to 32 appended segments (compaction merges at 32) against the same
  day compacted into one object;
- opening a store and an as-of lookup in a history of 100,000 versions (index work only; the
  issue asks under 100 ms).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import tickstore_core as ts
from tickstore_core.index import SymbolIndex
from tickstore_core.testing import make_ticks
from tickstore_core.times import TIME_MAX, TIME_MIN

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _servers import REGION, S3_KEY, moto_server

DAY = dt.date(2024, 3, 4)


def appends(url: str, options: dict[str, Any], count: int) -> dict[str, float]:
    base = pd.Timestamp(DAY, tz="UTC")
    costs = []
    with ts.open_store(url, cache=False, **options) as store:
        started = time.perf_counter()
        for i in range(count):
            tick = pd.DataFrame(
                {"price": [100.0 + i], "size": [1.0]},
                index=pd.DatetimeIndex([base + pd.Timedelta(seconds=i)], name="time"),
            )
            begun = time.perf_counter()
            store.append("APPEND", tick)
            costs.append(time.perf_counter() - begun)
        total = time.perf_counter() - started
        assert len(store.select("APPEND")) == count
    tail = max(1, count // 20)
    first, last = float(np.mean(costs[:tail])), float(np.mean(costs[-tail:]))
    return {"first_ms": first * 1e3, "last_ms": last * 1e3, "last/first": last / first, "total_s": total}


def fragmented(url: str, options: dict[str, Any], segments: int = 31, rows: int = 2_000) -> dict[str, float]:
    with ts.open_store(url, cache=False, **options) as store:
        for i in range(segments):
            store.append("FRAG", make_ticks(DAY, rows, seed=i))
        segmented = _best(lambda: store.select("FRAG"))
        store.compact("FRAG")
        compacted = _best(lambda: store.select("FRAG"))
    return {"segmented_ms": segmented * 1e3, "compacted_ms": compacted * 1e3, "ratio": segmented / compacted}


def long_history(count: int = 100_000) -> dict[str, float]:
    url = f"memory://history-{time.time_ns()}"
    store = ts.open_store(url)
    store.insert("OTHER", make_ticks(DAY, 1))
    index = SymbolIndex("H", loader=store.engine.chunks.read)
    template = store.engine.encode(DAY, make_ticks(DAY, 1).pipe(_table)).version
    for number in range(count):
        latest = index.latest(DAY)
        ended = [] if latest is None else [dataclasses.replace(latest, end_time=number * 1_000)]
        start = TIME_MIN if number == 0 else number * 1_000
        version = dataclasses.replace(template, version=number, key=f"k{number}", start_time=start, end_time=TIME_MAX)
        index, _ = store.engine.chunks.seal("H", index.replace([*ended, version]))
    store.backend.put(store.layout.index_key("H"), index.to_bytes(), mode="overwrite")
    started = time.perf_counter()
    with ts.open_store(url) as fresh:
        (found,) = fresh.engine.index("H").lookup(DAY, DAY, (count // 2) * 1_000 + 1)
    elapsed = time.perf_counter() - started
    assert found.version == count // 2
    return {"open_and_as_of_ms": elapsed * 1e3}


def _table(frame: pd.DataFrame) -> Any:
    from tickstore_core.frames import ticks_to_table

    return ticks_to_table(frame, "time")


def _best(work: Any, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--appends", type=int, default=10_000)
    parser.add_argument("--backends", nargs="+", default=["file", "s3"], choices=["file", "s3"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        for backend in args.backends:
            if backend == "file":
                targets = [(f"file://{work}/a", {}), (f"file://{work}/f", {})]
                report(backend, targets, args.appends)
            else:
                with moto_server(Path(work)) as server:
                    options = {
                        "endpoint_url": server.endpoint,
                        "region": REGION,
                        "aws_access_key_id": S3_KEY,
                        "aws_secret_access_key": S3_KEY,
                        "create_bucket": True,
                    }
                    report(backend, [("s3://lifecycle/a", options), ("s3://lifecycle/f", options)], args.appends)
    print(f"history of 100,000 versions: {long_history()}", flush=True)


def report(backend: str, targets: list[tuple[str, dict[str, Any]]], count: int) -> None:
    (append_url, append_options), (frag_url, frag_options) = targets
    print(f"{backend}: {count} one-row appends: {appends(append_url, append_options, count)}", flush=True)
    print(f"{backend}: fragmented day vs compacted: {fragmented(frag_url, frag_options)}", flush=True)


if __name__ == "__main__":
    main()
