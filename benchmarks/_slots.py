"""The benchmark's cases for the APIs of issues 13 (version lifecycle) and 14 (research reads).

Each runs in a fresh worker process (``_worker.py``, dev venv) and only when the store has the API
(``hasattr(store, "append")`` and so on); otherwise it returns ``{"missing": "..."}`` and the report
prints "n/a (API missing)". The signatures are the issues':

- ``store.append(symbol, ticks, *, as_of=None)``, ``store.compact(symbol=None, start=None, end=None)``
- ``store.select_many(symbols, start=None, end=None, *, columns=None, filters=None, as_of=None, output="pandas")``
- ``store.bars(symbol_or_symbols, start, end, freq="5min", *, price="price", size="size", ...)``
- ``store.asof_join(left, right, start, end, *, on_columns=None, tolerance=None, as_of=None, ...)``
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from _worker import SYMBOL, _bounds, _select_result, load_days
from scale import _alternated

import tickstore_core as ts

APIS = ("append", "compact", "select_many", "bars", "asof_join")
QUOTES = "BTCUSD-QUOTES"


def _open(spec: dict[str, Any]) -> Any:
    return ts.open_store(spec["url"], **spec.get("options", {}))


def _missing(store: Any, *names: str) -> dict[str, Any] | None:
    absent = [n for n in names if not hasattr(store, n)]
    return {"missing": ", ".join(f"store.{n}" for n in absent)} if absent else None


def _timed(call: Callable[[], Any], repeat: int) -> tuple[Any, float]:
    """(last result, best seconds of ``repeat`` calls)."""
    best = float("inf")
    result = None
    for _ in range(repeat):
        del result
        gc.collect()
        began = time.perf_counter()
        result = call()
        best = min(best, time.perf_counter() - began)
    return result, best


def case_probe(spec: dict[str, Any]) -> dict[str, Any]:
    """Which of the issue 13/14 APIs this store has."""
    with ts.open_store("memory://bench-probe", progress=False) as store:
        return {"apis": {name: hasattr(store, name) for name in APIS}}


# --- issue 13: version lifecycle -------------------------------------------------------------------


def case_appends(spec: dict[str, Any]) -> dict[str, Any]:
    """``n`` one-row appends into one day: the cost of the first and of the last, and the total.

    First and last are the medians of the first and last 20 appends (one append is noisy). Stops
    after ``budget`` seconds and says how far it got.
    """
    store = _open(spec)
    try:
        if missing := _missing(store, "append"):
            return missing
        n, budget = int(spec["appends"]), float(spec.get("budget", 300))
        day = pd.Timestamp(spec.get("day", "2024-03-04"), tz="UTC")
        times = []
        began = time.perf_counter()
        for i in range(n):
            tick = pd.DataFrame(
                {"price": [42_000.0 + i % 100], "size": [0.01], "side": ["buy"], "trade_id": [i]},
                index=pd.DatetimeIndex([day + pd.Timedelta(i * 8, "s")], name="time"),
            )
            start = time.perf_counter()
            store.append(SYMBOL, tick)
            times.append(time.perf_counter() - start)
            if time.perf_counter() - began > budget:
                break
        total = time.perf_counter() - began
        rows = len(store.select(SYMBOL, day, day + pd.Timedelta(1, "D") - pd.Timedelta(1, "ns")))
        window = min(20, len(times))
        return {
            "appends": len(times),
            "wanted": n,
            "total_seconds": total,
            "first_seconds": statistics.median(times[:window]),
            "last_seconds": statistics.median(times[-window:]),
            "floor_seconds": len(times) * 2 * _put_seconds(store),
            "rows": rows,
        }
    finally:
        store.close()


def _put_seconds(store: Any, count: int = 50) -> float:
    """Median seconds of one durable put of a 1 KiB object into the store's backend (fsynced on file://,
    one request to the emulator on S3): a durable append makes two of them, its object and the index."""
    payload = bytes(1024)
    times = []
    for i in range(count):
        began = time.perf_counter()
        store.backend.put(f"bench-floor/put-{i}", payload, mode="overwrite")
        times.append(time.perf_counter() - began)
    for i in range(count):
        store.backend.delete(f"bench-floor/put-{i}")
    return statistics.median(times)


def case_segments(spec: dict[str, Any]) -> dict[str, Any]:
    """A day appended in ``segments`` pieces: its select before and after ``store.compact``.

    Against the same day inserted whole (another symbol of the same store). Medians of at least 11
    selects each; after compaction the two symbols take turns.
    """
    store = _open(spec)
    try:
        if missing := _missing(store, "append", "compact"):
            return missing
        (day,) = load_days(spec["data_dir"], spec["days"])
        start, end = _bounds(spec)
        pieces = np.array_split(np.arange(len(day)), int(spec["segments"]))
        began = time.perf_counter()
        for i, piece in enumerate(pieces):
            store.append(SYMBOL, day.iloc[piece])
            if time.perf_counter() - began > float(spec.get("budget", 300)):
                return {"error": f"appending {len(pieces):,} segments: only {i + 1:,} within the budget"}
        append_seconds = time.perf_counter() - began
        store.insert("WHOLE", day)
        repeat = int(spec.get("repeat", 3))

        def select(symbol: str) -> Callable[[], pd.DataFrame]:
            return lambda: store.select(symbol, start, end)

        rounds = max(repeat, 11)
        before, before_s = select(SYMBOL)(), _alternated({"before": select(SYMBOL)}, rounds)["before"]
        began = time.perf_counter()
        store.compact(SYMBOL)
        compact_seconds = time.perf_counter() - began
        # Selects of about 10 ms: alternated, medians, so neither side gets the quieter seconds.
        after, whole = select(SYMBOL)(), select("WHOLE")()
        seconds = _alternated({"after": select(SYMBOL), "whole": select("WHOLE")}, rounds)
        after_s, whole_s = seconds["after"], seconds["whole"]
        same = len(before) == len(after) == len(whole) == len(day)
        return {
            "rows": len(day),
            "segments": len(pieces),
            "append_seconds": append_seconds,
            "compact_seconds": compact_seconds,
            "before_seconds": before_s,
            "after_seconds": after_s,
            "whole_seconds": whole_s,
            "same_rows": same,
        }
    finally:
        store.close()


# --- issue 14: research reads ----------------------------------------------------------------------


def case_select_many(spec: dict[str, Any]) -> dict[str, Any]:
    """``select_many`` of ``symbols`` symbols x 1 day against ``select`` of one symbol with the same rows.

    The day's rows are dealt round-robin to the symbols; warm (a process that has read before).
    """
    store = _open(spec)
    try:
        if missing := _missing(store, "select_many"):
            return missing
        (day,) = load_days(spec["data_dir"], spec["days"])
        symbols = [f"SYM{i:02d}" for i in range(int(spec["symbols"]))]
        for i, symbol in enumerate(symbols):
            store.insert(symbol, day.iloc[i :: len(symbols)])
        store.insert("ONE", day)
        del day
        start, end = _bounds(spec)
        store.select_many(symbols, start, start + pd.Timedelta(1, "ms"))
        store.select("ONE", start, start + pd.Timedelta(1, "ms"))
        repeat = int(spec.get("repeat", 3))
        many = _select_result(lambda: store.select_many(symbols, start, end), repeat)
        one = _select_result(lambda: store.select("ONE", start, end), repeat)
        return {**many, "one": one}
    finally:
        store.close()


def _pandas_bars(ticks: pd.DataFrame, freq: str) -> pd.DataFrame:
    """What a user writes today: OHLC, volume and trade count with pandas, empty bars dropped."""
    resampler = ticks.resample(freq)
    bars = resampler["price"].ohlc()
    bars["volume"] = resampler["size"].sum()
    bars["trades"] = resampler["price"].count()
    return bars[bars["trades"] > 0]


def case_bars(spec: dict[str, Any]) -> dict[str, Any]:
    """``store.bars`` over the range against ``select`` + pandas ``resample().ohlc()``."""
    store = _open(spec)
    try:
        start, end = _bounds(spec)
        freq, repeat = spec.get("freq", "5min"), int(spec.get("repeat", 3))
        store.select(SYMBOL, start, start + pd.Timedelta(1, "ms"))
        pandas = _select_result(lambda: _pandas_bars(store.select(SYMBOL, start, end), freq), repeat)
        if missing := _missing(store, "bars"):
            return {**missing, "pandas": pandas}
        ours = _select_result(lambda: store.bars(SYMBOL, start, end, freq), repeat)
        return {**ours, "pandas": pandas}
    finally:
        store.close()


def synthetic_quotes(trades: pd.DataFrame) -> pd.DataFrame:
    """A quote half a millisecond before every other trade: bid and ask half a dollar around it."""
    picked = trades.iloc[::2]
    return pd.DataFrame(
        {"bid": picked["price"].to_numpy() - 0.5, "ask": picked["price"].to_numpy() + 0.5},
        index=pd.DatetimeIndex(picked.index - pd.Timedelta(500, "us"), name="time"),
    )


def case_asof_join(spec: dict[str, Any]) -> dict[str, Any]:
    """``store.asof_join`` of trades with quotes over the range against ``select`` x 2 + ``pd.merge_asof``."""
    store = _open(spec)
    try:
        start, end = _bounds(spec)
        repeat = int(spec.get("repeat", 3))
        if QUOTES not in store.symbols():
            for day in load_days(spec["data_dir"], spec["days"]):
                store.insert(QUOTES, synthetic_quotes(day))
        store.select(SYMBOL, start, start + pd.Timedelta(1, "ms"))
        store.select(QUOTES, start, start + pd.Timedelta(1, "ms"))

        def pandas_join() -> pd.DataFrame:
            trades = store.select(SYMBOL, start, end)
            quotes = store.select(QUOTES, start, end)
            return pd.merge_asof(trades, quotes, left_index=True, right_index=True)

        pandas = _select_result(pandas_join, repeat)
        if missing := _missing(store, "asof_join"):
            return {**missing, "pandas": pandas}
        ours = _select_result(lambda: store.asof_join(SYMBOL, QUOTES, start, end), repeat)
        return {**ours, "pandas": pandas}
    finally:
        store.close()


def case_sparse(spec: dict[str, Any]) -> dict[str, Any]:
    """A year of small days (each inserted by its own call, as a daily writer does), then selected warm."""
    store = _open(spec)
    try:
        for day in load_days(spec["data_dir"], spec["days"]):
            store.insert(SYMBOL, day)
        start, end = _bounds(spec)
        store.select(SYMBOL, start, start + pd.Timedelta(1, "ms"))
        return _select_result(lambda: store.select(SYMBOL, start, end), int(spec.get("repeat", 3)))
    finally:
        store.close()


SLOT_CASES: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "probe": case_probe,
    "appends": case_appends,
    "segments": case_segments,
    "select_many": case_select_many,
    "bars": case_bars,
    "sparse": case_sparse,
    "asof_join": case_asof_join,
}
