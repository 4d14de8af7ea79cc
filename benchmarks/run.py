"""tickstore benchmarks: our store on file://, S3 (moto_server) and Azure (Azurite) against references.

``./dev bench`` (or ``.venv/bin/python benchmarks/run.py``) generates synthetic trades, runs every
case in a fresh process (rows/s and peak memory), compares with pyarrow reading the same Parquet
files, pandas HDF5, and ArcticDB on LMDB and on the same moto_server, runs the index scale checks,
and writes Markdown, JSON and a PNG chart to ``benchmarks/results/``. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
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

from _servers import REGION, S3_KEY, Server, azurite, azurite_connection_string, moto_server  # noqa: E402
from report import Row, write_report  # noqa: E402

WORKER = HERE / "_worker.py"
ARCTICDB_VENV = HERE / ".venv-arcticdb"
ARCTICDB_REQUIREMENTS = HERE / "requirements-arcticdb.txt"
RESULTS = HERE / "results"
FIRST_DAY = dt.date(2024, 3, 4)
GROUPS = ("file", "s3", "azure", "pyarrow", "hdf5", "arcticdb-lmdb", "arcticdb-s3", "scale")
BUCKET = "tickstore-bench"
ARCTIC_BUCKET = "arcticdb-bench"


@dataclass
class Plan:
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

    def range_of(self, days: list[str]) -> dict[str, Any]:
        last = dt.date.fromisoformat(days[-1])
        return {
            "days": days,
            "start": f"{days[0]}T00:00:00+00:00",
            "end": f"{last}T23:59:59.999999999+00:00",
        }

    def expected(self, days: list[str]) -> tuple[int, float]:
        return sum(self.rows_per_day[d] for d in days), sum(self.price_sum_per_day[d] for d in days)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--small", action="store_true", help="20 days x 20,000 ticks (about a minute)")
    parser.add_argument("--days", type=int, help="days of trades (default 20)")
    parser.add_argument("--ticks-per-day", type=int, help="trades per day (default 500,000; 20,000 with --small)")
    parser.add_argument("--only", help=f"comma-separated groups to run, of: {', '.join(GROUPS)}")
    parser.add_argument("--skip", help="comma-separated groups to leave out")
    parser.add_argument("--repeat", type=int, help="reads per warm case, in one process (default 5; 3 with --small)")
    parser.add_argument(
        "--runs", type=int, help="fresh processes per insert and cold case (default 3; 1 with --small); best time kept"
    )
    parser.add_argument("--timeout", type=float, default=600, help="seconds one case may take")
    parser.add_argument(
        "--arcticdb-python", help=f"interpreter with arcticdb (default: {ARCTICDB_VENV}, made on demand)"
    )
    parser.add_argument("--workdir", help="where the data and stores go (default: a temp dir, removed at the end)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument("--results", default=str(RESULTS), help="where the report goes")
    args = parser.parse_args(argv)
    args.days = args.days or 20
    args.repeat = args.repeat or (3 if args.small else 5)
    args.runs = args.runs or (1 if args.small else 3)
    args.ticks_per_day = args.ticks_per_day or (20_000 if args.small else 500_000)
    groups = set(GROUPS) if not args.only else {g.strip() for g in args.only.split(",") if g.strip()}
    groups -= {g.strip() for g in (args.skip or "").split(",") if g.strip()}
    unknown = groups - set(GROUPS)
    if unknown:
        parser.error(f"unknown group(s) {sorted(unknown)}; choose from {', '.join(GROUPS)}")
    if args.days < 1 or args.ticks_per_day < 1:
        parser.error("--days and --ticks-per-day must be positive")
    args.groups = [g for g in GROUPS if g in groups]
    return args


# --- data ------------------------------------------------------------------------------------------


def generate(days: int, ticks_per_day: int, data_dir: Path) -> tuple[list[str], dict[str, int], dict[str, float]]:
    """Synthetic trades, one Parquet file per day encoded exactly as the store's Parquet codec does."""
    from tickstore_core.encoding import codec_for
    from tickstore_core.frames import ticks_to_table
    from tickstore_core.synthetic import synthetic_trades

    codec = codec_for("parquet")
    data_dir.mkdir(parents=True, exist_ok=True)
    names, rows, sums = [], {}, {}
    for frame in synthetic_trades(FIRST_DAY, days, ticks_per_day):
        day = frame.index[0].date().isoformat()
        (data_dir / f"{day}.parquet").write_bytes(codec.encode(ticks_to_table(frame, "time")))
        names.append(day)
        rows[day] = len(frame)
        sums[day] = float(frame["price"].sum())
    return names, rows, sums


# --- running cases ---------------------------------------------------------------------------------


def run_case(plan: Plan, python: str, spec: dict[str, Any]) -> dict[str, Any]:
    """Run one case in a fresh process; its result, or ``{"error": ...}``."""
    spec = {"data_dir": str(plan.data_dir), **spec}
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
    return merged


def record(plan: Plan, store: str, op: str, result: dict[str, Any], expect: list[str] | None = None) -> Row:
    """Turn a worker result into a table row, checking rows and prices against the generated data."""
    row = Row(store=store, op=op)
    if "error" in result:
        row.error = result["error"]
    else:
        times = result["times"]
        row.rows = int(result["rows"])
        row.seconds = min(times)
        row.first_seconds = times[0]
        row.peak_bytes = int(result["peak_bytes"])
        row.frame_bytes = int(result["frame_bytes"])
        notes = []
        if "correction_seconds" in result:
            notes.append(f"correction insert {result['correction_seconds']:.2f} s")
        if "cache" in result:
            cache = result["cache"]
            notes.append(f"cache {cache['hits']} hits / {cache['misses']} misses")
        if len(times) > 1:
            notes.append(f"best of {len(times)} ({min(times):.2f}-{max(times):.2f} s)")
        if expect is not None:
            rows, price_sum = plan.expected(expect)
            if row.rows != rows:
                notes.append(f"ROWS {row.rows} != expected {rows}")
            elif abs(result["checksum"] - price_sum) > 1e-9 * abs(price_sum) + 1e-6:
                notes.append("PRICES DIFFER from the original data")
        row.notes = "; ".join(notes)
    plan.rows.append(row)
    print(row.console(), flush=True)
    return row


def _ranges(plan: Plan) -> list[tuple[str, dict[str, Any], list[str]]]:
    return [
        (f"select {len(plan.days)}d", plan.range_of(plan.days), plan.days),
        (f"select {len(plan.subset)}d", plan.range_of(plan.subset), plan.subset),
    ]


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
    def where(i: int, cache: str) -> dict[str, Any]:
        extra: dict[str, Any] = {"progress": False}
        if remote:
            name = re.sub(r"[^A-Za-z0-9_.-]+", "-", f"cache-{label}-{cache}")
            extra |= {"cache_dir": str(plan.work / name), "cache_size": "16GiB"}
        return {"url": f"{url}-{i}", "options": {**options, **extra}}

    store_cases(plan, label, sys.executable, {"engine": "ours"}, where)


def reference_cases(plan: Plan, label: str, engine: str, path: Path) -> None:
    def where(i: int, what: str) -> dict[str, Any]:
        # pyarrow's selects read the generated files: the very bytes our Parquet codec stores
        return {"path": str(plan.data_dir) if engine == "pyarrow" and what != "insert" else f"{path}-{i}"}

    store_cases(plan, label, sys.executable, {"engine": engine}, where, cold=False)


def arcticdb_cases(plan: Plan, label: str, uri: str) -> None:
    if plan.arcticdb_python is None:
        record(plan, label, "insert", {"error": f"ArcticDB unavailable: {plan.arcticdb_problem}"})
        return

    def where(i: int, _: str) -> dict[str, Any]:
        return {"uri": uri, "library": f"bench{i}"}

    store_cases(plan, label, plan.arcticdb_python, {"engine": "arcticdb"}, where)


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
        if {"s3", "arcticdb-s3"} & set(groups):
            running["moto"] = stack.enter_context(moto_server(log_dir))
            print(f"moto_server on {running['moto'].endpoint}", flush=True)
        if "azure" in groups:
            running["azurite"] = stack.enter_context(azurite(log_dir))
            print(f"Azurite on {running['azurite'].endpoint}", flush=True)
        yield running


def create_bucket(endpoint: str, bucket: str) -> None:
    import boto3

    client = boto3.client(
        "s3", endpoint_url=endpoint, region_name=REGION, aws_access_key_id=S3_KEY, aws_secret_access_key=S3_KEY
    )
    client.create_bucket(Bucket=bucket)
    client.close()


def run_scale(plan: Plan) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, str(HERE / "scale.py"), "--json"],
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


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    began = time.monotonic()
    load_before = os.getloadavg()[0]
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so the emulators are stopped on SIGTERM too
    work = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="tickstore-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        print(f"generating {args.days} days x ~{args.ticks_per_day:,} trades in {work}", flush=True)
        started = time.monotonic()
        days, rows_per_day, sums = generate(args.days, args.ticks_per_day, work / "data")
        print(f"  {sum(rows_per_day.values()):,} rows in {time.monotonic() - started:.1f} s", flush=True)
        middle = max(0, len(days) // 2 - 1)
        plan = Plan(
            days=days,
            subset=days[middle : middle + 3],
            correct_day=days[len(days) // 2],
            rows_per_day=rows_per_day,
            price_sum_per_day=sums,
            work=work,
            data_dir=work / "data",
            repeat=max(1, args.repeat),
            runs=max(1, args.runs),
            timeout=args.timeout,
        )
        if {"arcticdb-lmdb", "arcticdb-s3"} & set(args.groups):
            plan.arcticdb_python, plan.arcticdb_problem = arcticdb_python(args.arcticdb_python)
        scale: dict[str, Any] | None = None
        with servers(args.groups, work) as running:
            for group in args.groups:
                print(f"--- {group}", flush=True)
                if group == "file":
                    ours_cases(plan, "ours file://", f"file://{work}/ours-file", {}, remote=False)
                elif group == "s3":
                    endpoint = running["moto"].endpoint
                    options = {
                        "endpoint_url": endpoint,
                        "region": REGION,
                        "aws_access_key_id": S3_KEY,
                        "aws_secret_access_key": S3_KEY,
                        "create_bucket": True,
                    }
                    ours_cases(plan, "ours s3 (moto)", f"s3://{BUCKET}/ours", options, remote=True)
                elif group == "azure":
                    options = {"connection_string": azurite_connection_string(running["azurite"].port)}
                    ours_cases(plan, "ours az (Azurite)", f"az://{BUCKET}/ours", options, remote=True)
                elif group == "pyarrow":
                    reference_cases(plan, "pyarrow Parquet", "pyarrow", work / "pyarrow-written")
                elif group == "hdf5":
                    reference_cases(plan, "pandas HDF5", "pandas-hdf5", work / "pandas-hdf5")
                elif group == "arcticdb-lmdb":
                    arcticdb_cases(plan, "ArcticDB LMDB", f"lmdb://{work}/arcticdb-lmdb")
                elif group == "arcticdb-s3":
                    port = running["moto"].port
                    create_bucket(running["moto"].endpoint, ARCTIC_BUCKET)
                    uri = f"s3://127.0.0.1:{ARCTIC_BUCKET}?port={port}&region={REGION}&access={S3_KEY}&secret={S3_KEY}"
                    arcticdb_cases(plan, "ArcticDB s3 (moto)", uri)
                elif group == "scale":
                    scale = run_scale(plan)
                    print(json.dumps(scale, indent=1), flush=True)
        meta = {
            "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "days": len(days),
            "ticks_per_day": args.ticks_per_day,
            "total_rows": sum(rows_per_day.values()),
            "subset": f"{plan.subset[0]}..{plan.subset[-1]}",
            "correct_day": plan.correct_day,
            "repeat": plan.repeat,
            "runs": plan.runs,
            "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {_memory_gib():.0f} GiB, {platform.system()}",
            "python": platform.python_version(),
            "versions": _versions(plan),
            "groups": args.groups,
            "seconds": time.monotonic() - began,
            "load": f"{load_before:.1f} before, {os.getloadavg()[0]:.1f} after (1-minute load average)",
        }
        paths = write_report(Path(args.results), meta, plan.rows, scale)
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
