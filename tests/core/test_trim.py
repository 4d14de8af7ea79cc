"""`trim` keeps exactly the rows of a sorted day within the select's bounds, across the day's chunks."""

from __future__ import annotations

import itertools

import numpy as np
import pyarrow as pa
from hypothesis import given
from hypothesis import strategies as st

from tickstore_core.query import trim
from tickstore_core.times import TIME_MAX, TIME_MIN

TIMES = pa.timestamp("ns", tz="UTC")


@given(
    values=st.lists(st.integers(0, 8), min_size=1, max_size=40).map(sorted),
    cuts=st.lists(st.integers(0, 40), max_size=6),
    bounds=st.tuples(st.integers(-1, 9), st.integers(-1, 9)).map(sorted),
    open_ends=st.sampled_from([(False, False), (True, False), (False, True)]),
)
def test_trim_keeps_the_rows_within_the_bounds(values, cuts, bounds, open_ends) -> None:
    """Few distinct times, so bounds fall on runs of equal times that chunk edges cut."""
    edges = sorted({0, len(values), *(c for c in cuts if c < len(values))})
    chunks = [pa.array(values[a:b], pa.int64()).cast(TIMES) for a, b in itertools.pairwise(edges)]
    table = pa.table({"time": pa.chunked_array(chunks, TIMES), "row": pa.array(np.arange(len(values)))})
    start = TIME_MIN if open_ends[0] else bounds[0]
    end = TIME_MAX if open_ends[1] else bounds[1]
    kept = trim(table, start, end).column("row").to_pylist()
    assert kept == [i for i, v in enumerate(values) if start <= v <= end]
