"""Micro-benchmark of the store's paths in one process (a private tool of the perf work; run.py is the harness).

    .venv/bin/python benchmarks/micro_store.py [--days 5] [--ticks-per-day 500000] [--big-day 5000000]
        [--only file,s3] [--repeat 3]

Per store: insert (a day per call), warm select of every day (second and later reads; S3 from the
cache), "cold" select (a new store object, so the index is loaded again; S3 with an empty cache
directory; file:// with the OS page cache warm), then on one day of ``--big-day`` ticks the select
of one hour against the whole day. Best of ``--repeat``. Runs against whatever ``tickstore_core`` is
importable, so the same script measures two checkouts (PYTHONPATH) on the same machine in one go.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _servers import REGION, S3_KEY, moto_server  # noqa: E402

import tickstore_core as ts  # noqa: E402
from tickstore_core.synthetic import synthetic_day, synthetic_trades  # noqa: E402

SYMBOL = "BTCUSD"


def best(call: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """The best wall time of ``repeat`` calls (and the last result); the CPU time of that call goes to CPU."""
    times, result = [], None
    for _ in range(repeat):
        began, cpu = time.perf_counter(), time.process_time()
        result = call()
        times.append((time.perf_counter() - began, time.process_time() - cpu))
    wall, CPU[0] = min(times)
    return wall, result


CPU = [0.0]  # process CPU seconds of the last measured call (this process only: not moto_server's)


@contextmanager
def stores(only: set[str], tmp: Path) -> Iterator[list[tuple[str, str, dict[str, Any]]]]:
    found: list[tuple[str, str, dict[str, Any]]] = []
    if "file" in only:
        found.append(("file", f"file://{tmp}/file-store", {}))
    if "s3" not in only:
        yield found
        return
    with moto_server(tmp) as server:
        options = {
            "endpoint_url": server.endpoint,
            "region": REGION,
            "aws_access_key_id": S3_KEY,
            "aws_secret_access_key": S3_KEY,
            "create_bucket": True,
        }
        found.append(("s3", "s3://tickstore-micro/db", options))
        yield found


def measure(
    name: str,
    url: str,
    options: dict[str, Any],
    tmp: Path,
    frames: list[Any],
    big: Any,
    repeat: int,
    line: Callable[[str, str, float, int], None],
) -> None:
    rows = sum(len(f) for f in frames)
    cache_dir = tmp / f"cache-{name}"
    opened = dict(options, progress=False, cache_dir=str(cache_dir), cache_size="16GiB")
    with ts.open_store(url, **opened) as store:
        began, cpu = time.perf_counter(), time.process_time()
        for frame in frames:
            store.insert(SYMBOL, frame)
        CPU[0] = time.process_time() - cpu
        line(name, "insert (a day per call)", time.perf_counter() - began, rows)
    colds = []
    for _ in range(repeat):
        shutil.rmtree(cache_dir, ignore_errors=True)
        with ts.open_store(url, **opened) as store:
            began, cpu = time.perf_counter(), time.process_time()
            out = store.select(SYMBOL)
            colds.append((time.perf_counter() - began, time.process_time() - cpu))
            assert len(out) == rows
    wall, CPU[0] = min(colds)
    line(name, "select all cold", wall, rows)
    with ts.open_store(url, **opened) as store:
        store.select(SYMBOL)
        store.flush()
        warm, _ = best(lambda: store.select(SYMBOL), repeat)
        line(name, "select all warm", warm, rows)
        first = frames[0].index[0]
        hour = (first.floor("D") + dt.timedelta(hours=10), first.floor("D") + dt.timedelta(hours=11))
        t, out = best(lambda: store.select(SYMBOL, *hour, columns=["price"]), repeat)
        line(name, "an hour, one column, warm", t, len(out))
    if big is None:
        return
    with ts.open_store(url, **opened) as store:
        store.insert("BIG", big)
    with ts.open_store(url, **opened) as store:
        day = big.index[0].floor("D")
        store.select("BIG", day, day + dt.timedelta(minutes=1))
        store.flush()
        t_day, whole = best(lambda: store.select("BIG", day, day + dt.timedelta(days=1)), repeat)
        line(name, "big day: whole day, warm", t_day, len(whole))
        span = (day + dt.timedelta(hours=10), day + dt.timedelta(hours=11))
        t_hour, hour_rows = best(lambda: store.select("BIG", *span), repeat)
        line(name, "big day: one hour, warm", t_hour, len(hour_rows))
        print(f"{name:<5} big day: hour is {t_day / t_hour:.1f}x faster than the day")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=int, default=5)
    parser.add_argument("--ticks-per-day", type=int, default=500_000)
    parser.add_argument("--big-day", type=int, default=5_000_000)
    parser.add_argument("--only", default="file,s3")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    frames = list(synthetic_trades(dt.date(2024, 3, 4), args.days, args.ticks_per_day))
    rows = sum(len(f) for f in frames)
    big = synthetic_day(dt.date(2024, 4, 1), args.big_day) if args.big_day else None
    print(f"tickstore_core from {Path(ts.__file__).parent}; {args.days} days, {rows:,} rows")

    def line(name: str, what: str, seconds: float, n: int) -> None:
        rate = n / seconds / 1e6
        cpu = CPU[0] * 1e3
        print(f"{name:<5} {what:<28} {seconds * 1e3:9.1f} ms {rate:8.2f} M rows/s  cpu {cpu:8.1f} ms", flush=True)

    with (
        tempfile.TemporaryDirectory(prefix="tickstore-micro-") as tmp_name,
        stores(set(args.only.split(",")), Path(tmp_name)) as found,
    ):
        for name, url, options in found:
            measure(name, url, options, Path(tmp_name), frames, big, args.repeat, line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
