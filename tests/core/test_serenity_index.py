"""Reading serenity's index.h5: its shapes, its paths, its time bounds; and nothing else."""

from __future__ import annotations

import datetime as dt
import warnings
from pathlib import Path

import pandas as pd
import pytest
from serenity_writer import LATEST_AS_OF, START_AS_OF

from tickstore_core.errors import CorruptObjectError
from tickstore_core.serenity_index import key_from_path, read_serenity_index
from tickstore_core.times import TIME_MAX, TIME_MIN

DAY = dt.date(2020, 4, 21)


@pytest.mark.parametrize(
    "path",
    [
        "local:PHEMEX_TRADES/2020/04/21/BTCUSD_0001.h5",
        "local:renamed_since/2020/04/21/BTCUSD_0001.h5",
        "azure:phemex-trades/2020/04/21/BTCUSD_0001.h5",
        "2020/04/21/BTCUSD_0001.h5",  # old Azure entries: the bare blob name
        "/mnt/raid/data/behemoth/db/PHEMEX_TRADES/2020/04/21/BTCUSD_0001.h5",  # serenity's rebuilt index
        None,  # nothing usable: the key serenity would have written
    ],
)
def test_index_paths_become_the_store_s_keys(path):
    assert key_from_path(path, "BTCUSD", DAY, 1) == "2020/04/21/BTCUSD_0001.h5"


def _index_bytes(tmp_path: Path, frame: pd.DataFrame, name: str = "DB") -> bytes:
    path = tmp_path / "index.h5"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frame.to_hdf(str(path), key=name, mode="w", complevel=9, complib="blosc")
    return path.read_bytes()


def test_an_index_serenity_rebuilt_from_files_reads(tmp_path):
    """serenity's _build_index: datetime.date levels, absolute paths, file mtimes as times."""
    written = dt.datetime(2021, 6, 1, 12, 30)
    frame = pd.DataFrame(
        {
            "symbol": ["BTCUSD", "BTCUSD"],
            "date": [DAY, DAY],
            "start_time": pd.array([START_AS_OF, written], dtype=object),
            "end_time": pd.array([written, LATEST_AS_OF], dtype=object),
            "version": [0, 1],
            "path": [f"/raid/DB/2020/04/21/BTCUSD_000{v}.h5" for v in (0, 1)],
        }
    ).set_index(["symbol", "date", "version"])
    (index,) = read_serenity_index(_index_bytes(tmp_path, frame), where="index.h5").values()
    first, second = index.versions(DAY)
    assert (first.start_time, first.end_time) == (TIME_MIN, pd.Timestamp(written).value)
    assert (second.start_time, second.end_time) == (pd.Timestamp(written).value, TIME_MAX)
    assert second.key == "2020/04/21/BTCUSD_0001.h5" and not second.stats_known


def test_an_empty_index_reads_as_no_symbols(tmp_path):
    frame = pd.DataFrame(columns=["symbol", "date", "start_time", "end_time", "version", "path"])
    frame = frame.set_index(["symbol", "date", "version"])
    assert read_serenity_index(_index_bytes(tmp_path, frame), where="index.h5") == {}


def test_anything_else_is_not_a_serenity_index(tmp_path):
    other = pd.DataFrame({"a": [1, 2]})
    with pytest.raises(CorruptObjectError, match="not a serenity index"):
        read_serenity_index(_index_bytes(tmp_path, other), where="index.h5")
    with pytest.raises(CorruptObjectError, match=r"index\.h5"):
        read_serenity_index(b"not hdf5 at all", where="index.h5")


@pytest.mark.parametrize(
    "symbol, day, version, match",
    [
        ("BTCUSD", dt.date(1970, 1, 4), 0, "names the file 2020/04/21/BTCUSD_0000.h5"),  # a date bit flipped
        ("BTCUSD", DAY, 72057594037927936, "names the file 2020/04/21/BTCUSD_0000.h5"),  # a version bit flipped
        ("BTC\x00SD", DAY, 0, "is not a symbol"),
        ("", DAY, 0, "is not a symbol"),
    ],
)
def test_an_index_row_that_disagrees_with_its_files_name_is_damage_not_another_day(
    tmp_path, symbol, day, version, match
):
    frame = pd.DataFrame(
        {
            "symbol": [symbol],
            "date": [day],
            "start_time": pd.array([START_AS_OF], dtype=object),
            "end_time": pd.array([LATEST_AS_OF], dtype=object),
            "version": [version],
            "path": ["local:DB/2020/04/21/BTCUSD_0000.h5"],
        }
    ).set_index(["symbol", "date", "version"])
    with pytest.raises(CorruptObjectError, match=match):
        read_serenity_index(_index_bytes(tmp_path, frame), where="index.h5")
