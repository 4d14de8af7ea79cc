"""Stores written by serenity's tick store read exactly as serenity answers them, locally and on Azure.

The local store is ``tests/data/serenity/PHEMEX_TRADES``, written by serenity's own code under its
pinned pandas 1.2 / numpy 1.20 / tables 3.6 (README.md there): BTCUSD with a string column and a
correction of 2020-05-12, ETHUSD with a delete of 2020-05-13 recorded only in ``index.h5``. The
Azure store holds the same versions as AzureBlobTickstore keeps them (Parquet blobs and an
``index`` blob). Expected answers come from ``WRITTEN.json`` and from serenity's select, replayed
by :func:`serenity_writer.serenity_select`.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import uuid
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from azure.storage.blob import BlobServiceClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from serenity_writer import (
    SerenityWriter,
    read_azure,
    read_local,
    serenity_select,
    upload_as_azure_tickstore,
)

from tickstore_core import Tickstore, open_store, serenity_store
from tickstore_core.cli import main as cli
from tickstore_core.errors import (
    ColumnNotFoundError,
    CorruptObjectError,
    InvalidInputError,
    LegacyIndexWarning,
    LegacyStoreError,
    ObjectNotFoundError,
    OfflineWarning,
    UnknownLayoutError,
    UnsafeDataError,
)
from tickstore_core.layout import layout_for
from tickstore_core.maintenance import fsck, gc
from tickstore_core.migrate import copy_store
from tickstore_core.serenity_index import index_from_listing
from tickstore_core.testing.spy import count_requests
from tickstore_core.times import TIME_MAX, TIME_MIN

FIXTURE = Path(__file__).resolve().parent.parent / "data" / "serenity"
WRITTEN = json.loads((FIXTURE / "WRITTEN.json").read_text())
BEFORE_CORRECTION = pd.Timestamp(WRITTEN["before_correction"])
BEFORE_DELETE = pd.Timestamp(WRITTEN["before_delete"])
D11, D12, D13 = dt.date(2020, 5, 11), dt.date(2020, 5, 12), dt.date(2020, 5, 13)
AS_OFS = [None, BEFORE_CORRECTION, BEFORE_DELETE, pd.Timestamp("2030-01-01")]
RANGES = [
    ("2020-05-11", "2020-05-13 23:59:59.999999"),
    ("2020-05-12 06:00", "2020-05-12 18:00"),
    ("2020-05-12 12:00", "2020-05-13 12:00"),
    ("2020-05-13", "2020-05-13 23:59:59"),
]


@dataclass
class Source:
    """A serenity store on one backend, with what serenity itself would read from it."""

    url: str
    options: dict[str, Any]
    root: Path  # the local copy (for the azure source: the one its blobs were made from)
    container: Any = None
    keys: Callable[[], dict[str, Any]] = field(default=lambda: {})

    def open(self, **options: Any) -> Tickstore:
        return open_store(self.url, **self.options, **options)

    def index_bytes(self) -> bytes:
        if self.container is None:
            return (self.root / "index.h5").read_bytes()
        return bytes(self.container.get_blob_client("index").download_blob().readall())

    def read(self) -> Any:
        return read_local(self.root) if self.container is None else read_azure(self.container)

    def writer(self) -> SerenityWriter:
        if self.container is None:
            return SerenityWriter(root=self.root)
        return SerenityWriter(container=self.container, db_name=self.root.name)

    def put_raw(self, key: str, data: bytes) -> None:
        if self.container is None:
            (self.root / key).write_bytes(data)
        else:
            self.container.get_blob_client(key).upload_blob(data, overwrite=True)


def _local_copy(tmp_path: Path) -> Path:
    root = tmp_path / "PHEMEX_TRADES"
    shutil.copytree(FIXTURE / "PHEMEX_TRADES", root)
    for path in [root, *root.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    return root


def _container(request: pytest.FixtureRequest) -> tuple[Any, str]:
    connection = request.getfixturevalue("azurite")
    service = BlobServiceClient.from_connection_string(connection)
    container = service.get_container_client(f"phemex-trades-{uuid.uuid4().hex[:12]}")
    container.create_container()
    request.addfinalizer(container.delete_container)
    return container, connection


@pytest.fixture(params=["file", "azure"])
def serenity(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Source]:
    root = _local_copy(tmp_path)
    if request.param == "file":
        yield Source(str(root), {}, root)
        return
    container, connection = _container(request)
    upload_as_azure_tickstore(root, container)
    yield Source(f"az://{container.container_name}", {"connection_string": connection}, root, container)


def _naive(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    out.index = pd.DatetimeIndex(out.index).tz_convert("UTC").tz_localize(None)
    return out


def _assert_same(ours: pd.DataFrame, theirs: pd.DataFrame) -> None:
    """Same ticks, in the same order, with the same values (dtypes may differ: str vs object)."""
    ours = _naive(ours)
    assert len(ours) == len(theirs)
    if not len(theirs):
        return
    assert (ours.index.as_unit("ns") == pd.DatetimeIndex(theirs.index).as_unit("ns")).all()
    assert list(ours.columns) == list(theirs.columns)
    for name in theirs.columns:
        assert ours[name].tolist() == theirs[name].tolist(), name


# --- reading: exactly serenity's answers ---------------------------------------------------------


def test_every_select_and_as_of_select_answers_as_serenity_does(serenity):
    index = serenity.index_bytes()
    with serenity.open() as store:
        assert store.is_serenity_store and store.symbols() == ["BTCUSD", "ETHUSD"]
        for symbol in ("BTCUSD", "ETHUSD"):
            for start, end in RANGES:
                for as_of in AS_OFS:
                    first, last = pd.Timestamp(start).to_pydatetime(), pd.Timestamp(end).to_pydatetime()
                    when = None if as_of is None else as_of.tz_localize("UTC")
                    ours = store.select(symbol, first, last, as_of=when)  # datetimes: exact bounds, as serenity's
                    theirs = serenity_select(
                        index, serenity.read(), symbol, first, last, *([] if as_of is None else [as_of.to_pydatetime()])
                    )
                    _assert_same(ours, theirs)


def test_the_correction_and_the_delete_show_as_written(serenity):
    btc, eth = WRITTEN["BTCUSD"], WRITTEN["ETHUSD"]
    with serenity.open() as store:
        assert len(store.select("BTCUSD", "2020-05-12", "2020-05-12")) == btc["2020-05-12"]["v1"]
        early = store.select("BTCUSD", "2020-05-12", "2020-05-12", as_of=BEFORE_CORRECTION.tz_localize("UTC"))
        assert len(early) == btc["2020-05-12"]["v0"]
        assert len(store.select("ETHUSD")) == eth["2020-05-11"] + eth["2020-05-12"]
        assert len(store.select("ETHUSD", as_of=BEFORE_DELETE.tz_localize("UTC"))) == (
            eth["2020-05-11"] + eth["2020-05-12"] + eth["2020-05-13"]["v0"]
        )
        assert store.days("ETHUSD") == [D11, D12]
        assert store.days("ETHUSD", as_of=BEFORE_DELETE.tz_localize("UTC")) == [D11, D12, D13]
        assert store.days("BTCUSD") == [D11, D12, D13]
        side = store.select("BTCUSD")["side"]  # the pickled object column, opened without allow_pickle
        assert set(side) <= {"Buy", "Sell"} and len(side) == 340


def test_history_has_serenity_s_exact_version_times(serenity):
    with serenity.open() as store:
        btc = store.history("BTCUSD", D12)
        assert btc["version"].tolist() == [0, 1]
        assert btc["start_time"].iloc[0] == pd.Timestamp(TIME_MIN, tz="UTC")
        corrected = btc["start_time"].iloc[1]
        assert BEFORE_CORRECTION.tz_localize("UTC") < corrected < BEFORE_DELETE.tz_localize("UTC")
        assert btc["end_time"].tolist() == [corrected, pd.Timestamp(TIME_MAX, tz="UTC")]
        assert btc["rows"].isna().all() and btc["checksum"].isna().all()  # serenity kept no statistics
        eth = store.history("ETHUSD", D13)
        assert eth["version"].tolist() == [0] and not eth["current"].iloc[0]
        assert BEFORE_DELETE.tz_localize("UTC") < eth["end_time"].iloc[0] < pd.Timestamp.now(tz="UTC")
        assert store.history("ETHUSD", D12)["current"].tolist() == [True]


def test_opening_reads_the_index_only(serenity):
    with serenity.open() as probe:
        backend_class, url = type(probe.backend), probe.backend.url
    backend = backend_class.from_url(url.split("?")[0], **serenity.options)
    calls, _ = count_requests(backend)
    with Tickstore(backend) as store:
        assert calls["list"] == 0 and calls["get"] == 0  # no data object, no listing: the manifest and
        assert 1 <= calls["get_tagged"] <= 3  # the index, read with their ETags (Azure: index.h5 or index)
        assert sum(calls.values()) <= 4
        calls.clear()
        store.select("BTCUSD", "2020-05-12 10:00", "2020-05-12 11:00")
        assert calls["get"] == 1 and calls["list"] == 0  # that day's file only


# --- safety and failures -----------------------------------------------------------------------


class _Payload:
    """Unpickling this creates the marker file: proof that code from the file ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (open, (str(self.marker), "w"))


def test_a_hostile_pickle_in_a_data_file_is_refused_and_fails_only_its_select(tmp_path):
    root = _local_copy(tmp_path)
    marker = tmp_path / "marker"
    writer = SerenityWriter(root=root)
    day = dt.date(2020, 5, 14)
    ticks = pd.DataFrame(
        {"price": [1.0, 2.0], "evil": pd.array([_Payload(marker)] * 2, dtype=object)},
        index=pd.DatetimeIndex(["2020-05-14 01:00", "2020-05-14 02:00"], name="time"),
    )
    key = writer.insert("BTCUSD", day, ticks)
    writer.flush()
    with open_store(str(root)) as store:
        with pytest.raises(UnsafeDataError, match=key):
            store.select("BTCUSD", "2020-05-13", "2020-05-14")
        assert len(store.select("BTCUSD", "2020-05-11", "2020-05-13 23:59")) == 340  # other days read
        report = fsck(store, deep=True)
        assert [p for p in report.problems if key in p] and not report.ok
    assert not marker.exists()


def test_a_hostile_pickle_in_the_index_is_refused_and_never_runs(tmp_path):
    root = _local_copy(tmp_path)
    marker = tmp_path / "marker"
    writer = SerenityWriter(root=root)
    writer.rows[0]["path"] = _Payload(marker)
    writer.flush()
    with pytest.raises(UnsafeDataError, match=r"index\.h5.*io\.open"):
        open_store(str(root))
    assert not marker.exists()


def test_an_unreadable_file_fails_only_the_select_that_touches_it_and_fsck_lists_it(serenity):
    serenity.put_raw("2020/05/13/BTCUSD_0000.h5", b"\x89HDF\r\n\x1a\n damaged beyond repair")
    with serenity.open() as store:  # opening does not read data files
        with pytest.raises(CorruptObjectError, match=r"2020/05/13/BTCUSD_0000\.h5"):
            store.select("BTCUSD", "2020-05-12 12:00", "2020-05-13 12:00")
        assert len(store.select("BTCUSD", "2020-05-11", "2020-05-12 23:59")) == 220
        report = fsck(store, deep=True)
        assert report.problems == [p for p in report.problems if "2020/05/13/BTCUSD_0000.h5" in p]
        assert len(report.problems) == 1


def test_a_missing_file_fails_only_its_select(serenity):
    if serenity.container is None:
        (serenity.root / "2020/05/11/ETHUSD_0000.h5").unlink()
    else:
        serenity.container.get_blob_client("2020/05/11/ETHUSD_0000.h5").delete_blob()
    with serenity.open() as store:
        with pytest.raises(ObjectNotFoundError, match=r"2020/05/11/ETHUSD_0000\.h5"):
            store.select("ETHUSD")
        assert len(store.select("ETHUSD", "2020-05-12", "2020-05-13")) == 80
        assert not fsck(store).ok


# --- never writing into a serenity store ---------------------------------------------------------


def _listing(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(root)): (p.stat().st_mtime_ns, p.stat().st_size) for p in sorted(root.rglob("*"))}


def test_opening_and_reading_write_nothing_and_writes_are_refused(serenity):
    before = _listing(serenity.root) if serenity.container is None else None
    blobs = None if serenity.container is None else sorted(b.name for b in serenity.container.list_blobs())
    with serenity.open() as store:
        store.select("BTCUSD")
        store.history("ETHUSD")
        fsck(store, deep=True)
        assert gc(store, dry_run=False, grace=dt.timedelta(0)) == []  # no file here is tickstore's to remove
        ticks = pd.DataFrame({"price": [1.0]}, index=pd.DatetimeIndex(["2020-05-12 10:00"], tz="UTC"))
        with pytest.raises(LegacyStoreError, match="tickstore copy"):
            store.insert("BTCUSD", ticks)
        with pytest.raises(LegacyStoreError):
            store.delete("BTCUSD", D12)
    if serenity.container is None:
        assert _listing(serenity.root) == before
    else:
        assert sorted(b.name for b in serenity.container.list_blobs()) == blobs


def _can_remount_read_only() -> bool:
    return shutil.which("mount") is not None and shutil.which("umount") is not None


def test_a_read_only_mount_opens_and_reads(tmp_path):
    """A real read-only bind mount (tests run as root, so file modes would not stop a write)."""
    root = _local_copy(tmp_path)
    mounted = tmp_path / "ro" / "PHEMEX_TRADES"
    mounted.mkdir(parents=True)
    bind = subprocess.run(["mount", "--bind", str(root), str(mounted)], capture_output=True)
    if bind.returncode != 0 or not _can_remount_read_only():
        pytest.skip(f"cannot bind-mount here: {bind.stderr.decode().strip()}")
    try:
        remount = subprocess.run(["mount", "-o", "remount,ro,bind", str(mounted)], capture_output=True)
        assert remount.returncode == 0, remount.stderr
        with pytest.raises(OSError):
            (mounted / "probe").write_bytes(b"")  # really read-only, even for root
        before = _listing(root)
        with open_store(str(mounted)) as store:
            assert len(store.select("BTCUSD")) == 340
            assert store.days("ETHUSD") == [D11, D12]
            assert len(store.history("BTCUSD")) == 4
        assert _listing(root) == before
    finally:
        subprocess.run(["umount", str(mounted)], check=True)


# --- serenity still writing ----------------------------------------------------------------------


def _trades(day: dt.date, n: int, seed: int, hours: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    start = pd.Timestamp(day) + pd.Timedelta(hours=hours)
    times = start + pd.to_timedelta(np.sort(rng.integers(0, 86_400_000, n)), unit="ms")
    return pd.DataFrame(
        {
            "price": rng.normal(9000, 10, n).round(1),
            "qty": rng.integers(1, 500, n),
            "side": pd.array(rng.choice(["Buy", "Sell"], n).tolist(), dtype=object),
        },
        index=pd.DatetimeIndex(times, name="time"),
    )


def test_select_many_of_serenity_files_with_a_symbol_column_is_a_clear_error(tmp_path):
    """Serenity's index does not list columns: the clash with select_many's own column shows once read."""
    root = tmp_path / "DB"
    root.mkdir()
    writer = SerenityWriter(root=root)
    writer.insert("AAA", D11, _trades(D11, 20, 1).assign(symbol="AAA"))
    writer.insert("BBB", D11, _trades(D11, 20, 2))
    writer.flush()
    with open_store(str(root)) as store:
        with pytest.raises(InvalidInputError, match="AAA has a column named 'symbol'"):
            store.select_many(["BBB", "AAA"])
        assert list(store.select_many(["BBB", "AAA"], columns=["price"]).columns) == ["symbol", "price"]
        assert store.select("AAA").symbol.eq("AAA").all()


def test_what_serenity_writes_after_the_first_open_is_seen_on_refresh_and_reopen(serenity):
    with serenity.open() as store:
        assert store.days("BTCUSD") == [D11, D12, D13]
        writer = serenity.writer()
        d14 = dt.date(2020, 5, 14)
        writer.insert("BTCUSD", d14, _trades(d14, 50, 1))  # a new day
        writer.insert("BTCUSD", D11, _trades(D11, 30, 2))  # a new version of a day
        writer.delete("BTCUSD", D13)  # a delete, only in the index
        writer.insert("XRPUSD", D12, _trades(D12, 10, 3))  # a new symbol
        writer.flush()
        store.refresh()
        assert store.days("BTCUSD") == [D11, D12, d14]
        assert store.history("BTCUSD", D11)["version"].tolist() == [0, 1]
        assert len(store.select("BTCUSD", "2020-05-11", "2020-05-11 23:59:59.999")) == 30
        assert store.symbols() == ["BTCUSD", "ETHUSD", "XRPUSD"]
    with serenity.open() as again:
        index = serenity.index_bytes()
        for as_of in (None, BEFORE_DELETE, pd.Timestamp.now()):
            ours = again.select(
                "BTCUSD", "2020-05-10", "2020-05-15", as_of=None if as_of is None else as_of.tz_localize("UTC")
            )
            args = [] if as_of is None else [as_of.to_pydatetime()]
            theirs = serenity_select(
                index, serenity.read(), "BTCUSD", dt.datetime(2020, 5, 10), dt.datetime(2020, 5, 15), *args
            )
            _assert_same(ours, theirs)


def test_the_index_is_reread_after_index_ttl_and_only_when_it_changed(serenity):
    with serenity.open(index_ttl=0, cache=False) as store:
        calls, _ = count_requests(store.backend)
        store.days("BTCUSD")
        store.days("BTCUSD")
        assert calls["get"] == 0  # revalidated by ETag, not read again
        writer = serenity.writer()
        writer.delete("BTCUSD", D11)
        writer.flush()
        assert store.days("BTCUSD") == [D12, D13]


def test_an_azure_serenity_store_reads_offline_from_the_cache(tmp_path, request):
    container, connection = _container(request)
    upload_as_azure_tickstore(_local_copy(tmp_path), container)
    url = f"az://{container.container_name}"
    with open_store(url, connection_string=connection, cache=True, cache_dir=tmp_path / "cache") as store:
        online = store.select("BTCUSD")
        _, state = count_requests(store.backend)
        state["offline"] = True
        store.refresh()
        with pytest.warns(OfflineWarning):
            offline = store.select("BTCUSD")
        pd.testing.assert_frame_equal(offline, online)


def _written_from_scratch(container: Any, price: float) -> None:
    """The container emptied, then a store of one day written as serenity writes a new store."""
    for blob in container.list_blobs():
        container.delete_blob(blob.name)
    writer = SerenityWriter(container=container, db_name="PHEMEX_TRADES")
    writer.insert(
        "BTCUSD", D14, pd.DataFrame({"price": [price, price]}, index=pd.DatetimeIndex(TWO_TIMES, name="time"))
    )
    writer.flush()


D14, TWO_TIMES = dt.date(2020, 5, 14), ["2020-05-14 01:00", "2020-05-14 02:00"]


def test_a_serenity_store_written_again_from_scratch_is_not_answered_from_the_cache(tmp_path, request):
    """Its first versions have the same names, numbers and start (Timestamp.min) as the old store's:
    only the files' own tags tell them apart. An unchanged store's warm reads ask only for the index."""
    container, connection = _container(request)
    url, cache = f"az://{container.container_name}", {"cache": True, "cache_dir": tmp_path / "cache"}
    _written_from_scratch(container, 1.0)
    with open_store(url, connection_string=connection, **cache) as store:
        assert store.select("BTCUSD")["price"].tolist() == [1.0, 1.0]
    with open_store(url, connection_string=connection, **cache) as store:
        calls, _ = count_requests(store.backend)
        assert store.select("BTCUSD")["price"].tolist() == [1.0, 1.0]
        assert calls["get"] == calls["head"] == calls["get_range"] == 0
    _written_from_scratch(container, 2.0)
    with open_store(url, connection_string=connection, **cache) as store:
        assert store.select("BTCUSD")["price"].tolist() == [2.0, 2.0]


def test_a_file_that_spills_into_the_next_day_is_sorted_into_it(tmp_path, request):
    """A day's file may hold ticks of the next day (local-time stamps); serenity sorts the whole result."""
    d1, d2 = dt.date(2021, 3, 1), dt.date(2021, 3, 2)
    first = _trades(d1, 40, 7, hours=6)  # runs until 06:00 the next day
    second = _trades(d2, 40, 8)
    for place in ("file", "azure"):
        if place == "file":
            root = tmp_path / "SPILL"
            root.mkdir()
            writer, url, options, read = SerenityWriter(root=root), str(root), {}, read_local(root)
        else:
            container, connection = _container(request)
            writer = SerenityWriter(container=container, db_name="SPILL")
            url, options, read = (
                f"az://{container.container_name}",
                {"connection_string": connection},
                read_azure(container),
            )
        writer.insert("BTCUSD", d1, first)
        writer.insert("BTCUSD", d2, second)
        writer.flush()
        index = (
            (root / "index.h5").read_bytes()
            if place == "file"
            else container.get_blob_client("index").download_blob().readall()
        )
        with open_store(url, **options) as store:
            ours = store.select("BTCUSD", "2021-03-01", "2021-03-02 23:59:59")
            assert ours.index.is_monotonic_increasing and len(ours) == 80
            theirs = serenity_select(
                index, read, "BTCUSD", dt.datetime(2021, 3, 1), dt.datetime(2021, 3, 2, 23, 59, 59)
            )
            _assert_same(ours, theirs)


# --- layouts that are not understood -----------------------------------------------------------


def test_a_location_of_foreign_objects_is_an_error_not_an_empty_store(tmp_path, request):
    root = tmp_path / "elsewhere"
    (root / "notes").mkdir(parents=True)
    (root / "notes" / "readme.txt").write_text("not ticks")
    container, connection = _container(request)
    container.get_blob_client("notes/readme.txt").upload_blob(b"not ticks")
    for url, options in ((str(root), {}), (f"az://{container.container_name}", {"connection_string": connection})):
        with open_store(url, **options) as store:
            with pytest.raises(UnknownLayoutError, match=r"is neither a tickstore store .* nor a serenity store"):
                store.symbols()
            with pytest.raises(UnknownLayoutError):
                store.select("BTCUSD")
        with (
            open_store(url, **options) as source,
            open_store(f"memory://{uuid.uuid4().hex}") as destination,
            pytest.raises(UnknownLayoutError),
        ):
            copy_store(source, destination)


def test_a_large_location_of_foreign_objects_is_not_listed_to_the_end(tmp_path, monkeypatch):
    """A home directory opened by mistake: it is no store after 10,000 objects that are not a store's."""
    root = tmp_path / "home"
    for folder in range(11):
        (root / f"project{folder}").mkdir(parents=True)
        for name in range(1_000):
            (root / f"project{folder}" / f"notes{name}.txt").touch()
    with open_store(str(tmp_path / "unused")) as unused:
        backend_class = type(unused.backend)
    listed = 0
    real_list = backend_class.list

    def counted(self: Any, prefix: str) -> Iterator[Any]:
        nonlocal listed
        for meta in real_list(self, prefix):
            listed += 1
            yield meta

    monkeypatch.setattr(backend_class, "list", counted)
    with pytest.raises(UnknownLayoutError, match=r"is neither a tickstore store"), open_store(str(root)) as store:
        store.symbols()
    assert listed == 10_000 == serenity_store.FOREIGN_OBJECTS_SCANNED  # of 11,000


def test_copying_from_a_location_that_holds_no_store_is_an_error(tmp_path, request):
    container, connection = _container(request)
    sources = [
        (str(tmp_path / "empty"), {}),
        (f"az://{container.container_name}", {"connection_string": connection}),  # empty container
        (f"az://missing-{uuid.uuid4().hex[:12]}", {"connection_string": connection}),  # no container at all
    ]
    for url, options in sources:
        with (
            open_store(url, **options) as source,
            open_store(f"memory://{uuid.uuid4().hex}") as destination,
            pytest.raises(UnknownLayoutError, match="holds no store to copy"),
        ):
            copy_store(source, destination)


def test_a_serenity_store_is_never_a_copy_destination(tmp_path):
    root = _local_copy(tmp_path)
    before = _listing(root)
    with open_store(f"memory://{uuid.uuid4().hex}") as source, open_store(str(root)) as destination:
        source.insert("BTCUSD", _trades(D11, 5, 1))
        with pytest.raises(LegacyStoreError):
            copy_store(source, destination)
    assert _listing(root) == before


def test_to_dask_of_a_serenity_store_says_to_select_or_copy(tmp_path):
    pytest.importorskip("dask.dataframe")
    with open_store(str(_local_copy(tmp_path))) as store, pytest.raises(LegacyStoreError, match="select"):
        store.to_dask("BTCUSD")


# --- copying to every backend ----------------------------------------------------------------


def _same_history(source: Tickstore, destination: Tickstore) -> None:
    assert destination.symbols() == source.symbols()
    for symbol in source.symbols():
        theirs = source.history(symbol)[["day", "version", "start_time", "end_time", "current"]]
        ours = destination.history(symbol)
        pd.testing.assert_frame_equal(ours[theirs.columns], theirs)
        assert (ours["rows"] > 0).all() and ours["checksum"].notna().all()  # native versions now


def test_copy_to_every_backend_keeps_every_version_time_and_delete(serenity, shared_store_location):
    url, options = shared_store_location()
    with serenity.open() as source, open_store(url, **options) as destination:
        report = copy_store(source, destination)
        assert report.versions_copied == 7 and report.rows == 120 + 120 + 100 + 120 + 80 * 3
        _same_history(source, destination)
        for symbol in ("BTCUSD", "ETHUSD"):
            for as_of in AS_OFS:
                when = None if as_of is None else as_of.tz_localize("UTC")
                pd.testing.assert_frame_equal(
                    destination.select(symbol, as_of=when), source.select(symbol, as_of=when), check_dtype=False
                )
        assert destination.days("ETHUSD") == [D11, D12]
        again = copy_store(source, destination)  # resumable: nothing left to copy
        assert again.versions_copied == 0


def test_cli_copy_from_a_local_serenity_store_copies_everything_and_says_so(tmp_path, capsys):
    source, destination = _local_copy(tmp_path), tmp_path / "copied"
    assert cli(["--no-progress", "copy", str(source), str(destination)]) == 0
    out = capsys.readouterr().out
    assert "BTCUSD: 4 versions copied" in out and "ETHUSD: 3 versions copied" in out
    with open_store(str(destination)) as copied:
        assert not copied.is_serenity_store
        assert copied.days("ETHUSD") == [D11, D12]
        assert len(copied.select("BTCUSD")) == 340


def test_cli_ls_and_import_of_a_serenity_store(tmp_path, capsys):
    source = _local_copy(tmp_path)
    assert cli(["--store", str(source), "ls"]) == 0
    listing = capsys.readouterr().out.splitlines()
    assert any(line.split()[:4] == ["BTCUSD", "3", "2020-05-11", "2020-05-13"] for line in listing)
    assert any(line.split()[:2] == ["ETHUSD", "2"] for line in listing)  # the delete counts
    assert cli(["--no-progress", "import", str(source), str(tmp_path / "imported")]) == 0
    assert "copied 7 versions" in capsys.readouterr().out


def test_cli_copy_of_an_azure_serenity_container_copies_everything(tmp_path, capsys, monkeypatch, request):
    """The container serenity's AzureBlobTickstore wrote, opened as az://<container>, not as an empty store."""
    container, connection = _container(request)
    upload_as_azure_tickstore(_local_copy(tmp_path), container)
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", connection)
    destination = tmp_path / "copied"
    assert cli(["--no-progress", "copy", f"az://{container.container_name}", str(destination)]) == 0
    assert "copied 7 versions" in capsys.readouterr().out
    with open_store(str(destination)) as copied:
        assert copied.symbols() == ["BTCUSD", "ETHUSD"] and len(copied.select("ETHUSD")) == 160


def test_index_h5_wins_over_indexes_an_older_tickstore_built_from_the_files(tmp_path):
    """tickstore 0.1 wrote _tickstore.json and _index/*.json (from mtimes) into serenity stores it opened."""
    root = _local_copy(tmp_path)
    with open_store(str(root)) as probe:
        stale = index_from_listing(probe.backend.list(""), layout_for("behemoth"))
    (root / "_tickstore.json").write_text(
        json.dumps({"format": "tickstore/1", "timestamp_column": "time", "tz": "UTC", "layout": "behemoth"})
    )
    (root / "_index").mkdir()
    for symbol, index in stale.items():
        (root / "_index" / f"{symbol}.json").write_bytes(index.to_bytes())
    with pytest.warns(LegacyIndexWarning, match=r"index\.h5 is the truth"), open_store(str(root)) as store:
        assert store.is_serenity_store
        assert store.days("ETHUSD") == [D11, D12]  # the delete, which only index.h5 knows


def test_no_index_falls_back_to_file_times_with_a_warning(tmp_path):
    root = _local_copy(tmp_path)
    (root / "index.h5").unlink()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with open_store(str(root)) as store:
            assert store.days("ETHUSD") == [D11, D12, D13]  # the delete lived only in index.h5
    assert any("modification times" in str(w.message) for w in caught)


# --- any history serenity writes ---------------------------------------------------------------

_OPERATIONS = st.lists(
    st.tuples(
        st.sampled_from(["insert", "insert", "delete"]),
        st.sampled_from(["AAA", "BBB"]),
        st.integers(0, 2),  # the day
        st.integers(0, 12),  # rows
    ),
    min_size=1,
    max_size=8,
)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=_OPERATIONS, seed=st.integers(0, 2**16))
def test_any_history_serenity_writes_reads_as_serenity_answers_it(tmp_path_factory, operations, seed):
    """Random inserts, corrections and deletes (repeated deletes and inserts after deletes rewrite
    serenity's end times); every select at every as-of between them answers as serenity's."""
    root = tmp_path_factory.mktemp("serenity") / "DB"
    root.mkdir()
    writer = SerenityWriter(root=root)
    clock = dt.datetime(2024, 1, 1)
    moments = []
    for i, (operation, symbol, day_number, rows) in enumerate(operations):
        clock += dt.timedelta(seconds=1)
        day = D11 + dt.timedelta(days=day_number)
        if operation == "insert":
            writer.insert(symbol, day, _trades(day, rows, seed + i, hours=day_number * 3.0), now=clock)
        else:
            writer.delete(symbol, day, now=clock)
        moments.append(clock)
    writer.flush()
    index = (root / "index.h5").read_bytes()
    as_ofs = [None, clock - dt.timedelta(days=1)] + [m + dt.timedelta(microseconds=500) for m in moments]
    with open_store(str(root)) as store:
        for symbol in ("AAA", "BBB"):
            for as_of in as_ofs:
                first, last = dt.datetime(2020, 5, 10), dt.datetime(2020, 5, 15)
                when = None if as_of is None else pd.Timestamp(as_of, tz="UTC")
                ours = store.select(symbol, first, last, as_of=when)
                theirs = serenity_select(index, read_local(root), symbol, first, last, *([as_of] if as_of else []))
                _assert_same(ours, theirs)


def test_research_reads_of_a_serenity_store_equal_their_pandas_references(serenity):
    pytest.importorskip("duckdb")
    with serenity.open() as store:
        for as_of in (None, BEFORE_CORRECTION.tz_localize("UTC")):
            btc, eth = store.select("BTCUSD", as_of=as_of), store.select("ETHUSD", as_of=as_of)
            both = pd.concat([btc.assign(symbol="BTCUSD"), eth.assign(symbol="ETHUSD")])
            both = both.iloc[np.argsort(both.index.asi8, kind="stable")]
            many = store.select_many(["BTCUSD", "ETHUSD"], as_of=as_of, filters=[("side", "==", "Buy")])
            expected = both[both.side == "Buy"]
            assert many.symbol.astype(str).tolist() == expected.symbol.tolist()
            assert many.price.tolist() == expected.price.tolist()
            bars = store.bars("BTCUSD", freq="1h", size="qty", as_of=as_of)
            reference = btc["price"].resample("1h").ohlc().dropna()
            pd.testing.assert_frame_equal(bars[["open", "high", "low", "close"]], reference, check_freq=False)
            assert bars.volume.sum() == btc.qty.sum()
            joined = store.asof_join("BTCUSD", "ETHUSD", "2020-05-12", "2020-05-13", on_columns=["price"], as_of=as_of)
            merged = pd.merge_asof(
                store.select("BTCUSD", "2020-05-12", "2020-05-13", as_of=as_of),
                eth[["price"]].rename(columns={"price": "price_right"}),
                left_index=True,
                right_index=True,
            )
            pd.testing.assert_frame_equal(joined, merged)
            counted = store.sql("SELECT count(*) AS n FROM ticks('ETHUSD')", as_of=as_of)
            assert counted.n.tolist() == [len(eth)]
        with pytest.raises(ColumnNotFoundError):
            store.bars("BTCUSD", freq="1h")  # serenity's trades have qty, not size
