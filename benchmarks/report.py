"""The benchmark's tables, targets and chart: Markdown, JSON and PNG in benchmarks/results/."""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

MB = 1e6


@dataclass
class Row:
    """One measured case: ``op`` on ``store``, for one dataset."""

    store: str
    op: str
    dataset: str = ""
    rows: int = 0
    seconds: float = 0.0
    first_seconds: float = 0.0
    peak_bytes: int = 0
    frame_bytes: int = 0
    bytes_read: int | None = None
    notes: str = ""
    error: str = ""

    @property
    def ours(self) -> bool:
        return self.store.startswith("ours")

    @property
    def rate(self) -> float | None:
        return self.rows / self.seconds if not self.error and self.seconds > 0 else None

    @property
    def memory_ratio(self) -> float | None:
        return self.peak_bytes / self.frame_bytes if not self.error and self.frame_bytes else None

    def console(self) -> str:
        if self.error:
            return f"  {self.dataset:<7} {self.store:<22} {self.op:<26} ERROR {self.error}"
        ratio = f"{self.memory_ratio:.2f}x" if self.memory_ratio is not None else "-"
        return (
            f"  {self.dataset:<7} {self.store:<22} {self.op:<26} {self.rows:>11,} rows {self.seconds:8.3f} s "
            f"{_rate(self.rate):>12}  peak {self.peak_bytes / MB:7.0f} MB  frame {self.frame_bytes / MB:7.0f} MB "
            f"({ratio})  {self.notes}"
        )


@dataclass
class Target:
    """One target: a value against what it needs (``kind``: at least, at most, within, or info)."""

    name: str
    ours: str
    reference: str
    value: float | None
    threshold: float
    kind: str = "min"  # "min": value >= threshold; "max": value <= threshold; "band": |value - 1| <= threshold
    missing: str = ""  # why there is no value (an API or a reference missing)
    info: bool = False  # shown, but not one of the targets
    verdict: bool | None = None  # decided elsewhere (the scale checks)
    needed_text: str = ""

    @property
    def passed(self) -> bool | None:
        if self.verdict is not None:
            return self.verdict
        if self.value is None:
            return None
        if self.kind == "max":
            return self.value <= self.threshold
        if self.kind == "band":
            return abs(self.value - 1) <= self.threshold
        return self.value >= self.threshold

    @property
    def needed(self) -> str:
        if self.needed_text:
            return self.needed_text
        if self.kind == "max":
            return f"<= {self.threshold:g}x"
        if self.kind == "band":
            return f"within {self.threshold:.0%}"
        return f">= {self.threshold:g}x"

    def mark(self) -> str:
        if self.info:
            return "info"
        if self.passed is None:
            return self.missing or "n/a"
        return "PASS" if self.passed else "FAIL"


def _rate(rate: float | None) -> str:
    if rate is None:
        return "-"
    return f"{rate / 1e6:.2f} M/s" if rate >= 1e5 else f"{rate:,.0f} /s"


def _find(rows: list[Row], store: str, op: str, dataset: str = "") -> Row | None:
    for row in rows:
        if row.store == store and row.op == op and row.dataset == dataset and not row.error:
            return row
    return None


def _speed(name: str, ours: Row | None, ref: Row | None, threshold: float, info: bool = False) -> Target:
    """``ours`` against ``ref`` as a speed ratio (>1 means ours is faster)."""
    value = ours.rate / ref.rate if ours and ref and ours.rate and ref.rate else None
    missing = "" if value is not None else ("n/a (not run)" if ours is None or ref is None else "n/a")
    return Target(
        name,
        _rate(ours.rate) if ours else "missing",
        _rate(ref.rate) if ref else "missing",
        value,
        threshold,
        missing=missing,
        info=info,
    )


OURS_REMOTE = {"s3": "ours s3 (moto)", "az": "ours az (Azurite)"}
ARCTIC_REMOTE = {"s3": "ArcticDB s3 (moto)", "az": "ArcticDB az (Azurite)"}
OURS = ("ours file://", *OURS_REMOTE.values())
LIMITS = ("limit: numpy memcpy", "limit: Arrow IPC mmap")
BIG = {"file": "ours file://", "s3": "ours s3 (moto)", "az": "ours az (Azurite)"}


def targets(rows: list[Row], meta: dict[str, Any] | None = None) -> list[Target]:
    """Issue 12's targets, each computed from the rows of one run (per dataset where it applies)."""
    meta = meta or {}
    found: list[Target] = []
    datasets = [d for d in dict.fromkeys(r.dataset for r in rows) if d in ("string", "numeric")]
    for ds in datasets:
        mine = [r for r in rows if r.dataset == ds]

        def find(store: str, op: str, mine: list[Row] = mine, ds: str = ds) -> Row | None:
            return _find(mine, store, op, ds)

        ranges = sorted(
            {r.op.rsplit(" ", 1)[0] for r in mine if re.fullmatch(r"select \d+d (warm|cold)", r.op)},
            key=lambda op: -int(re.findall(r"\d+", op)[0]),
        )
        for rng in ranges:
            for store in OURS:
                found.append(
                    _speed(f"[{ds}] {rng} warm: {store} / ArcticDB LMDB warm", find(store, f"{rng} warm"),
                           find("ArcticDB LMDB", f"{rng} warm"), 1.5)
                )  # fmt: skip
            found.append(
                _speed(f"[{ds}] {rng} cold: ours file:// / ArcticDB LMDB cold", find("ours file://", f"{rng} cold"),
                       find("ArcticDB LMDB", f"{rng} cold"), 1.5)
            )  # fmt: skip
            for where, store in OURS_REMOTE.items():
                found.append(
                    _speed(f"[{ds}] {rng} cold, empty cache: {store} / {ARCTIC_REMOTE[where]}",
                           find(store, f"{rng} cold"), find(ARCTIC_REMOTE[where], f"{rng} cold"), 1.2)
                )  # fmt: skip
            found.append(
                _speed(f"[{ds}] {rng} cold over the shaped link: ours s3 / ArcticDB s3",
                       find("ours s3 (shaped link)", f"{rng} cold"), find("ArcticDB s3 (shaped link)", f"{rng} cold"),
                       1.2)
            )  # fmt: skip
        found.append(
            _speed(f"[{ds}] insert: ours file:// / ArcticDB LMDB", find("ours file://", "insert"),
                   find("ArcticDB LMDB", "insert"), 1.0)
        )  # fmt: skip
        found.append(
            _speed(f"[{ds}] insert: ours s3 / ArcticDB s3 (same moto)", find("ours s3 (moto)", "insert"),
                   find("ArcticDB s3 (moto)", "insert"), 1.0)
        )  # fmt: skip
        found.append(
            _speed(f"[{ds}] insert: ours az / ArcticDB az (same Azurite)", find("ours az (Azurite)", "insert"),
                   find("ArcticDB az (Azurite)", "insert"), 1.0, info=True)
        )  # fmt: skip
        for row in mine:
            if row.ours and (row.op.startswith(("select", "as-of"))):
                found.append(
                    Target(f"[{ds}] peak memory {row.op}: {row.store}", f"{row.peak_bytes / MB:,.0f} MB",
                           f"{row.frame_bytes / MB:,.0f} MB frame", row.memory_ratio, 1.5, kind="max")
                )  # fmt: skip
        for rng in ranges:  # the physical limits: how far each path is from them (info)
            for limit in LIMITS:
                for store in OURS:
                    found.append(
                        _speed(f"[{ds}] {rng} warm: {store} / {limit}", find(store, f"{rng} warm"),
                               find(limit, f"{rng} warm"), 1.0, info=True)
                    )  # fmt: skip
                found.append(
                    _speed(f"[{ds}] {rng} warm: ArcticDB LMDB / {limit}", find("ArcticDB LMDB", f"{rng} warm"),
                           find(limit, f"{rng} warm"), 1.0, info=True)
                )  # fmt: skip
    big = [r for r in rows if r.dataset == "big day"]
    for row in big:
        if row.ours and row.op.startswith("select ") and row.frame_bytes:
            found.append(
                Target(f"[big day] peak memory {row.op}: {row.store}", f"{row.peak_bytes / MB:,.0f} MB",
                       f"{row.frame_bytes / MB:,.0f} MB frame", row.memory_ratio, 1.5, kind="max")
            )  # fmt: skip
    share = meta.get("column_share")
    for store in BIG.values():
        hour, day = _find(big, store, "select 1h cold", "big day"), _find(big, store, "select day cold", "big day")
        value = day.seconds / hour.seconds if hour and day and hour.seconds else None
        found.append(
            Target(f"sub-day: one hour of the big day vs the whole day, {store} (cold)",
                   f"{hour.seconds:.3f} s" if hour else "missing", f"{day.seconds:.3f} s" if day else "missing",
                   value, 10.0, missing="" if value is not None else "n/a (not run)")
        )  # fmt: skip
        one = _find(big, store, "select day cold, columns=[price]", "big day")
        if one and day and one.bytes_read is not None and day.bytes_read:
            value = one.bytes_read / day.bytes_read
            found.append(
                Target(f"columns=[price]: bytes read / all columns' bytes, {store} (cold)",
                       f"{one.bytes_read / MB:,.1f} MB", f"{day.bytes_read / MB:,.1f} MB", value,
                       round(1.25 * share, 3) if share else 1.0, kind="max")
            )  # fmt: skip
    return found


def _markdown_rows(rows: list[Row]) -> list[str]:
    lines = [
        "| Data | Store | Operation | Rows | Time (s) | Rows/s | Peak RSS growth (MB) | Frame (MB) | Peak / frame "
        "| Read (MB) | Notes |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in rows:
        if r.error:
            lines.append(f"| {r.dataset} | {r.store} | {r.op} | | | | | | | | **error**: {r.error} |")
            continue
        ratio = f"{r.memory_ratio:.2f}x" if r.memory_ratio is not None else ""
        read = f"{r.bytes_read / MB:,.1f}" if r.bytes_read is not None else ""
        lines.append(
            f"| {r.dataset} | {r.store} | {r.op} | {r.rows:,} | {r.seconds:.3f} | {_rate(r.rate)} "
            f"| {r.peak_bytes / MB:,.0f} | {r.frame_bytes / MB:,.0f} | {ratio} | {read} | {r.notes} |"
        )
    return lines


def _markdown_targets(found: list[Target]) -> list[str]:
    lines = ["| Target | Ours | Reference | Value | Needed | |", "| --- | ---: | ---: | ---: | ---: | --- |"]
    for t in found:
        value = "" if t.value is None else (f"{t.value:.2f}x" if t.value >= 0.1 else f"{t.value:.3f}x")
        lines.append(f"| {t.name} | {t.ours} | {t.reference} | {value} | {t.needed} | {t.mark()} |")
    return lines


def scale_targets(scale: dict[str, Any] | None) -> list[Target]:
    """The scale checks (``scale.py``) that are targets of issues 12 and 13, as rows of the targets table."""
    found: list[Target] = []
    for check in (scale or {}).get("checks", []):
        if check.get("passed") is None or not check.get("target"):
            continue
        found.append(
            Target(f"scale: {check['name']}", check["measured"], "", check.get("ratio"), 0.0, kind="check",
                   verdict=bool(check["passed"]), needed_text=check.get("needed", ""))
        )  # fmt: skip
    return found


def all_targets(
    rows: list[Row], meta: dict[str, Any], scale: dict[str, Any] | None, extra: list[Target]
) -> list[Target]:
    """Every target of the run; information rows without a value (a case not run) are left out."""
    found = [*targets(rows, meta), *scale_targets(scale), *extra]
    return [t for t in found if not (t.info and t.value is None)]


def _markdown_summary(found: list[Target]) -> list[str]:
    marks = [t.mark() for t in found if not t.info]
    counts = {m: marks.count(m) for m in ("PASS", "FAIL")}
    other = len(marks) - sum(counts.values())
    return [f"**{counts['PASS']} PASS, {counts['FAIL']} FAIL, {other} not measured** (n/a) of {len(marks)} targets."]


def _markdown_scale(scale: dict[str, Any] | None) -> list[str]:
    if scale is None:
        return []
    lines = ["", "## Scale", ""]
    if "error" in scale:
        return [*lines, f"**error**: {scale['error']}"]
    lines += ["| Check | Measured | Needed | |", "| --- | ---: | ---: | --- |"]
    for check in scale["checks"]:
        mark = "info" if check.get("passed") is None else ("PASS" if check["passed"] else "FAIL")
        lines.append(f"| {check['name']} | {check['measured']} | {check.get('needed', '')} | {mark} |")
    return lines


def markdown(meta: dict[str, Any], rows: list[Row], scale: dict[str, Any] | None, extra: list[Target]) -> str:
    found = all_targets(rows, meta, scale, extra)
    versions = ", ".join(f"{k} {v}" for k, v in meta["versions"].items())
    lines = [
        f"# tickstore benchmark, {meta['date']}",
        "",
        f"Datasets: {', '.join(meta.get('datasets', []))}; {meta['days']} days x ~{meta['ticks_per_day']:,} "
        f"trades/day = {meta['total_rows']:,} rows each (3-day subset {meta['subset']}; correction of "
        f"{meta['correct_day']}); the big day for sub-day, column and select_many checks: "
        f"{meta.get('big_rows', 0):,} rows. Insert and cold: best of {meta.get('runs', 1)} fresh processes; warm "
        f"and as-of: best of {meta['repeat']} reads in one process. Machine: {meta['machine']}; Python "
        f"{meta['python']}; {versions}. Run took {meta['seconds']:.0f} s; load {meta.get('load', 'unknown')}; "
        f"{meta.get('primed', 'memory not primed')}.",
        "",
        "## Targets",
        "",
        *_markdown_summary(found),
        "",
        *_markdown_targets(found),
        "",
        "## Results",
        "",
        *_markdown_rows(rows),
        *_markdown_scale(scale),
        "",
    ]
    return "\n".join(lines)


def chart(path: Path, meta: dict[str, Any], rows: list[Row]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    measured = [r for r in rows if r.rate]
    selects = [r for r in measured if r.op.startswith(("select", "as-of")) and r.memory_ratio is not None]
    height = max(4.0, 0.28 * len(measured) + 1.5)
    fig, (left, right) = plt.subplots(1, 2, figsize=(15, height), gridspec_kw={"width_ratios": [3, 2]})
    labels = [f"{r.dataset} {r.op} | {r.store}" for r in measured]
    colors = ["tab:blue" if r.ours else "tab:gray" for r in measured]
    left.barh(range(len(measured)), [r.rate / 1e6 for r in measured if r.rate], color=colors)
    left.set_yticks(range(len(measured)), labels, fontsize=7)
    left.invert_yaxis()
    left.set_xscale("log")
    left.set_xlabel("million rows/s (log; blue = tickstore, gray = reference)")
    left.set_title(f"{meta['days']} days x ~{meta['ticks_per_day']:,} trades/day")
    right.barh(
        range(len(selects)),
        [r.memory_ratio or 0 for r in selects],
        color=["tab:blue" if r.ours else "tab:gray" for r in selects],
    )
    right.axvline(1.5, color="tab:red", linestyle="--", label="target 1.5x")
    right.set_yticks(range(len(selects)), [f"{r.dataset} {r.op} | {r.store}" for r in selects], fontsize=7)
    right.invert_yaxis()
    right.set_xlabel("peak RSS growth / returned DataFrame (ArcticDB: object strings, see README)")
    right.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_report(
    directory: Path, meta: dict[str, Any], rows: list[Row], scale: dict[str, Any] | None, extra: list[Target]
) -> list[Path]:
    """Write ``bench-<stamp>.{md,json,png}`` and copies named ``latest.*``; print the tables."""
    directory.mkdir(parents=True, exist_ok=True)
    stamp = meta["date"].replace(" UTC", "").replace(" ", "-").replace(":", "")
    text = markdown(meta, rows, scale, extra)
    print("\n" + text)
    md, js, png = (directory / f"bench-{stamp}.{ext}" for ext in ("md", "json", "png"))
    md.write_text(text)
    found = all_targets(rows, meta, scale, extra)
    document = {
        "meta": meta,
        "rows": [{**asdict(r), "rows_per_s": r.rate, "memory_ratio": r.memory_ratio} for r in rows],
        "targets": [{**asdict(t), "needed": t.needed, "mark": t.mark()} for t in found],
        "scale": scale,
    }
    js.write_text(json.dumps(document, indent=1))
    written = [md, js]
    try:
        chart(png, meta, rows)
        written.append(png)
    except Exception as exc:  # noqa: BLE001 - a missing chart must not lose the numbers
        print(f"could not draw the chart: {exc}")
    for path in written:
        shutil.copyfile(path, directory / f"latest{path.suffix}")
    return written


def from_json(path: Path) -> str:
    """The Markdown report of a run's JSON, with today's target rules (rows and slot targets as measured)."""
    document = json.loads(path.read_text())
    fields = set(Row.__dataclass_fields__)
    rows = [Row(**{k: v for k, v in r.items() if k in fields}) for r in document["rows"]]
    target_fields = set(Target.__dataclass_fields__)
    extra = [
        Target(**{k: v for k, v in t.items() if k in target_fields})
        for t in document["targets"]
        if t["name"].startswith("issue ")
    ]
    return markdown(document["meta"], rows, document["scale"], extra)


if __name__ == "__main__":
    import sys

    if len(sys.argv) != 2:
        sys.exit("usage: python benchmarks/report.py RUN.json  (prints the run's Markdown report again)")
    print(from_json(Path(sys.argv[1])))
