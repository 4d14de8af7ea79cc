"""Merging per-symbol tables into one time-sorted table: in parallel it equals the plain take."""

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pyarrow as pa

from tickstore_core.many import with_symbol


def _symbol_table(rng: np.random.Generator, rows: int) -> pa.Table:
    times = np.sort(rng.integers(0, 10**9, rows))  # many equal times across symbols: ties keep symbol order
    return pa.table(
        {
            "time": pa.array(times, type=pa.timestamp("ns", tz="UTC")),
            "price": rng.random(rows),
            "side": pa.array(rng.choice(["buy", "sell", "unknown", None], rows)),  # few values, and missing ones
            "order": pa.array([f"o{n}" for n in rng.integers(0, 10**12, rows)]),  # nearly all distinct
            "venue": pa.array(rng.choice(["a", "bb"], rows), type=pa.large_string()),
        }
    )


def test_a_parallel_merge_of_interleaved_symbols_equals_the_serial_one_and_is_sorted_stably():
    rng = np.random.default_rng(7)
    tables = [_symbol_table(rng, rows) for rows in (150_000, 120_000, 90_000)]
    symbols = ["A", "B", "C"]
    with ThreadPoolExecutor(2) as pool:
        parallel = with_symbol(tables, [0, 1, 2], symbols, lambda work, items: list(pool.map(work, items)))
    serial = with_symbol(tables, [0, 1, 2], symbols)
    assert parallel.num_rows == serial.num_rows == 360_000
    assert parallel.equals(serial)
    assert parallel.column("side").num_chunks == 2  # strings were taken in two halves
    assert parallel.schema == serial.schema and parallel.column("side").null_count > 0
    times = parallel.column("time").combine_chunks().cast(pa.int64()).to_numpy()
    codes = parallel.column("symbol").combine_chunks().indices.to_numpy()
    assert (np.diff(times) >= 0).all()
    ties = np.diff(times) == 0
    assert (np.diff(codes)[ties] >= 0).all()  # equal times: the earlier symbol first
    assert parallel.column("symbol").type == pa.dictionary(pa.int32(), pa.string())
