"""tickstore benchmarks: our store on file://, S3 (moto_server) and Azure (Azurite) against references.

``./dev bench`` (or ``.venv/bin/python benchmarks/run.py``) generates two datasets of synthetic trades
(``side`` as a string, and all-numeric with an int8 ``side``), runs every case in a fresh process
(rows/s and peak memory), compares with ArcticDB on LMDB, on the same moto_server and Azurite and
over a shaped link, pyarrow reading the same Parquet files, pandas HDF5 and the physical limits
(memcpy, Arrow IPC mmap), runs the sub-day, column, scale and issue 13/14 checks, marks every target
of issue 12 PASS/FAIL and writes Markdown, JSON and a PNG chart to ``benchmarks/results/``. See
benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime as dt
import hashlib
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

from _prime import BYTES_PER_ROW, prime_bytes  # noqa: E402
from _servers import REGION, S3_KEY, Server, azurite, azurite_connection_string, moto_server  # noqa: E402
from _shaper import ShapedLink  # noqa: E402
from report import Row, Target, write_report  # noqa: E402

WORKER = HERE / "_worker.py"
ARCTICDB_VENV = HERE / ".venv-arcticdb"
ARCTICDB_REQUIREMENTS = HERE / "requirements-arcticdb.txt"
RESULTS = HERE / "results"
FIRST_DAY = dt.date(2024, 3, 4)
GROUPS = (
    "file",
    "s3",
    "azure",
    "pyarrow",
    "hdf5",
    "arcticdb-lmdb",
    "arcticdb-s3",
    "arcticdb-azure",
    "shaped",
    "limits",
    "subday",
    "lifecycle",
    "research",
    "sparse",
    "scale",
)
OPTIONAL = ("hdf5",)  # run only when named in --only: no target needs them
DATASETS = ("string", "numeric")
SHAPED = {"mbytes_per_s": 50.0, "latency_ms": 20.0}  # the shaped link of issue 12
SPARSE_DAYS, SPARSE_ROWS = 250, 1_000  # the sparse year: a year of trading days of an illiquid symbol
BUCKET = "tickstore-bench"
ARCTIC_BUCKET = "arcticdb-bench"


@dataclass
class Plan:
    dataset: str
    days: list[str]
    subset: list[str]
    correct_day: str
    rows_per_day: dict[str, int]
    price_sum_per_day: dict[str, float]
    work: Path
    data_dir: Path
    repeat: int
    runs: int
    timeout: float
    arcticdb_python: str | None = None
    arcticdb_problem: str = ""
    rows: list[Row] = field(default_factory=list)
    extra: list[Target] = field(default_factory=list)
    link: ShapedLink | None = None
    prime_gib: float = 2.0

    def range_of(self, days: list[str]) -> dict[str, Any]:
        last = dt.date.fromisoformat(days[-1])
        return {
            "days": days,
            "start": f"{days[0]}T00:00:00+00:00",
            "end": f"{last}T23:59:59.999999999+00:00",
        }

    @property
    def slug(self) -> str:
        return self.dataset.replace(" ", "-")

    def expected(self, days: list[str], corrected: bool = False) -> tuple[int, float]:
        """Rows and sum of prices of ``days``; ``corrected``: after the as-of case's correction (+0.5 a trade)."""
        rows, total = sum(self.rows_per_day[d] for d in days), sum(self.price_sum_per_day[d] for d in days)
        if corrected and self.correct_day in days:
            total += 0.5 * self.rows_per_day[self.correct_day]
        return rows, total


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--quick",
        "--small",
        action="store_true",
        help="small sizes for iterating (about 8 minutes on a busy 2-core machine); see the README",
    )
    parser.add_argument("--days", type=int, help="days of trades (default 20)")
    parser.add_argument("--ticks-per-day", type=int, help="trades per day (default 500,000; 20,000 with --quick)")
    parser.add_argument("--datasets", default=",".join(DATASETS), help=f"of: {', '.join(DATASETS)} (default both)")
    parser.add_argument(
        "--big-rows", type=int, help="rows of the big day (sub-day, columns, select_many; default 5,000,000)"
    )
    parser.add_argument("--appends", type=int, help="one-row appends of the issue 13 check (default 10,000)")
    parser.add_argument("--symbols", type=int, help="symbols of the scale check (default 10,000)")
    parser.add_argument(
        "--only", help=f"comma-separated groups to run, of: {', '.join(GROUPS)} (default all but {', '.join(OPTIONAL)})"
    )
    parser.add_argument("--skip", help="comma-separated groups to leave out")
    parser.add_argument("--repeat", type=int, help="reads per warm case, in one process (default 5; 3 with --quick)")
    parser.add_argument(
        "--runs", type=int, help="fresh processes per insert and cold case (default 3; 1 with --quick); best time kept"
    )
    parser.add_argument("--timeout", type=float, default=900, help="seconds one case may take")
    parser.add_argument(
        "--prime-memory",
        type=float,
        default=2,
        help="at most this many GiB that each measured process backs right before its first measured call, so "
        "no case pays for a VM's unbacked pages (default 2; 0 skips it); see benchmarks/_prime.py",
    )
    parser.add_argument(
        "--arcticdb-python", help=f"interpreter with arcticdb (default: {ARCTICDB_VENV}, made on demand)"
    )
    parser.add_argument("--workdir", help="where the data and stores go (default: a temp dir, removed at the end)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument("--results", default=str(RESULTS), help="where the report goes")
    args = parser.parse_args(argv)
    quick = args.quick
    args.days = args.days or 20
    args.repeat = args.repeat or (3 if quick else 5)
    args.runs = args.runs or (1 if quick else 3)
    args.ticks_per_day = args.ticks_per_day or (20_000 if quick else 500_000)
    args.big_rows = args.big_rows or (200_000 if quick else 5_000_000)
    args.appends = args.appends or (1_000 if quick else 10_000)
    args.symbols = args.symbols or (1_000 if quick else 10_000)
    groups = set(GROUPS) - set(OPTIONAL) if not args.only else {g.strip() for g in args.only.split(",") if g.strip()}
    groups -= {g.strip() for g in (args.skip or "").split(",") if g.strip()}
    unknown = groups - set(GROUPS)
    if unknown:
        parser.error(f"unknown group(s) {sorted(unknown)}; choose from {', '.join(GROUPS)}")
    args.datasets = [d.strip() for d in args.datasets.split(",") if d.strip()]
    if set(args.datasets) - set(DATASETS) or not args.datasets:
        parser.error(f"--datasets: choose from {', '.join(DATASETS)}")
    if args.days < 1 or args.ticks_per_day < 1:
        parser.error("--days and --ticks-per-day must be positive")
    args.groups = [g for g in GROUPS if g in groups]
    return args


# --- data ------------------------------------------------------------------------------------------


def numeric_side(frame: Any) -> Any:
    """The all-numeric dataset: ``side`` as int8 (1 buy, -1 sell) instead of a string."""
    import numpy as np

    side = np.where(frame["side"].to_numpy() == "buy", 1, -1).astype(np.int8)
    return frame.assign(side=side)


def generate(
    days: int, ticks_per_day: int, data_dir: Path, numeric: bool = False, first: dt.date = FIRST_DAY, seed: int = 0
) -> tuple[list[str], dict[str, int], dict[str, float]]:
    """Synthetic trades, one Parquet file per day encoded exactly as the store's Parquet codec does."""
    from tickstore_core.encoding import codec_for
    from tickstore_core.frames import ticks_to_table
    from tickstore_core.synthetic import synthetic_trades

    codec = codec_for("parquet")
    data_dir.mkdir(parents=True, exist_ok=True)
    names, rows, sums = [], {}, {}
    for frame in synthetic_trades(first, days, ticks_per_day, seed=seed):
        if numeric:
            frame = numeric_side(frame)
        day = frame.index[0].date().isoformat()
        (data_dir / f"{day}.parquet").write_bytes(codec.encode(ticks_to_table(frame, "time")))
        names.append(day)
        rows[day] = len(frame)
        sums[day] = float(frame["price"].sum())
    return names, rows, sums


def column_share(path: Path, columns: tuple[str, ...] = ("time", "price")) -> float:
    """The share of a Parquet file's compressed column bytes that ``columns`` hold."""
    import pyarrow.parquet as pq

    metadata = pq.ParquetFile(path).metadata
    sizes: dict[str, int] = {}
    for g in range(metadata.num_row_groups):
        group = metadata.row_group(g)
        for c in range(group.num_columns):
            chunk = group.column(c)
            sizes[chunk.path_in_schema] = sizes.get(chunk.path_in_schema, 0) + chunk.total_compressed_size
    total = sum(sizes.values())
    return sum(v for k, v in sizes.items() if k in columns) / total if total else 1.0


# --- running cases ---------------------------------------------------------------------------------


def run_case(plan: Plan, python: str, spec: dict[str, Any]) -> dict[str, Any]:
    """Run one case in a fresh process; its result, or ``{"error": ...}``."""
    rows = sum(plan.rows_per_day.get(day, 0) for day in spec.get("days", ()))
    spec = {"data_dir": str(plan.data_dir), "prime_bytes": prime_bytes(rows, plan.prime_gib), **spec}
    env = {**os.environ, "AWS_EC2_METADATA_DISABLED": "true", "PYTHONWARNINGS": "ignore"}
    env.pop("TICKSTORE_URL", None)
    try:
        done = subprocess.run(
            [python, str(WORKER), json.dumps(spec)],
            capture_output=True,
            text=True,
            timeout=plan.timeout,
            env=env,
            cwd=REPO,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {plan.timeout:.0f} s"}
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            result: dict[str, Any] = json.loads(line[len("RESULT ") :])
            return result
    tail = (done.stderr or done.stdout).strip().splitlines()[-6:]
    return {"error": f"exit {done.returncode}: " + " | ".join(tail)}


def run_cases(plan: Plan, python: str, specs: list[dict[str, Any]]) -> dict[str, Any]:
    """Run the same case once per spec (each in a fresh process): all times, the highest peak."""
    merged: dict[str, Any] = {}
    for spec in specs:
        result = run_case(plan, python, spec)
        if "error" in result:
            return result
        if not merged:
            merged = result
        else:
            merged["times"] = merged["times"] + result["times"]
            merged["peak_bytes"] = max(merged["peak_bytes"], result["peak_bytes"])
    if plan.link is not None and merged:  # bytes on the shaped link, per process
        merged["wire"] = {k: v // len(specs) for k, v in plan.link.take_stats().items()}
    return merged


def record(
    plan: Plan, store: str, op: str, result: dict[str, Any], expect: list[str] | None = None, corrected: bool = False
) -> Row:
    """Turn a worker result into a table row, checking rows and prices against the generated data."""
    row = Row(store=store, op=op, dataset=plan.dataset)
    if "error" in result:
        row.error = result["error"]
    elif "missing" in result:
        row.error = f"n/a (API missing: {result['missing']})"
    else:
        times = result["times"]
        row.rows = int(result["rows"])
        row.seconds = min(times)
        row.first_seconds = times[0]
        row.peak_bytes = int(result["peak_bytes"])
        row.frame_bytes = int(result["frame_bytes"])
        row.bytes_read = result.get("bytes_read")
        notes = []
        if "wire" in result:
            wire = result["wire"]
            notes.append(
                f"on the wire {wire.get('response_bytes', 0) / 1e6:,.0f} MB in {wire.get('requests', 0)} requests"
            )
        if "correction_seconds" in result:
            notes.append(f"correction insert {result['correction_seconds']:.2f} s")
        if "cache" in result:
            cache = result["cache"]
            notes.append(f"cache {cache['hits']} hits / {cache['misses']} misses")
        if len(times) > 1:
            notes.append(f"best of {len(times)} ({min(times):.2f}-{max(times):.2f} s)")
        if expect is not None:
            rows, price_sum = plan.expected(expect, corrected)
            if row.rows != rows:
                notes.append(f"ROWS {row.rows} != expected {rows}")
            elif "checksum" in result and abs(result["checksum"] - price_sum) > 1e-9 * abs(price_sum) + 1e-6:
                notes.append("PRICES DIFFER from the original data")
        row.notes = "; ".join(notes)
    plan.rows.append(row)
    print(row.console(), flush=True)
    return row


def _ranges(plan: Plan) -> list[tuple[str, dict[str, Any], list[str]]]:
    """All days, and 3 in the middle (once when there are only 3: the case names must differ)."""
    ranges = [(f"select {len(plan.days)}d", plan.range_of(plan.days), plan.days)]
    if plan.subset != plan.days:
        ranges.append((f"select {len(plan.subset)}d", plan.range_of(plan.subset), plan.subset))
    return ranges


def store_cases(plan: Plan, label: str, python: str, base: dict[str, Any], where: Any, cold: bool = True) -> None:
    """Insert (``plan.runs`` times, each into a fresh location ``where(i)``), then the selects on run 0's.

    Cold cases run ``plan.runs`` fresh processes (for remote stores each with an empty cache);
    warm cases read ``plan.repeat`` times in one process after a small warm-up read.
    """
    inserts = [{**base, **where(i, "insert"), "case": "insert", "days": plan.days} for i in range(plan.runs)]
    if record(plan, label, "insert", run_cases(plan, python, inserts)).error:
        return
    for name, rng, days in _ranges(plan):
        if cold:
            specs = [{**base, **where(0, f"{name}-{i}"), **rng, "case": "select"} for i in range(plan.runs)]
            record(plan, label, f"{name} cold", run_cases(plan, python, specs), days)
        spec = {**base, **where(0, f"{name}-0"), **rng, "case": "select", "warm": True, "repeat": plan.repeat}
        record(plan, label, f"{name} warm", run_case(plan, python, spec), days)
    if base["engine"] in ("ours", "arcticdb"):
        everything = plan.range_of(plan.days)
        spec = {
            **base,
            **where(0, f"select {len(plan.days)}d-0"),
            **everything,
            "case": "asof",
            "correct_day": plan.correct_day,
            "repeat": plan.repeat,
        }
        record(plan, label, f"as-of {len(plan.days)}d", run_case(plan, python, spec), plan.days)


def ours_cases(plan: Plan, label: str, url: str, options: dict[str, Any], remote: bool) -> None:
    store_cases(plan, label, sys.executable, {"engine": "ours"}, ours_where(plan, label, url, options, remote))


def ours_where(plan: Plan, label: str, url: str, options: dict[str, Any], remote: bool) -> Any:
    """Run ``i``'s store of this dataset; for remote stores a cache directory per case name (empty at first)."""

    def where(i: int, cache: str) -> dict[str, Any]:
        extra: dict[str, Any] = {"progress": False}
        if remote:
            name = re.sub(r"[^A-Za-z0-9_.-]+", "-", f"cache-{plan.slug}-{label}-{cache}")
            extra |= {"cache_dir": str(plan.work / name), "cache_size": "16GiB"}
        return {"url": f"{url}-{plan.slug}-{i}", "options": {**options, **extra}}

    return where


def reference_cases(plan: Plan, label: str, engine: str, path: Path) -> None:
    def where(i: int, what: str) -> dict[str, Any]:
        # pyarrow's selects read the generated files: the very bytes our Parquet codec stores
        return {"path": str(plan.data_dir) if engine == "pyarrow" and what != "insert" else f"{path}-{plan.slug}-{i}"}

    store_cases(plan, label, sys.executable, {"engine": engine}, where, cold=False)


def arcticdb_cases(plan: Plan, label: str, uri: str) -> None:
    if plan.arcticdb_python is None:
        record(plan, label, "insert", {"error": f"ArcticDB unavailable: {plan.arcticdb_problem}"})
        return

    def where(i: int, _: str) -> dict[str, Any]:
        return {"uri": uri, "library": f"bench_{plan.slug}{i}"}

    store_cases(plan, label, plan.arcticdb_python, {"engine": "arcticdb"}, where)


def arcticdb_azure_uri(port: int, container: str) -> str:
    """ArcticDB's URI for a container of the Azurite at ``port`` (plain http, the well-known dev account)."""
    connection = azurite_connection_string(port)
    return f"azure://{connection.rstrip(';')};Container={container}"


def shaped_cases(plan: Plan, link: ShapedLink) -> None:
    """Cold selects of the S3 stores (ours, ArcticDB) through the shaped link, each run with an empty cache."""
    options = {**s3_options(link.url), "create_bucket": False}
    where = ours_where(plan, "ours s3 (shaped link)", f"s3://{BUCKET}/ours", options, remote=True)
    plan.link = link
    try:
        link.take_stats()
        for name, rng, days in _ranges(plan):
            specs = [{"engine": "ours", **where(0, f"{name}-{i}"), **rng, "case": "select"} for i in range(plan.runs)]
            result = run_cases(plan, sys.executable, specs)
            record(plan, "ours s3 (shaped link)", f"{name} cold", result, days, corrected=True)
        if plan.arcticdb_python is None:
            return
        uri = arcticdb_s3_uri(link.port)
        for name, rng, days in _ranges(plan):
            spec = {"engine": "arcticdb", "uri": uri, "library": f"bench_{plan.dataset}0", **rng, "case": "select"}
            record(
                plan,
                "ArcticDB s3 (shaped link)",
                f"{name} cold",
                run_cases(plan, plan.arcticdb_python, [spec] * plan.runs),
                days,
                corrected=True,
            )
    finally:
        plan.link = None


def limits_cases(plan: Plan) -> None:
    """The physical limits: a numpy copy of the same buffers, and an uncompressed Arrow IPC file memory-mapped."""
    for name, rng, days in _ranges(plan):
        for label, case in (("limit: numpy memcpy", "memcpy"), ("limit: Arrow IPC mmap", "ipc")):
            path = plan.work / f"ipc-{plan.slug}-{len(days)}-{case}.arrow"
            spec = {"engine": "limits", "case": case, **rng, "path": str(path), "repeat": plan.repeat}
            record(plan, label, f"{name} warm", run_case(plan, sys.executable, spec), days)


def subday_cases(plan: Plan, stores: dict[str, tuple[str, str, dict[str, Any], bool]]) -> None:
    """The big day on every backend: one hour of it against the whole day, and one column against all (cold)."""
    (day,) = plan.days
    hour = {"days": plan.days, "start": f"{day}T14:00:00+00:00", "end": f"{day}T14:59:59.999999999+00:00"}
    whole = plan.range_of(plan.days)
    for label, url, options, remote in stores.values():
        where = ours_where(plan, label, url, options, remote)
        inserted = run_case(
            plan, sys.executable, {"engine": "ours", **where(0, "insert"), "case": "insert", "days": plan.days}
        )
        if record(plan, label, "insert", inserted).error:
            continue
        for op, rng, extra in (
            ("select 1h cold", hour, {}),
            ("select day cold", whole, {}),
            ("select day cold, columns=[price]", whole, {"columns": ["price"]}),
        ):
            specs = [
                {"engine": "ours", **where(0, f"{op}-{i}"), **rng, **extra, "case": "select"} for i in range(plan.runs)
            ]
            record(plan, label, op, run_cases(plan, sys.executable, specs), None if extra or "1h" in op else plan.days)


def _seconds(value: float | None) -> str:
    return f"{value:.3f} s" if value is not None else "missing"


def _speed_info(name: str, ours: Row, reference: Row, needed: float) -> Target:
    """An info row: how many times faster ours is than ``reference`` (their seconds / ours)."""
    return Target(
        name, _seconds(ours.seconds), _seconds(reference.seconds), reference.seconds / ours.seconds, needed, info=True
    )


def _slot_target(name: str, result: dict[str, Any], ours: str, ref: str, threshold: float, kind: str) -> Target:
    """A target of issue 13/14 from a slot result: ``result[ours] / result[ref]`` (seconds)."""
    if "missing" in result:
        return Target(name, "", "", None, threshold, kind=kind, missing="n/a (API missing)")
    if "error" in result:
        return Target(name, "error", "", None, threshold, kind=kind, missing="n/a (error)")
    mine, theirs = result.get(ours), result.get(ref)
    value = mine / theirs if mine is not None and theirs else None
    return Target(name, _seconds(mine), _seconds(theirs), value, threshold, kind=kind)


def lifecycle_cases(
    plan: Plan, stores: dict[str, tuple[str, str, dict[str, Any], bool]], appends: int, segment_day: Plan
) -> None:
    """Issue 13's costs: one-row appends, a day of 1,000 segments before and after compaction."""
    for where_name in ("file", "s3"):
        if where_name not in stores:
            continue
        label, url, options, remote = stores[where_name]
        where = ours_where(plan, label, f"{url}-appends", options, remote)
        spec = {"engine": "appends", **where(0, "appends"), "appends": appends, "budget": 240}
        result = run_case(plan, sys.executable, spec)
        print(f"  appends {label}: {json.dumps(result)}", flush=True)
        done = result.get("appends", appends)
        stopped = f" (stopped after {done:,} at the budget)" if done < appends else ""
        result["limit"] = 60.0
        plan.extra.append(
            _slot_target(
                f"issue 13: {appends:,} one-row appends, last / first append, {label}{stopped}",
                result,
                "last_seconds",
                "first_seconds",
                2.0,
                "max",
            )
        )
        plan.extra.append(
            _slot_target(
                f"issue 13: {appends:,} one-row appends, total / 60 s, {label}{stopped}",
                result,
                "total_seconds",
                "limit",
                1.0,
                "max",
            )
        )
        floor = _slot_target(
            f"issue 13: one-row appends, total / the backend's floor (two durable 1 KiB puts each), {label}",
            result,
            "total_seconds",
            "floor_seconds",
            1.0,
            "max",
        )
        plan.extra.append(dataclasses.replace(floor, info=True))
    if "file" in stores:
        label, url, options, remote = stores["file"]
        where = ours_where(segment_day, label, f"{url}-segments", options, remote)
        spec = {
            "engine": "segments",
            **where(0, "segments"),
            **segment_day.range_of(segment_day.days),
            "segments": 1000,
            "repeat": plan.repeat,
        }
        result = run_case(segment_day, sys.executable, spec)
        print(f"  segments {label}: {json.dumps(result)}", flush=True)
        plan.extra.append(
            _slot_target(
                f"issue 13: select a day of 1,000 appended segments / compacted, {label}",
                result,
                "before_seconds",
                "after_seconds",
                3.0,
                "max",
            )
        )
        plan.extra.append(
            _slot_target(
                f"issue 13: select after compaction / the day inserted whole, {label}",
                result,
                "after_seconds",
                "whole_seconds",
                1.10,
                "max",  # compaction must give back the whole day's speed; faster is no failure
            )
        )


def sparse_cases(plan: Plan, file_url: str, lmdb_uri: str | None) -> None:
    """A year of an illiquid symbol: many small days, where each object's fixed costs add up (warm reads)."""
    label = f"select {len(plan.days)}d of ~{SPARSE_ROWS:,} trades, warm"
    spec = {"engine": "sparse", "url": f"{file_url}-sparse", "options": {"progress": False}, "repeat": plan.repeat}
    ours = record(
        plan, "ours file://", label, run_case(plan, sys.executable, {**spec, **plan.range_of(plan.days)}), plan.days
    )
    if lmdb_uri is None or plan.arcticdb_python is None:
        return
    spec = {"engine": "arcticdb", "case": "sparse", "uri": lmdb_uri, "library": "sparse", **plan.range_of(plan.days)}
    theirs = record(
        plan, "ArcticDB LMDB", label, run_case(plan, plan.arcticdb_python, {**spec, "repeat": plan.repeat}), plan.days
    )
    if not ours.error and not theirs.error:
        plan.extra.append(
            _speed_info(
                f"sparse year: {label}: ours file:// / ArcticDB LMDB (a day written per call)", ours, theirs, 1.5
            )
        )


def research_cases(plan: Plan, file_url: str, big: Plan, lmdb_uri: str | None) -> None:
    """Issue 14's reads: select_many, bars, asof_join, against pandas after select and ArcticDB."""
    where = {"url": f"{file_url}-research", "options": {"progress": False}}
    result = run_case(
        big,
        sys.executable,
        {"engine": "select_many", **where, **big.range_of(big.days), "symbols": 50, "repeat": plan.repeat},
    )
    if "missing" in result or "error" in result:
        record(big, "ours file://", "select_many 50 symbols x 1 day", result)
        plan.extra.append(
            _slot_target("issue 14: select_many 50 symbols x 1 day / one symbol, same rows", result, "", "", 1.5, "max")
        )
    else:
        many = record(big, "ours file://", "select_many 50 symbols x 1 day", result, big.days)
        one = record(big, "ours file://", "select 1 symbol x 1 day (same rows)", result["one"], big.days)
        plan.extra.append(
            Target(
                "issue 14: select_many 50 symbols x 1 day / one symbol, same rows",
                _seconds(many.seconds),
                _seconds(one.seconds),
                many.seconds / one.seconds if one.seconds else None,
                1.5,
                kind="max",
            )
        )
        if lmdb_uri and plan.arcticdb_python:
            spec = {
                "engine": "arcticdb",
                "case": "read_batch",
                "uri": lmdb_uri,
                "library": "batch",
                **big.range_of(big.days),
                "symbols": 50,
                "repeat": plan.repeat,
            }
            theirs = run_case(big, plan.arcticdb_python, spec)
            batch = record(big, "ArcticDB LMDB", "read_batch 50 symbols x 1 day", theirs, big.days)
            if not batch.error:
                record(big, "ArcticDB LMDB", "read 1 symbol x 1 day (same rows)", theirs["one"], big.days)
                plan.extra.append(
                    _speed_info(
                        "issue 14: select_many 50 x 1 day vs ArcticDB LMDB read_batch (speed)", many, batch, 1.0
                    )
                )
    rng = plan.range_of(plan.days)
    store = {"url": f"{file_url}-{plan.dataset}-0", "options": {"progress": False}}
    for case, label in (("bars", f"bars 5min {len(plan.days)}d"), ("asof_join", f"asof_join {len(plan.days)}d")):
        result = run_case(plan, sys.executable, {"engine": case, **store, **rng, "repeat": plan.repeat})
        if "error" in result:
            record(plan, "ours file://", label, result)
            continue
        pandas = record(plan, "pandas after select", label, result["pandas"])
        ours = record(plan, "ours file://", label, result)
        name = f"issue 14: {label}: ours file:// vs pandas after select (speed)"
        if ours.error:
            plan.extra.append(Target(name, "", "", None, 1.0, missing="n/a (API missing)"))
        else:
            plan.extra.append(_speed_info(name, ours, pandas, 1.0))
            if case == "bars":
                plan.extra.append(
                    Target(
                        f"issue 14: {label}: peak memory / the bars",
                        f"{ours.peak_bytes / 1e6:,.0f} MB",
                        f"{ours.frame_bytes / 1e6:,.1f} MB bars",
                        ours.memory_ratio,
                        2.0,
                        kind="max",
                    )
                )
        if case == "bars" and lmdb_uri and plan.arcticdb_python:
            spec = {
                "engine": "arcticdb",
                "case": "resample",
                "uri": lmdb_uri,
                "library": f"bench_{plan.dataset}0",
                **rng,
                "repeat": plan.repeat,
            }
            resampled = record(
                plan, "ArcticDB LMDB (QueryBuilder resample)", label, run_case(plan, plan.arcticdb_python, spec)
            )
            if not ours.error and not resampled.error:
                plan.extra.append(
                    _speed_info(f"issue 14: {label}: ours vs ArcticDB resample (speed)", ours, resampled, 1.0)
                )


def arcticdb_python(given: str | None) -> tuple[str | None, str]:
    """An interpreter with arcticdb: given, or benchmarks/.venv-arcticdb (made on first use).

    ArcticDB needs pandas<3, so it lives in its own venv rather than in the dev venv.
    """
    if given:
        return given, ""
    python = ARCTICDB_VENV / "bin" / "python"
    stamp = ARCTICDB_VENV / ".requirements-sha256"
    want = hashlib.sha256(ARCTICDB_REQUIREMENTS.read_bytes()).hexdigest()
    if python.exists() and stamp.exists() and stamp.read_text() == want:
        return str(python), ""
    print(f"installing ArcticDB into {ARCTICDB_VENV} (it needs pandas<3, so not into the dev venv)", flush=True)
    try:
        if not python.exists():
            subprocess.run([sys.executable, "-m", "venv", str(ARCTICDB_VENV)], check=True, capture_output=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "-r", str(ARCTICDB_REQUIREMENTS)],
            check=True,
            capture_output=True,
            text=True,
        )
    except (OSError, subprocess.CalledProcessError) as exc:
        detail = getattr(exc, "stderr", "") or str(exc)
        return None, f"could not install it ({detail.strip().splitlines()[-1] if detail.strip() else exc})"
    stamp.write_text(want)
    return str(python), ""


# --- orchestration ---------------------------------------------------------------------------------


@contextlib.contextmanager
def servers(groups: list[str], log_dir: Path) -> Iterator[dict[str, Server]]:
    """The emulators the chosen groups need, stopped by PID when the block ends."""
    with contextlib.ExitStack() as stack:
        running: dict[str, Server] = {}
        if {"s3", "arcticdb-s3", "shaped"} & set(groups):
            running["moto"] = stack.enter_context(moto_server(log_dir))
            print(f"moto_server on {running['moto'].endpoint}", flush=True)
        if {"azure", "arcticdb-azure"} & set(groups):
            running["azurite"] = stack.enter_context(azurite(log_dir))
            print(f"Azurite on {running['azurite'].endpoint}", flush=True)
        yield running


def s3_options(endpoint: str) -> dict[str, Any]:
    return {
        "endpoint_url": endpoint,
        "region": REGION,
        "aws_access_key_id": S3_KEY,
        "aws_secret_access_key": S3_KEY,
        "create_bucket": True,
    }


def arcticdb_s3_uri(port: int) -> str:
    return f"s3://127.0.0.1:{ARCTIC_BUCKET}?port={port}&region={REGION}&access={S3_KEY}&secret={S3_KEY}"


def create_bucket(endpoint: str, bucket: str) -> None:
    import boto3

    client = boto3.client(
        "s3", endpoint_url=endpoint, region_name=REGION, aws_access_key_id=S3_KEY, aws_secret_access_key=S3_KEY
    )
    with contextlib.suppress(client.exceptions.BucketAlreadyOwnedByYou, client.exceptions.BucketAlreadyExists):
        client.create_bucket(Bucket=bucket)
    client.close()


def create_container(port: int, container: str) -> None:
    from azure.core.exceptions import ResourceExistsError
    from azure.storage.blob import BlobServiceClient

    client = BlobServiceClient.from_connection_string(azurite_connection_string(port))
    with client, contextlib.suppress(ResourceExistsError):
        client.create_container(container)


def run_scale(plan: Plan, args: argparse.Namespace) -> dict[str, Any]:
    quick = ["--rows", "20000", "--as-of-versions", "20000"] if args.quick else []
    done = subprocess.run(
        [sys.executable, str(HERE / "scale.py"), "--json", "--symbols", str(args.symbols), *quick],
        capture_output=True,
        text=True,
        timeout=plan.timeout,
        cwd=REPO,
        check=False,
    )
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            result: dict[str, Any] = json.loads(line[len("RESULT ") :])
            return result
    return {"error": f"exit {done.returncode}: " + " | ".join(done.stderr.strip().splitlines()[-6:])}


def make_plan(dataset: str, args: argparse.Namespace, work: Path, shared: Plan | None) -> Plan:
    """Generate ``dataset``'s data (``big day``: one day of ``--big-rows`` trades) and its plan."""
    data_dir = work / dataset.replace(" ", "-") / "data"
    started = time.monotonic()
    if dataset == "big day":
        days, rows_per_day, sums = generate(1, args.big_rows, data_dir, first=FIRST_DAY, seed=1)
    elif dataset == "sparse year":
        days, rows_per_day, sums = generate(SPARSE_DAYS, SPARSE_ROWS, data_dir, first=FIRST_DAY, seed=2)
    else:
        days, rows_per_day, sums = generate(args.days, args.ticks_per_day, data_dir, numeric=dataset == "numeric")
    print(f"  {dataset}: {sum(rows_per_day.values()):,} rows in {time.monotonic() - started:.1f} s", flush=True)
    middle = max(0, len(days) // 2 - 1)
    plan = Plan(
        dataset=dataset,
        days=days,
        subset=days[middle : middle + 3],
        correct_day=days[len(days) // 2],
        rows_per_day=rows_per_day,
        price_sum_per_day=sums,
        work=work,
        data_dir=data_dir,
        repeat=max(1, args.repeat),
        runs=max(1, args.runs),
        timeout=args.timeout,
        prime_gib=args.prime_memory,
    )
    if shared is not None:  # one list of rows and targets for the whole run
        plan.rows, plan.extra = shared.rows, shared.extra
        plan.arcticdb_python, plan.arcticdb_problem = shared.arcticdb_python, shared.arcticdb_problem
    return plan


def probe_apis() -> dict[str, bool]:
    """Which issue 13/14 APIs the store has (in a worker, as the cases see it)."""
    done = subprocess.run(
        [sys.executable, str(WORKER), json.dumps({"engine": "probe"})], capture_output=True, text=True, cwd=REPO
    )
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            apis: dict[str, bool] = json.loads(line[len("RESULT ") :])["apis"]
            return apis
    return {}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    began = time.monotonic()
    load_before = os.getloadavg()[0]
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so the emulators are stopped on SIGTERM too
    work = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="tickstore-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    groups = args.groups
    try:
        primed = (
            f"each measured process backed up to {args.prime_memory:g} GiB first ({BYTES_PER_ROW} bytes a row)"
            if args.prime_memory > 0
            else "memory not primed"
        )
        print(primed, flush=True)
        print(f"generating {args.days} days x ~{args.ticks_per_day:,} trades per dataset in {work}", flush=True)
        first: Plan | None = None
        plans: dict[str, Plan] = {}
        for dataset in args.datasets:
            plans[dataset] = make_plan(dataset, args, work, first)
            first = first or plans[dataset]
        assert first is not None
        if {"arcticdb-lmdb", "arcticdb-s3", "arcticdb-azure", "shaped", "research", "sparse"} & set(groups):
            python, problem = arcticdb_python(args.arcticdb_python)
            for plan in plans.values():
                plan.arcticdb_python, plan.arcticdb_problem = python, problem
        big = make_plan("big day", args, work, first) if {"subday", "research"} & set(groups) else None
        sparse = make_plan("sparse year", args, work, first) if "sparse" in groups else None
        scale: dict[str, Any] | None = None
        apis = probe_apis()
        print(f"issue 13/14 APIs: {apis}", flush=True)
        with servers(groups, work) as running, contextlib.ExitStack() as stack:
            link = None
            if "shaped" in groups:
                link = stack.enter_context(
                    ShapedLink(
                        running["moto"].port, mbytes_per_s=SHAPED["mbytes_per_s"], latency_ms=SHAPED["latency_ms"]
                    )
                )
                print(f"shaped link on {link.url}: {link.describe()}", flush=True)
            stores: dict[str, tuple[str, str, dict[str, Any], bool]] = {
                "file": ("ours file://", f"file://{work}/ours-file", {}, False)
            }
            if "moto" in running:
                stores["s3"] = ("ours s3 (moto)", f"s3://{BUCKET}/ours", s3_options(running["moto"].endpoint), True)
                create_bucket(running["moto"].endpoint, ARCTIC_BUCKET)
            if "azurite" in running:
                options = {"connection_string": azurite_connection_string(running["azurite"].port)}
                stores["az"] = ("ours az (Azurite)", f"az://{BUCKET}/ours", options, True)
                create_container(running["azurite"].port, ARCTIC_BUCKET)
            lmdb_uri = f"lmdb://{work}/arcticdb-lmdb"
            per_dataset = [g for g in groups if g not in ("subday", "lifecycle", "research", "sparse", "scale")]
            for dataset, plan in plans.items():
                for group in per_dataset:
                    print(f"--- {dataset}: {group}", flush=True)
                    if group == "file":
                        ours_cases(plan, *stores["file"])
                    elif group == "s3":
                        ours_cases(plan, *stores["s3"])
                    elif group == "azure":
                        ours_cases(plan, *stores["az"])
                    elif group == "pyarrow":
                        reference_cases(plan, "pyarrow Parquet", "pyarrow", work / "pyarrow-written")
                    elif group == "hdf5":
                        reference_cases(plan, "pandas HDF5", "pandas-hdf5", work / "pandas-hdf5")
                    elif group == "arcticdb-lmdb":
                        arcticdb_cases(plan, "ArcticDB LMDB", lmdb_uri)
                    elif group == "arcticdb-s3":
                        arcticdb_cases(plan, "ArcticDB s3 (moto)", arcticdb_s3_uri(running["moto"].port))
                    elif group == "arcticdb-azure":
                        uri = arcticdb_azure_uri(running["azurite"].port, ARCTIC_BUCKET)
                        arcticdb_cases(plan, "ArcticDB az (Azurite)", uri)
                    elif group == "shaped" and link is not None:
                        shaped_cases(plan, link)
                    elif group == "limits":
                        limits_cases(plan)
            if big is not None and "subday" in groups:
                print("--- big day: subday", flush=True)
                subday_cases(big, stores)
            if "lifecycle" in groups:
                print("--- lifecycle (issue 13)", flush=True)
                lifecycle_cases(first, stores, args.appends, dataclasses.replace(first, days=first.days[:1]))
            if "research" in groups and "file" not in groups:
                print("--- research (issue 14) needs the group `file` (bars and asof_join read its store)", flush=True)
            elif "research" in groups and big is not None:
                print("--- research (issue 14)", flush=True)
                research_cases(first, stores["file"][1], big, lmdb_uri if "arcticdb-lmdb" in groups else None)
            if sparse is not None:
                print("--- sparse year", flush=True)
                sparse_cases(sparse, stores["file"][1], lmdb_uri)
            if "scale" in groups:
                print("--- scale", flush=True)
                scale = run_scale(first, args)
                print(json.dumps(scale, indent=1), flush=True)
        meta = {
            "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "datasets": [f"{d} ({'side int8' if d == 'numeric' else 'side string'})" for d in plans],
            "days": len(first.days),
            "ticks_per_day": args.ticks_per_day,
            "total_rows": sum(first.rows_per_day.values()),
            "big_rows": sum(big.rows_per_day.values()) if big else 0,
            "column_share": column_share(big.data_dir / f"{big.days[0]}.parquet") if big else None,
            "subset": f"{first.subset[0]}..{first.subset[-1]}",
            "correct_day": first.correct_day,
            "repeat": first.repeat,
            "runs": first.runs,
            "shaped_link": f"{SHAPED['mbytes_per_s']:g} MB/s each way, +{SHAPED['latency_ms']:g} ms per request",
            "apis": apis,
            "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {_memory_gib():.0f} GiB, {platform.system()}",
            "python": platform.python_version(),
            "versions": _versions(first),
            "groups": groups,
            "seconds": time.monotonic() - began,
            "load": f"{load_before:.1f} before, {os.getloadavg()[0]:.1f} after (1-minute load average)",
            "primed": primed,
        }
        paths = write_report(Path(args.results), meta, first.rows, scale, first.extra)
        print(f"\nfinished in {meta['seconds']:.0f} s; report: {', '.join(map(str, paths))}")
        return 0
    finally:
        if not args.keep and not args.workdir:
            shutil.rmtree(work, ignore_errors=True)
        elif args.keep:
            print(f"kept {work}")


def _memory_gib() -> float:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    except (ValueError, OSError, AttributeError):
        return 0.0


def _commit() -> str:
    """The repo's commit, marked dirty when the core or a backend has uncommitted changes."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True)
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "tickstore_core", "backends"],
            cwd=REPO,
            capture_output=True,
            text=True,
        )
    except OSError:
        return "unknown"
    return head.stdout.strip() + (" (core with uncommitted changes)" if dirty.stdout.strip() else "")


def _versions(plan: Plan) -> dict[str, str]:
    import importlib.metadata as metadata

    found = {"commit": _commit()}
    for name in ("tickstore-core", "pandas", "pyarrow", "tables", "boto3", "azure-storage-blob", "moto"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            found[name] = metadata.version(name)
    if plan.arcticdb_python:
        code = "import arcticdb, pandas; print(arcticdb.__version__, pandas.__version__)"
        done = subprocess.run([plan.arcticdb_python, "-c", code], capture_output=True, text=True, check=False)
        if done.returncode == 0:
            arctic, pandas = done.stdout.split()
            found["arcticdb"] = f"{arctic} (pandas {pandas})"
    return found


if __name__ == "__main__":
    sys.exit(main())
