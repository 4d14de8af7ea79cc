"""The rule bars stream by: the bars of consecutive runs of ticks, merged, are the bars of all the ticks.

However a day's ticks are cut into chunks (and whatever the bar length, whether a bar's edges are
found tick by tick or by bisection), the merged partial bars equal those of the whole day: open,
high, low, close and trades exactly, volume and notional up to the order of the sums.
"""

from __future__ import annotations

import itertools

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from tickstore_core.bars import merge_partials, partial_bars

DAY_START = 1_709_510_400 * 10**9  # 2024-03-04 00:00 UTC
FREQS = [1, 1_000, 10**9, 300 * 10**9, 3_600 * 10**9, 86_400 * 10**9]


def _ticks(offsets: list[int], prices: list[float | None], sizes: list[float | None]) -> pa.Table:
    times = pa.array(DAY_START + np.sort(np.array(offsets, dtype=np.int64))).cast(pa.timestamp("ns", tz="UTC"))
    return pa.table({"time": times, "price": pa.array(prices, pa.float64()), "size": pa.array(sizes, pa.float64())})


@st.composite
def days(draw: st.DrawFn) -> tuple[pa.Table, list[int], int]:
    n = draw(st.integers(1, 60))
    span = draw(st.sampled_from([50, 10**6, 86_400 * 10**9 - 1]))
    offsets = draw(st.lists(st.integers(0, span), min_size=n, max_size=n))
    prices = draw(st.lists(st.none() | st.floats(1, 1e5), min_size=n, max_size=n))
    sizes = draw(st.lists(st.none() | st.floats(0, 1e3), min_size=n, max_size=n))
    cuts = sorted(draw(st.sets(st.integers(1, n), max_size=6)) | {0, n})
    return _ticks(offsets, prices, sizes), cuts, draw(st.sampled_from(FREQS))


@settings(max_examples=300, deadline=None)
@given(days(), st.booleans())
def test_merged_partial_bars_of_the_chunks_are_the_bars_of_the_day(day, with_size):
    table, cuts, freq = day
    size = "size" if with_size else None
    whole = partial_bars(table, DAY_START, freq, "price", size)
    pieces = [partial_bars(table.slice(a, b - a), DAY_START, freq, "price", size) for a, b in itertools.pairwise(cuts)]
    merged = merge_partials(pieces)
    if whole is None:
        assert merged is None
        return
    assert merged is not None
    for name in ("labels", "open", "high", "low", "close", "trades"):
        np.testing.assert_array_equal(getattr(merged, name), getattr(whole, name), err_msg=name)
    assert (merged.volume is None) == (size is None) and (merged.notional is None) == (size is None)
    if size is not None:
        np.testing.assert_allclose(merged.volume, whole.volume, rtol=1e-12)
        np.testing.assert_allclose(merged.notional, whole.notional, rtol=1e-12)
    slots = (table.column(0).cast(pa.int64()).to_numpy() - DAY_START) // freq
    valid = table.column("price").is_valid().to_numpy(zero_copy_only=False)
    assert list(whole.labels) == sorted({DAY_START + s * freq for s in slots[valid]})  # the bars with a price
