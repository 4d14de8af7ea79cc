"""A small frame (an append's) is converted without ``from_pandas``'s planning, to the same table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from tickstore_core.frames import SMALL_FRAME_ROWS, _small_table, ticks_to_table

FRAMES = {
    "trade": lambda: pd.DataFrame({"price": [1.5], "size": [0.01], "side": ["buy"], "trade_id": [3]}),
    "nulls and zones": lambda: pd.DataFrame(
        {
            "s": pd.array(["a", None], dtype="string"),
            "o": ["x", None],
            "b": [True, False],
            "t": pd.to_datetime(["2020-01-01", None]).tz_localize("Europe/Paris"),
            "u": np.array([1, 2], dtype="uint8"),
            "td": pd.to_timedelta([1, 2], unit="s"),
            "naive": pd.to_datetime(["2020-01-01", None]),
        }
    ),
    "objects": lambda: pd.DataFrame(
        {"bytes": [b"x", b"y"], "none": [None, None], "f32": np.array([1, 2], dtype="float32"), "nan": [np.nan, 1]}
    ),
    "named columns": lambda: pd.DataFrame({"price": [1.0]}).rename_axis(columns="fields"),
}


@pytest.mark.parametrize("name", sorted(FRAMES))
def test_small_frame_converts_to_what_from_pandas_makes(name: str) -> None:
    for _ in range(2):  # the first conversion plans the schema, the second reuses it
        frame = FRAMES[name]()
        fast = _small_table(frame)
        assert fast is not None
        assert fast.equals(pa.Table.from_pandas(frame, preserve_index=False), check_metadata=True)


def test_same_dtypes_other_arrow_types_get_their_own_schema() -> None:
    strings, raw = pd.DataFrame({"o": ["x"]}, dtype=object), pd.DataFrame({"o": [b"x"]}, dtype=object)
    for frame in (strings, raw, strings):
        fast = _small_table(frame)
        assert fast is not None
        assert fast.equals(pa.Table.from_pandas(frame, preserve_index=False), check_metadata=True)


def test_categoricals_and_large_frames_take_from_pandas() -> None:
    assert _small_table(pd.DataFrame({"c": pd.Categorical(["a"])})) is None
    assert _small_table(pd.DataFrame({"x": np.zeros(SMALL_FRAME_ROWS + 1)})) is None


def test_small_unsorted_frame_is_sorted_stably() -> None:
    times = pd.DatetimeIndex(["2024-03-04 00:00:02", "2024-03-04 00:00:01", "2024-03-04 00:00:01"], tz="UTC")
    table = ticks_to_table(pd.DataFrame({"x": [1, 2, 3]}, index=times), "time")
    assert table.column("x").to_pylist() == [2, 3, 1]
    assert table.column_names == ["time", "x"]
