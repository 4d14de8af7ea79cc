"""Where the time goes: cProfile of insert and of a warm 20-day select on file:// and on S3 (moto) with cache.

For S3 also a cold select (cache cleared). The store reads days on a thread pool, which cProfile
does not follow, so the profiled calls run their per-day work on the calling thread (the engine's
``map`` is replaced on this instance only; the core is not changed). The wall time with the pool
is printed too.

    .venv/bin/python benchmarks/profile_select.py [--days 20] [--ticks-per-day 500000] [--top 25]

Profiles are saved as ``benchmarks/results/profile-<store>-<what>.prof`` (open with snakeviz or pstats).
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import io
import pstats
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _servers import REGION, S3_KEY, moto_server  # noqa: E402

import tickstore_core as ts  # noqa: E402
from tickstore_core.synthetic import synthetic_trades  # noqa: E402

SYMBOL = "BTCUSD"


def _sequential(work: Callable[[Any], Any], items: Sequence[Any], description: str) -> list[Any]:
    return [work(item) for item in items]


def _profile(call: Callable[[], Any]) -> cProfile.Profile:
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        call()
    finally:
        profiler.disable()
    return profiler


def _print(title: str, profiler: cProfile.Profile, path: Path, top: int, orders: Sequence[str]) -> None:
    profiler.dump_stats(path)
    print(f"\n=== {title}; profile in {path}")
    for order in orders:
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).strip_dirs().sort_stats(order).print_stats(top)
        body = text.getvalue()
        print(f"--- by {order}\n" + body[body.find("   ncalls") :].rstrip() + "\n")


def profile_store(name: str, store: ts.Tickstore, frames: list[Any], top: int, out: Path) -> None:
    pooled_map = store.engine.map
    store.engine.map = _sequential  # type: ignore[method-assign]  # so that cProfile sees the per-day work
    rows = sum(len(f) for f in frames)

    def insert() -> None:
        for frame in frames:
            store.insert(SYMBOL, frame)

    began = time.perf_counter()
    profiler = _profile(insert)
    seconds = time.perf_counter() - began
    _print(
        f"{name}: insert {rows:,} rows, {seconds:.3f} s profiled",
        profiler,
        out / f"profile-{name}-insert.prof",
        top,
        ["tottime"],
    )

    start, end = frames[0].index[0], frames[-1].index[-1]
    store.engine.map = pooled_map  # type: ignore[method-assign]
    store.select(SYMBOL, start, end)  # fills the cache; later reads are warm
    timings = []
    for _ in range(3):
        began = time.perf_counter()
        store.select(SYMBOL, start, end)
        timings.append(time.perf_counter() - began)
    store.engine.map = _sequential  # type: ignore[method-assign]
    began = time.perf_counter()
    store.select(SYMBOL, start, end)
    sequential = time.perf_counter() - began
    profiler = _profile(lambda: store.select(SYMBOL, start, end))
    best = min(timings)
    title = (
        f"{name}: warm select of {rows:,} rows: {best:.3f} s with the pool ({rows / best / 1e6:.2f} M rows/s), "
        f"{sequential:.3f} s on one thread"
    )
    _print(title, profiler, out / f"profile-{name}-warm.prof", top, ["tottime", "cumulative"])
    if store.cache is not None:
        store.cache.clear()
        store.flush()
        began = time.perf_counter()
        profiler = _profile(lambda: store.select(SYMBOL, start, end))
        seconds = time.perf_counter() - began
        title = f"{name}: cold select (cache cleared) of {rows:,} rows, {seconds:.3f} s profiled on one thread"
        _print(title, profiler, out / f"profile-{name}-cold.prof", top, ["tottime"])
    store.engine.map = pooled_map  # type: ignore[method-assign]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=int, default=20)
    parser.add_argument("--ticks-per-day", type=int, default=500_000)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--only", default="file,s3", help="file, s3 or both")
    args = parser.parse_args(argv)
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    frames = list(synthetic_trades(dt.date(2024, 3, 4), args.days, args.ticks_per_day))
    wanted = {s.strip() for s in args.only.split(",")}
    with tempfile.TemporaryDirectory(prefix="tickstore-profile-") as tmp:
        if "file" in wanted:
            with ts.open_store(f"file://{tmp}/file-store", progress=False) as store:
                profile_store("file", store, frames, args.top, out)
        if "s3" in wanted:
            with moto_server(Path(tmp)) as server:
                options = {
                    "endpoint_url": server.endpoint,
                    "region": REGION,
                    "aws_access_key_id": S3_KEY,
                    "aws_secret_access_key": S3_KEY,
                    "create_bucket": True,
                }
                with ts.open_store(
                    "s3://tickstore-profile/db", cache_dir=f"{tmp}/cache", cache_size="16GiB", progress=False, **options
                ) as store:
                    profile_store("s3", store, frames, args.top, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
