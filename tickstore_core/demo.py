"""The README's main job: synthetic BTCUSD trades into the default store, a correction, as-of reads.

Run with ``python -m tickstore_core.demo [--url URL] [--days 21] [--ticks-per-day 100000]``.
Without ``--url`` it uses ``TICKSTORE_URL`` or the embedded default: the local HDF5 store in the
user's data directory. Running it again adds new versions; nothing is ever overwritten.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from . import open_store
from .synthetic import synthetic_trades

SYMBOL = "BTCUSD"


def ohlc_5min(ticks: pd.DataFrame) -> pd.DataFrame:
    """5-minute OHLC bars with volume; empty bars carry the last close forward."""
    bars = ticks["price"].resample("5min").ohlc()
    bars["close"] = bars["close"].ffill()
    for column in ("open", "high", "low"):
        bars[column] = bars[column].fillna(bars["close"])
    bars["volume"] = ticks["size"].resample("5min").sum()
    bars["trades"] = ticks["price"].resample("5min").count()
    return bars


def correct(ticks: pd.DataFrame, seed: int = 7) -> pd.DataFrame:
    """The exchange's corrected file for a day: 1% of trades busted, a burst of bad prints fixed."""
    rng = np.random.default_rng(seed)
    kept: pd.DataFrame = ticks[rng.random(len(ticks)) >= 0.01].copy()
    noon = kept.index[0].normalize() + pd.Timedelta(hours=12)
    burst = (kept.index >= noon) & (kept.index < noon + pd.Timedelta(minutes=10))
    kept.loc[burst, "price"] = (kept.loc[burst, "price"] * 0.998 / 0.5).round() * 0.5
    return kept


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="tickstore demo", description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="store URL (default: TICKSTORE_URL or the local default store)")
    parser.add_argument("--days", type=int, default=21)
    parser.add_argument("--ticks-per-day", type=int, default=100_000)
    parser.add_argument("--start", default="2024-03-04")
    args = parser.parse_args(argv)
    if args.days < 1 or args.ticks_per_day < 1:
        parser.error(f"--days and --ticks-per-day must be at least 1, got {args.days} and {args.ticks_per_day}")
    pd.set_option("display.width", 140)
    pd.set_option("display.max_columns", 12)

    with open_store(args.url) as store:
        print(f"store: {store}")
        days = list(synthetic_trades(args.start, args.days, args.ticks_per_day))
        rows = sum(len(d) for d in days)
        began = time.perf_counter()
        store.insert(SYMBOL, pd.concat(days))
        spent = time.perf_counter() - began
        print(f"inserted {rows:,} {SYMBOL} trades over {len(days)} days in {spent:.1f}s ({rows / spent:,.0f} rows/s)")

        bad_day = days[len(days) // 2]
        day = bad_day.index[0].date()
        before_correction = pd.Timestamp.now(tz="UTC")
        (version,) = store.insert(SYMBOL, correct(bad_day), day=day)
        print(f"\ncorrected {day}: now version {version.version}; history of that day:")
        print(store.history(SYMBOL, day)[["version", "start_time", "end_time", "rows", "bytes"]].to_string())

        start, end = pd.Timestamp(day, tz="UTC") + pd.Timedelta(hours=11, minutes=50), None
        end = start + pd.Timedelta(minutes=30)
        began = time.perf_counter()
        as_was = store.select(SYMBOL, start, end, as_of=before_correction)
        as_is = store.select(SYMBOL, start, end)
        print(
            f"\n{SYMBOL} {start:%Y-%m-%d %H:%M}..{end:%H:%M}: {len(as_was):,} trades as of before the "
            f"correction, {len(as_is):,} now ({time.perf_counter() - began:.2f}s for both selects)"
        )
        print("\n5-minute bars as of before the correction:")
        print(ohlc_5min(as_was).round(2).to_string())
        print("\n5-minute bars now (corrected):")
        print(ohlc_5min(as_is).round(2).to_string())

        began = time.perf_counter()
        everything = store.select(SYMBOL, days[0].index[0], days[-1].index[-1])
        spent = time.perf_counter() - began
        print(
            f"\nselected all {len(everything):,} trades of {len(days)} days in {spent:.2f}s "
            f"({len(everything) / spent:,.0f} rows/s)"
        )


if __name__ == "__main__":
    main()
