"""The local HDF5/RAID store: an existing store in the original layout opens, its index rebuilt."""

from __future__ import annotations

import datetime as dt
import os

import numpy as np
import pandas as pd
import pytest

from tickstore_core import open_store
from tickstore_core.encoding.hdf5 import encode_hdf5
from tickstore_core.errors import LegacyIndexWarning, LegacyStoreError, ObjectExistsError
from tickstore_core.frames import ticks_to_table
from tickstore_core.testing import make_ticks
from tickstore_core.times import TIME_MAX, TIME_MIN

DAY1, DAY2 = dt.date(2024, 3, 4), dt.date(2024, 3, 5)


def _legacy_file(path, ticks: pd.DataFrame, mtime: float) -> None:
    """A file as the original tick store wrote it: pandas fixed format under key 'ticks'."""
    path.parent.mkdir(parents=True, exist_ok=True)
    ticks.to_hdf(path, key="ticks", mode="w", complevel=9, complib="blosc")
    os.utime(path, (mtime, mtime))


def _numeric(day: dt.date, n: int, seed: int) -> pd.DataFrame:
    ticks = make_ticks(day, n, seed=seed).drop(columns=["side"])
    return ticks.rename_axis("date")


def _listing(root) -> dict[str, int]:
    return {str(p.relative_to(root)): p.stat().st_mtime_ns for p in sorted(root.rglob("*"))}


def test_an_existing_store_without_index_opens_from_file_times_with_a_warning_and_writes_nothing(tmp_path):
    root = tmp_path / "raid"
    v0, v1, other = _numeric(DAY1, 50, 1), _numeric(DAY1, 40, 2), _numeric(DAY2, 30, 3)
    _legacy_file(root / "2024/03/04/BTCUSD_0000.h5", v0, 1_700_000_000)
    _legacy_file(root / "2024/03/04/BTCUSD_0001.h5", v1, 1_700_000_100)
    _legacy_file(root / "2024/03/05/BTCUSD_0000.h5", other, 1_700_000_050)
    (root / "2024/03/05/ETHUSD_0000.h5").write_bytes(encode_hdf5(ticks_to_table(make_ticks(DAY2, 20), "time")))
    before = _listing(root)

    with pytest.warns(LegacyIndexWarning, match="modification times"), open_store(str(root)) as store:
        assert store.is_serenity_store
        assert store.symbols() == ["BTCUSD", "ETHUSD"]
        assert store.days("BTCUSD") == [DAY1, DAY2]
        current = store.select("BTCUSD")
        assert current["trade_id"].tolist() == v1["trade_id"].tolist() + other["trade_id"].tolist()
        as_was = store.select("BTCUSD", as_of=pd.Timestamp(1_700_000_050, unit="s", tz="UTC"))
        assert as_was["trade_id"].tolist() == v0["trade_id"].tolist() + other["trade_id"].tolist()
        history = store.history("BTCUSD", DAY1)
        assert history["start_time"].tolist() == [
            pd.Timestamp(TIME_MIN, tz="UTC"),
            pd.Timestamp(1_700_000_100, unit="s", tz="UTC"),
        ]
        assert history["end_time"].iloc[-1] == pd.Timestamp(TIME_MAX, tz="UTC")
        assert history["rows"].isna().all()  # unknown until read
        with pytest.raises(LegacyStoreError, match="tickstore copy"):
            store.insert("BTCUSD", _numeric(DAY1, 10, 4).rename_axis("time"), day=DAY1)
    assert _listing(root) == before  # no index, manifest, lock or temporary file was written


def test_legacy_string_columns_open_by_default(tmp_path):
    root = tmp_path / "raid"
    ticks = make_ticks(DAY1, 20).rename_axis("date")  # 'side' is a string column: pickled by pandas
    _legacy_file(root / "2024/03/04/BTCUSD_0000.h5", ticks.astype({"side": object}), 1_700_000_000)
    with pytest.warns(LegacyIndexWarning), open_store(str(root)) as store:
        assert store.select("BTCUSD")["side"].tolist() == ticks["side"].tolist()


def test_version_files_are_named_by_version_and_only_our_orphans_are_overwritten(tmp_path):
    root = tmp_path / "db"
    with open_store(str(root)) as store:
        store.insert("X", make_ticks(DAY1, 5))
        orphan = root / "2024/03/04/X_0001.h5"  # what a writer of ours leaves when it dies before its commit
        orphan.write_bytes(encode_hdf5(ticks_to_table(make_ticks(DAY1, 3, seed=9), "time")))
        (version,) = store.insert("X", make_ticks(DAY1, 7, seed=1), day=DAY1)
        assert version.key == "2024/03/04/X_0001.h5" and version.rows == 7
        assert len(store.select("X")) == 7
        assert np.isfinite(store.select("X")["price"]).all()


def test_an_insert_never_overwrites_a_file_tickstore_did_not_write(tmp_path):
    root = tmp_path / "db"
    with open_store(str(root)) as store:
        store.insert("X", make_ticks(DAY1, 5))
        foreign = root / "2024/03/04/X_0001.h5"
        _legacy_file(foreign, _numeric(DAY1, 3, 5), 1_700_000_000)  # e.g. serenity wrote it meanwhile
        kept = foreign.read_bytes()
        with pytest.raises(ObjectExistsError, match="did not write it"):
            store.insert("X", make_ticks(DAY1, 7, seed=1), day=DAY1)
        assert foreign.read_bytes() == kept
        assert store.history("X")["version"].tolist() == [0]


def test_an_insert_never_overwrites_another_stores_file_behind_a_symbolic_link(tmp_path):
    mine, theirs = tmp_path / "mine", tmp_path / "theirs"
    with open_store(str(theirs)) as store:
        store.insert("X", make_ticks(DAY2, 10))
    with open_store(str(mine)) as store:
        store.insert("X", make_ticks(DAY1, 4))
    os.symlink(theirs / "2024/03/05", mine / "2024/03/05")
    with open_store(str(mine)) as store:
        with pytest.raises(ObjectExistsError, match="symbolic link"):
            store.insert("X", make_ticks(DAY2, 3, seed=5))
        assert store.days("X") == [DAY1]
    with open_store(str(theirs)) as store:
        assert len(store.select("X")) == 10
