"""Realistic synthetic trades for demos, tests and benchmarks (no network, deterministic by seed).

Each day has a random number of trades around ``ticks_per_day``, arriving with an intraday
seasonality (busier during the European and US sessions). The price follows a log random walk in
trade time with GARCH-like volatility clustering and a buy/sell-driven microstructure (buys tend to
print at the ask, sells at the bid, half a spread apart), on a 0.5 USD tick grid. Sizes are
lognormal with a heavy tail; sides are autocorrelated, as order flow is.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import numpy as np
import pandas as pd

__all__ = ["synthetic_day", "synthetic_trades"]

_TICK = 0.5
_HOURLY_ACTIVITY = np.array(
    [0.6, 0.5, 0.5, 0.5, 0.5, 0.6, 0.7, 0.9, 1.1, 1.2, 1.1, 1.0,
     1.1, 1.4, 1.7, 1.8, 1.6, 1.4, 1.2, 1.0, 0.9, 0.8, 0.7, 0.6]
)  # fmt: skip


def _arrival_offsets(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` sorted nanosecond offsets within a day, following the hourly activity profile."""
    weights = _HOURLY_ACTIVITY / _HOURLY_ACTIVITY.sum()
    per_hour = rng.multinomial(n, weights)
    hours = np.repeat(np.arange(24, dtype=np.int64), per_hour)
    within = rng.integers(0, 3_600 * 10**9, n, dtype=np.int64)
    return np.sort(hours * 3_600 * 10**9 + within)


def _ar1(shocks: np.ndarray, decay: float, block: int = 4096) -> np.ndarray:
    """x[t] = decay * x[t-1] + shocks[t], vectorised block by block (exact, O(n))."""
    out = np.empty_like(shocks)
    level = 0.0
    powers = decay ** np.arange(1, block + 1)
    for start in range(0, len(shocks), block):
        chunk = shocks[start : start + block]
        p = powers[: len(chunk)]
        out[start : start + len(chunk)] = p * (level + np.cumsum(chunk / p))
        level = out[start + len(chunk) - 1]
    return out


def synthetic_day(
    day: dt.date, ticks: int, *, seed: int = 0, start_price: float = 42_000.0, first_trade_id: int = 1
) -> pd.DataFrame:
    """About ``ticks`` BTCUSD trades on ``day`` (UTC): price, size, side, trade_id, indexed by time."""
    rng = np.random.default_rng([seed, day.toordinal()])
    n = max(1, int(rng.normal(ticks, ticks * 0.03))) if ticks else 0
    times = pd.Timestamp(day, tz="UTC").value + _arrival_offsets(rng, n)
    # order flow: sides persist (a trade is likelier to follow one of the same side)
    flips = rng.random(n) < 0.35
    buy = np.logical_xor.accumulate(flips) ^ (rng.random() < 0.5)
    # volatility clustering: a slowly mean-reverting AR(1) log-volatility in trade time
    log_vol = _ar1(rng.normal(0.0, 0.02, n), 0.999)
    per_trade_vol = 0.02 / np.sqrt(max(ticks, 1)) * np.exp(log_vol)
    mid = start_price * np.exp(np.cumsum(rng.standard_t(5, n) * per_trade_vol))
    half_spread = _TICK * (1 + rng.poisson(0.5, n))
    price = np.round((mid + np.where(buy, half_spread, -half_spread)) / _TICK) * _TICK
    size = np.round(np.clip(rng.lognormal(-4.0, 1.4, n), 0.0001, 250.0), 4)
    trades: pd.DataFrame = pd.DataFrame(
        {
            "price": price,
            "size": size,
            "side": pd.array(np.where(buy, "buy", "sell"), dtype="str"),
            "trade_id": np.arange(first_trade_id, first_trade_id + n, dtype=np.int64),
        },
        index=pd.DatetimeIndex(times, tz="UTC", name="time"),
    )
    return trades


def synthetic_trades(
    start: dt.date | str, days: int, ticks_per_day: int, *, seed: int = 0, start_price: float = 42_000.0
) -> Iterator[pd.DataFrame]:
    """One DataFrame of trades per day for ``days`` consecutive days, prices continuing day to day."""
    day = pd.Timestamp(start).date()
    price, trade_id = start_price, 1
    for _ in range(days):
        frame = synthetic_day(day, ticks_per_day, seed=seed, start_price=price, first_trade_id=trade_id)
        if len(frame):
            price, trade_id = float(frame["price"].iloc[-1]), int(frame["trade_id"].iloc[-1]) + 1
        yield frame
        day += dt.timedelta(days=1)
