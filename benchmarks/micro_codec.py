"""Micro-benchmark of the per-day costs of the read and write paths (a private tool of the perf work).

    .venv/bin/python benchmarks/micro_codec.py [--ticks 500000] [--days 4] [--repeat 5]

Prints the best of ``--repeat`` timings of each step on one synthetic day (checksums, each codec's
encode and decode, the DataFrame conversion of ``--days`` decoded days).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import time
import zlib
from collections.abc import Callable
from typing import Any

import pyarrow as pa

from tickstore_core.encoding import codec_for
from tickstore_core.frames import frame_from_tables, ticks_to_table
from tickstore_core.synthetic import synthetic_day


def best(call: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        call()
        times.append(time.perf_counter() - began)
    return min(times)


def measure_codec(name: str, table: pa.Table, repeat: int, report: Callable[..., None]) -> None:
    codec = codec_for(name)
    payload = codec.encode(table)
    report(f"{name} encode", best(lambda: codec.encode(table), repeat), len(payload))
    report(f"{name} decode", best(lambda: codec.decode(payload, timestamp_column="time", columns=None), repeat))
    report(
        f"{name} decode ['price']",
        best(lambda: codec.decode(payload, timestamp_column="time", columns=["price"]), repeat),
    )
    report(f"  sha256 of {name}", best(lambda: hashlib.sha256(payload).digest(), repeat))
    report(f"  crc32 of {name}", best(lambda: zlib.crc32(payload), repeat))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ticks", type=int, default=500_000)
    parser.add_argument("--days", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--codecs", default="parquet,hdf5,arrow")
    args = parser.parse_args()
    frame = synthetic_day(dt.date(2024, 3, 4), args.ticks)
    table = ticks_to_table(frame, "time")
    rows = table.num_rows
    size = table.nbytes
    print(f"{rows:,} rows, {size / 1e6:.1f} MB as Arrow")

    def report(what: str, seconds: float, nbytes: int = 0) -> None:
        extra = f", {nbytes / 1e6:.1f} MB" if nbytes else ""
        print(f"  {what:<42} {seconds * 1e3:8.2f} ms  {rows / seconds / 1e6:7.1f} M rows/s{extra}")

    for name in args.codecs.split(","):
        measure_codec(name, table, args.repeat, report)
    tables = [table] * args.days
    report(
        f"frame_from_tables x{args.days} (per day)",
        best(lambda: frame_from_tables(list(tables), "time", "UTC"), args.repeat) / args.days,
    )
    numbers = table.drop_columns(["side"])
    report(
        f"  without side x{args.days} (per day)",
        best(lambda: frame_from_tables([numbers] * args.days, "time", "UTC"), args.repeat) / args.days,
    )
    report(
        f"  pa.concat+to_pandas x{args.days} (per day)",
        best(lambda: pa.concat_tables(tables).to_pandas(), args.repeat) / args.days,
    )


if __name__ == "__main__":
    main()
