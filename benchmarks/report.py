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
    """One measured case: ``op`` on ``store``."""

    store: str
    op: str
    rows: int = 0
    seconds: float = 0.0
    first_seconds: float = 0.0
    peak_bytes: int = 0
    frame_bytes: int = 0
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
            return f"  {self.store:<20} {self.op:<18} ERROR {self.error}"
        ratio = f"{self.memory_ratio:.2f}x" if self.memory_ratio is not None else "-"
        return (
            f"  {self.store:<20} {self.op:<18} {self.rows:>11,} rows {self.seconds:8.3f} s "
            f"{_rate(self.rate):>12}  peak {self.peak_bytes / MB:7.0f} MB  frame {self.frame_bytes / MB:7.0f} MB "
            f"({ratio})  {self.notes}"
        )


@dataclass
class Target:
    name: str
    ours: Row | None
    reference: Row | None
    value: float | None
    threshold: float
    higher_is_better: bool = True
    info: bool = False  # shown, but not one of the targets

    @property
    def passed(self) -> bool | None:
        if self.value is None:
            return None
        return self.value >= self.threshold if self.higher_is_better else self.value <= self.threshold

    def mark(self) -> str:
        if self.info:
            return "info"
        return {True: "PASS", False: "FAIL", None: "n/a"}[self.passed]


def _rate(rate: float | None) -> str:
    if rate is None:
        return "-"
    return f"{rate / 1e6:.2f} M/s" if rate >= 1e5 else f"{rate:,.0f} /s"


def _find(rows: list[Row], store: str, op: str) -> Row | None:
    for row in rows:
        if row.store == store and row.op == op and not row.error:
            return row
    return None


def targets(rows: list[Row]) -> list[Target]:
    """The performance targets, each as ours against a reference."""
    found: list[Target] = []
    ops = sorted({r.op for r in rows if r.op.startswith("select")}, key=lambda op: -int(re.findall(r"\d+", op)[0]))
    ranges = sorted({op.rsplit(" ", 1)[0] for op in ops}, key=lambda op: -int(re.findall(r"\d+", op)[0]))
    stores = [s for s in dict.fromkeys(r.store for r in rows) if s.startswith("ours")]

    def ratio(name: str, ours: Row | None, ref: Row | None, threshold: float, info: bool = False) -> None:
        value = ours.rate / ref.rate if ours and ref and ours.rate and ref.rate else None
        found.append(Target(name, ours, ref, value, threshold, info=info))

    for store in stores:
        for rng in ranges:
            ours = _find(rows, store, f"{rng} warm")
            ratio(f"{rng} warm: {store} / pyarrow", ours, _find(rows, "pyarrow Parquet", f"{rng} warm"), 0.8)
            ratio(f"{rng} warm: {store} / ArcticDB LMDB", ours, _find(rows, "ArcticDB LMDB", f"{rng} warm"), 1.0)
    for rng in ranges:
        ours, ref = _find(rows, "ours s3 (moto)", f"{rng} cold"), _find(rows, "ArcticDB s3 (moto)", f"{rng} cold")
        ratio(f"{rng} cold: ours s3 / ArcticDB s3 (same moto)", ours, ref, 1.0)
    ratio(
        "insert: ours file:// / ArcticDB LMDB",
        _find(rows, "ours file://", "insert"),
        _find(rows, "ArcticDB LMDB", "insert"),
        1.0,
    )
    ratio(
        "insert: ours s3 / ArcticDB s3 (same moto)",
        _find(rows, "ours s3 (moto)", "insert"),
        _find(rows, "ArcticDB s3 (moto)", "insert"),
        1.0,
        info=True,
    )
    for row in rows:
        if row.ours and not row.error and (row.op.startswith("select") or row.op.startswith("as-of")):
            found.append(Target(f"peak memory {row.op}: {row.store}", row, None, row.memory_ratio, 2.0, False))
    return found


def _markdown_rows(rows: list[Row]) -> list[str]:
    lines = [
        "| Store | Operation | Rows | Time (s) | Rows/s | Peak RSS growth (MB) | Frame (MB) | Peak / frame | Notes |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in rows:
        if r.error:
            lines.append(f"| {r.store} | {r.op} | | | | | | | **error**: {r.error} |")
            continue
        ratio = f"{r.memory_ratio:.2f}x" if r.memory_ratio is not None else ""
        lines.append(
            f"| {r.store} | {r.op} | {r.rows:,} | {r.seconds:.3f} | {_rate(r.rate)} | {r.peak_bytes / MB:,.0f} "
            f"| {r.frame_bytes / MB:,.0f} | {ratio} | {r.notes} |"
        )
    return lines


def _markdown_targets(found: list[Target]) -> list[str]:
    lines = ["| Target | Ours | Reference | Value | Needed | |", "| --- | ---: | ---: | ---: | ---: | --- |"]
    for t in found:
        memory = not t.higher_is_better or t.reference is None
        if memory:
            ours = f"{t.ours.peak_bytes / MB:,.0f} MB" if t.ours else ""
            ref = f"{t.ours.frame_bytes / MB:,.0f} MB frame" if t.ours else ""
            needed = f"<= {t.threshold:g}x"
        else:
            ours = _rate(t.ours.rate) if t.ours else "missing"
            ref = _rate(t.reference.rate) if t.reference else "missing"
            needed = f">= {t.threshold:g}x"
        value = f"{t.value:.2f}x" if t.value is not None else ""
        lines.append(f"| {t.name} | {ours} | {ref} | {value} | {needed} | {t.mark()} |")
    return lines


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


def markdown(meta: dict[str, Any], rows: list[Row], scale: dict[str, Any] | None) -> str:
    found = targets(rows)
    versions = ", ".join(f"{k} {v}" for k, v in meta["versions"].items())
    lines = [
        f"# tickstore benchmark, {meta['date']}",
        "",
        f"{meta['days']} days x ~{meta['ticks_per_day']:,} trades/day = {meta['total_rows']:,} rows "
        f"(3-day subset {meta['subset']}; correction of {meta['correct_day']}). Insert and cold: best of "
        f"{meta.get('runs', 1)} fresh processes; warm and as-of: best of {meta['repeat']} reads in one process. "
        f"Machine: {meta['machine']}; Python {meta['python']}; {versions}. Run took {meta['seconds']:.0f} s; "
        f"load {meta.get('load', 'unknown')}.",
        "",
        "## Results",
        "",
        *_markdown_rows(rows),
        "",
        "## Targets",
        "",
        *_markdown_targets(found),
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
    labels = [f"{r.op} | {r.store}" for r in measured]
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
    right.axvline(2.0, color="tab:red", linestyle="--", label="target 2x")
    right.set_yticks(range(len(selects)), [f"{r.op} | {r.store}" for r in selects], fontsize=7)
    right.invert_yaxis()
    right.set_xlabel("peak RSS growth / returned DataFrame (ArcticDB: object strings, see README)")
    right.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_report(directory: Path, meta: dict[str, Any], rows: list[Row], scale: dict[str, Any] | None) -> list[Path]:
    """Write ``bench-<stamp>.{md,json,png}`` and copies named ``latest.*``; print the tables."""
    directory.mkdir(parents=True, exist_ok=True)
    stamp = meta["date"].replace(" UTC", "").replace(" ", "-").replace(":", "")
    text = markdown(meta, rows, scale)
    print("\n" + text)
    md, js, png = (directory / f"bench-{stamp}.{ext}" for ext in ("md", "json", "png"))
    md.write_text(text)
    found = targets(rows)
    document = {
        "meta": meta,
        "rows": [{**asdict(r), "rows_per_s": r.rate, "memory_ratio": r.memory_ratio} for r in rows],
        "targets": [{"name": t.name, "value": t.value, "threshold": t.threshold, "mark": t.mark()} for t in found],
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
