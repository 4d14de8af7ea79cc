"""gc deletes only what a crashed writer of this very store provably left, on every backend.

An orphan must carry a tickstore writer's naming (a writer token on object stores; on the local
store a version number the symbol's index never handed out) and a tickstore-written header; on
the local store it must be a plain file inside the store's real root, never reached through a
symbolic link (another store's or an archive's committed files).
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tickstore_core import open_store
from tickstore_core.encoding.hdf5 import encode_hdf5
from tickstore_core.errors import BackendError
from tickstore_core.frames import ticks_to_table
from tickstore_core.maintenance import find_orphans, fsck, gc
from tickstore_core.store import Tickstore
from tickstore_core.testing import make_ticks

D1, D2 = dt.date(2024, 3, 4), dt.date(2024, 3, 5)
NO_GRACE = dt.timedelta(0)


def _crashed_insert(store: Tickstore, symbol: str, ticks: pd.DataFrame) -> None:
    """An insert whose writer uploads its data, then dies before its index commit."""
    real_put, index_key = store.backend.put, store.layout.index_key(symbol)

    def put(key: str, data: bytes, **kwargs: Any) -> Any:
        if key == index_key:
            raise BackendError("connection lost (simulated crash before the commit)")
        return real_put(key, data, **kwargs)

    store.backend.put = put  # type: ignore[method-assign]
    try:
        with pytest.raises(BackendError):
            store.insert(symbol, ticks)
    finally:
        store.backend.put = real_put  # type: ignore[method-assign]


def test_gc_removes_a_crashed_writers_objects_and_nothing_it_did_not_write(store_location):
    url, options = store_location()
    with open_store(url, **options) as store:
        store.insert("X", make_ticks(D1, 20))
        _crashed_insert(store, "X", make_ticks(D1, 5, seed=1))
        _crashed_insert(store, "NEW", make_ticks(D1, 5, seed=2))
        left = {m.key for m in store.backend.list("") if store.layout.parse_data_key(m.key)} - {
            v for v in store.history("X")["key"]
        }
        assert left  # what the crashed writers uploaded
        # objects in the data area that no tickstore writer of this store named or wrote
        if store.layout.version_named:
            foreign = {
                "2024/03/04/X_0007.h5": b"a legacy or hand-made file, not written by tickstore",
                "2024/03/04/Y_0000.h5": encode_hdf5(ticks_to_table(make_ticks(D1, 3), "time")),  # no index for Y
            }
        else:
            foreign = {
                "data/X/2024/03/04/notes.parquet": b"someone's file",
                "data/X/2024/03/04/1234-abcdef012345-0.parquet": b"writer-named but not Parquet",
            }
        for key, data in foreign.items():
            store.backend.put(key, data)
        orphans = {m.key for m in find_orphans(store, NO_GRACE)}
        removed = {m.key for m in gc(store, dry_run=False, grace=NO_GRACE)}
        if store.layout.version_named:  # the new symbol never got an index: its file is no proof
            assert orphans == removed == {k for k in left if "/X_" in k}
        else:
            assert orphans == removed == left
        for key, data in foreign.items():
            assert store.backend.get(key) == data
        assert len(store.select("X")) == 20 and fsck(store).ok


@pytest.fixture
def two_stores(tmp_path: Path) -> tuple[Path, Path]:
    """Store ``mine`` and store ``theirs``, each with committed versions of X."""
    mine, theirs = tmp_path / "mine", tmp_path / "theirs"
    with open_store(str(theirs)) as store:
        store.insert("X", make_ticks(D1, 10))
        store.insert("X", make_ticks(D2, 10, seed=1))
    with open_store(str(mine)) as store:
        store.insert("X", make_ticks(D1, 4, seed=2))
    return mine, theirs


def _theirs_intact(theirs: Path) -> None:
    with open_store(str(theirs)) as store:
        assert len(store.select("X")) == 20 and fsck(store, deep=True).ok


def test_gc_never_deletes_through_a_symlinked_directory(two_stores):
    mine, theirs = two_stores
    os.symlink(theirs / "2024" / "03" / "05", mine / "2024" / "03" / "05")  # another store's day
    (mine / "2023").symlink_to(theirs / "2024")  # a year reached through a link: 2023/03/05/X_0000.h5
    (mine / "2025").symlink_to(mine / "2024")  # a link inside the store: its files under other days
    with open_store(str(mine)) as store:
        listed = [m.key for m in store.backend.list("")]
        assert "2024/03/05/X_0000.h5" in listed and "2023/03/05/X_0000.h5" in listed  # links are listed
        assert find_orphans(store, NO_GRACE) == []
        assert gc(store, dry_run=False, grace=NO_GRACE) == []
        assert len(store.select("X")) == 4
    _theirs_intact(theirs)
    assert (mine / "2024" / "03" / "04" / "X_0000.h5").is_file()


def test_gc_never_deletes_a_symlinked_file(two_stores):
    mine, theirs = two_stores
    (mine / "2024" / "03" / "04" / "X_0001.h5").symlink_to(theirs / "2024" / "03" / "04" / "X_0000.h5")
    with open_store(str(mine)) as store:
        assert gc(store, dry_run=False, grace=NO_GRACE) == []
    assert (mine / "2024" / "03" / "04" / "X_0001.h5").is_symlink()
    _theirs_intact(theirs)


def test_the_local_backend_never_deletes_through_a_symlinked_directory(two_stores):
    mine, theirs = two_stores
    (mine / "2023").symlink_to(theirs / "2024")
    with open_store(str(mine)) as store:
        with pytest.raises(BackendError, match="symbolic link"):
            store.backend.delete("2023/03/05/X_0000.h5")
        assert not store.backend.owns("2023/03/05/X_0000.h5")
        assert store.backend.owns("2024/03/04/X_0000.h5")
        store.destroy()  # the store's own objects go; what lies behind the link stays
    assert (mine / "2023").is_symlink()
    _theirs_intact(theirs)
