"""The ``tickstore-arrow`` format (tickstore 0.2) and the read path built on it: exact round trips of
every column type, damage refused, selects that decode only their chunks and columns, stores written
by tickstore 0.1 still read, and cache entries that are the fetched bytes themselves."""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import multiprocessing
import sys
import threading
import zlib
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from test_encoding_hdf5 import SUPPORTED, _table

import tickstore_core as ts
from tickstore_core import integrity
from tickstore_core.encoding import arrow
from tickstore_core.encoding.arrow import ArrowObject, encode_arrow
from tickstore_core.encoding.hdf5 import encode_hdf5_v1
from tickstore_core.errors import CorruptObjectError, InvalidTicksError
from tickstore_core.frames import ticks_to_table
from tickstore_core.testing import make_ticks
from tickstore_core.testing.spy import count_requests

DAY = dt.date(2024, 3, 4)


def _decode(data: bytes, columns: Any = None, start: int | None = None, end: int | None = None) -> pa.Table:
    return ArrowObject(pa.py_buffer(data)).read("time", columns, start, end)


# --- the format ----------------------------------------------------------------------------------

MORE = {  # what the HDF5 format cannot keep, the arrow format can
    "decimal": pa.array([decimal.Decimal("1.25"), None, decimal.Decimal("-3.50")], pa.decimal128(9, 2)),
    "binary": pa.array([b"\x00", None, b"ab"], pa.binary()),
}


@pytest.mark.parametrize("dictionaries", [False, True], ids=["plain", "dictionaries"])
@pytest.mark.parametrize("name", sorted({**SUPPORTED, **MORE}))
@pytest.mark.parametrize("with_nulls", [True, False], ids=["nulls", "no-nulls"])
def test_every_column_type_round_trips_exactly(name, with_nulls, dictionaries):
    column = {**SUPPORTED, **MORE}[name]
    if not with_nulls and name != "null":
        column = pa.concat_arrays([column.slice(0, 1), column.slice(2)])
    table = _table(**{name: column})
    out = _decode(encode_arrow(table, dictionaries=dictionaries, chunk_rows=2))  # chunks of 2: several parts
    assert out.schema.equals(table.schema, check_metadata=True)
    assert out.equals(table, check_metadata=True)


@pytest.mark.parametrize("compression", ["lz4", "zstd", None])
def test_ticks_round_trip_in_many_chunks_with_every_transform(compression):
    table = ticks_to_table(make_ticks(DAY, 1000), "time")
    data = encode_arrow(table, compression=compression, dictionaries=True, chunk_rows=128)
    kinds = {tuple(part[3:]) for chunk in ArrowObject(pa.py_buffer(data)).chunks for part in chunk["parts"]}
    assert {("delta",), ("dict",), ()} <= kinds  # times and ids as differences, sides as a dictionary
    assert _decode(data).equals(table, check_metadata=True)
    assert _decode(data, ["side", "price"]).column_names == ["time", "side", "price"]


def test_decoded_parts_come_from_the_decoding_pool_which_the_user_can_overrule(monkeypatch):
    table = ticks_to_table(make_ticks(DAY, 20_000), "time")
    data = encode_arrow(table, dictionaries=True, chunk_rows=4096)  # differences, dictionaries and plain parts
    pool = arrow.decoding_pool()
    before = pool.bytes_allocated()
    decoded = _decode(data)
    assert decoded.equals(table)
    assert pool.bytes_allocated() - before >= table.nbytes * 0.9  # every column, not only the IPC reads
    try:
        pa.jemalloc_memory_pool()
        jemalloc = True
    except (NotImplementedError, pa.ArrowException):  # builds without it (Windows)
        jemalloc = False
    assert pool.backend_name == ("jemalloc" if jemalloc else pa.default_memory_pool().backend_name)
    arrow.decoding_pool.cache_clear()
    monkeypatch.setenv("ARROW_DEFAULT_MEMORY_POOL", "system")  # the user chose the process's pool: it is kept
    try:
        assert arrow.decoding_pool().backend_name == pa.default_memory_pool().backend_name
    finally:
        arrow.decoding_pool.cache_clear()


def test_tables_without_rows_or_without_data_columns_round_trip():
    empty = ticks_to_table(make_ticks(DAY, 3), "time").slice(0, 0)
    assert _decode(encode_arrow(empty)).equals(empty, check_metadata=True)
    only_time = _table()
    assert _decode(encode_arrow(only_time)).equals(only_time, check_metadata=True)
    with pytest.raises(InvalidTicksError, match="timestamp column"):
        encode_arrow(pa.table({"x": [1, 2]}))


def test_a_time_range_decodes_only_the_chunks_that_overlap_it():
    table = ticks_to_table(make_ticks(DAY, 1000), "time")
    data = encode_arrow(table, chunk_rows=100)
    times = table.column(0).cast(pa.int64()).to_numpy()
    before = dataclasses.replace(arrow.counter)
    out = _decode(data, None, int(times[250]), int(times[349]))
    assert arrow.counter.rows - before.rows == 200  # chunks 200..299 and 300..399 only
    assert out.num_rows == 200 and out.column(0).cast(pa.int64()).to_numpy()[50] == times[250]
    assert _decode(data, None, int(times[-1]) + 1, None).num_rows == 0


@pytest.mark.parametrize("dictionaries", [False, True], ids=["plain", "dictionaries"])
def test_a_range_without_ticks_reads_the_types_and_metadata_and_decodes_no_part(dictionaries):
    table = ticks_to_table(make_ticks(DAY, 1000).assign(side=lambda t: t.side.astype("category")), "time")
    found = ArrowObject(pa.py_buffer(encode_arrow(table, chunk_rows=100, dictionaries=dictionaries)))
    times = table.column(0).cast(pa.int64()).to_numpy()
    for start, end in (
        (int(times[-1]) + 1, None),
        (None, int(times[0]) - 1),
        (int(times[99]) + 1, int(times[100]) - 1),
    ):
        before = dataclasses.replace(arrow.counter)
        empty = found.read("time", None, start, end)
        (streamed,) = found.iter_read("time", ["side"], start, end)
        assert arrow.counter == before and found.spans("time", None, start, end) == []  # not a part read or decoded
        assert empty.num_rows == 0 and empty.schema.equals(table.schema, check_metadata=True)
        assert streamed.num_rows == 0 and streamed.schema.equals(table.select(["time", "side"]).schema)
        assert list(found.iter_read("time", None, start, end, skip=1)) == []


def test_iter_read_is_the_read_one_chunk_at_a_time_each_decoded_when_asked_for():
    table = ticks_to_table(make_ticks(DAY, 1000), "time")
    found = ArrowObject(pa.py_buffer(encode_arrow(table, chunk_rows=100)))
    times = table.column(0).cast(pa.int64()).to_numpy()
    start, end = int(times[250]), int(times[649])
    before = dataclasses.replace(arrow.counter)
    chunks = found.iter_read("time", ["price"], start, end)
    first = next(chunks)
    assert arrow.counter.rows - before.rows == 100 and first.num_rows == 100  # only the first chunk so far
    rest = list(chunks)
    assert [c.num_rows for c in rest] == [100] * 4  # chunks 200..699, the caller trims
    assert pa.concat_tables([first, *rest]).equals(found.read("time", ["price"], start, end), check_metadata=True)
    assert pa.concat_tables(found.iter_read("time", ["price"], start, end, skip=3)).equals(pa.concat_tables(rest[2:]))
    (empty,) = found.iter_read("time", ["price"], int(times[-1]) + 1, None)
    assert empty.num_rows == 0 and empty.schema.equals(first.schema, check_metadata=True)


def test_flipped_bits_and_truncation_are_refused_never_decoded_wrong():
    table = ticks_to_table(make_ticks(DAY, 300), "time")
    data = encode_arrow(table, dictionaries=True, chunk_rows=100)
    rng = np.random.default_rng(3)
    for position in sorted({*range(0, 40), *rng.integers(0, len(data), 300).tolist()}):
        damaged = bytearray(data)
        damaged[position] ^= 1 << (position % 8)
        try:
            out = _decode(bytes(damaged))
        except CorruptObjectError:
            continue
        assert out.equals(table, check_metadata=True), f"bit flip at byte {position} decoded to different data"
    for cut in (0, 7, 16, len(data) // 2, len(data) - 1):
        with pytest.raises(CorruptObjectError):
            _decode(data[:cut])


def test_parts_are_checked_with_isal_where_installed_giving_zlibs_values(monkeypatch):
    isal_zlib = pytest.importorskip("isal.isal_zlib")  # a dependency on every platform CI runs
    assert integrity.crc32 is isal_zlib.crc32
    table = ticks_to_table(make_ticks(DAY, 300), "time")
    data = encode_arrow(table, dictionaries=True, chunk_rows=100)
    for sample in (b"", b"tick", data, memoryview(data)[5:], pa.py_buffer(data)):
        assert integrity.crc32(sample) == zlib.crc32(sample)
    monkeypatch.setattr(arrow, "crc32", zlib.crc32)  # objects from either read with the other
    assert encode_arrow(table, dictionaries=True, chunk_rows=100) == data
    assert _decode(data).equals(table, check_metadata=True)


def test_without_isal_the_checks_fall_back_to_zlib(monkeypatch):
    monkeypatch.setitem(sys.modules, "isal", None)  # as on a platform without its wheels
    assert integrity.fastest_crc32() is zlib.crc32


# --- the store -----------------------------------------------------------------------------------


def _day_of_ticks(rows: int) -> pd.DataFrame:
    """``rows`` ticks spread evenly over DAY."""
    ticks = make_ticks(DAY, rows)
    seconds = pd.to_timedelta(np.arange(rows) * 86_400 // rows, "s")
    ticks.index = pd.DatetimeIndex(pd.Timestamp(DAY, tz="UTC") + seconds).as_unit("ns")
    ticks.index.name = "time"
    return ticks


def test_an_hour_decodes_a_few_chunks_and_one_column_only_its_parts(store_location, tmp_path, monkeypatch):
    monkeypatch.setattr(arrow, "CHUNK_ROWS", 1000)
    url, options = store_location()
    ticks = _day_of_ticks(24_000)
    with ts.open_store(url, cache_dir=str(tmp_path / "cache"), **options) as store:
        store.insert("X", ticks)
        start = pd.Timestamp(DAY, tz="UTC") + pd.Timedelta(hours=10)
        end = start + pd.Timedelta(hours=1) - pd.Timedelta(1)
        before = dataclasses.replace(arrow.counter)
        hour = store.select("X", start, end)
        assert arrow.counter.rows - before.rows <= 2000  # one or two chunks of 1,000 of the day's 24,000
        pd.testing.assert_frame_equal(hour, ticks.loc[start:end], check_freq=False)
        before = dataclasses.replace(arrow.counter)
        price = store.select("X", columns=["price"])
        assert arrow.counter.parts - before.parts == 2 * 24  # the times and the prices of each chunk
        pd.testing.assert_frame_equal(price, ticks[["price"]], check_freq=False)


def test_versions_written_by_tickstore_0_1_still_read_beside_new_ones(store_location):
    """An object in 0.1's encoding (Parquet, or tickstore-hdf5 version 1) and no encoding in the index."""
    url, options = store_location()
    old_day, new_day = make_ticks(DAY, 50, seed=1), make_ticks(DAY + dt.timedelta(days=1), 50, seed=2)
    with ts.open_store(url, **options) as store:
        engine = store._engine
        written_by_0_1 = engine.previous_codec
        if written_by_0_1.name == "hdf5":
            written_by_0_1 = _HDF5Version1(written_by_0_1)
        engine.codec, modern = _Without(written_by_0_1), engine.codec
        store.insert("X", old_day)
        engine.codec = modern
        store.insert("X", new_day)
        (old, new) = store.history("X")["key"]
    with ts.open_store(url, **options) as store:
        versions = list(store._engine.index("X"))
        assert [v.encoding for v in versions] == [None, store._engine.codec.encoding]
        data = store.backend.get(old)
        assert data[:4] == b"PAR1" or data.startswith(b"tickstore-hdf5 1 ")
        pd.testing.assert_frame_equal(store.select("X"), pd.concat([old_day, new_day]), check_freq=False)
        assert store.backend.get(new).startswith((b"TSARROW1", b"tickstore-hdf5 2 "))


def test_an_append_to_a_day_written_by_0_1_reads_each_segment_in_its_own_encoding(store_location):
    url, options = store_location()
    old_day = make_ticks(DAY, 50, seed=1)
    later = make_ticks(DAY, 10, seed=3)
    later.index = later.index + pd.Timedelta(hours=1)
    with ts.open_store(url, **options) as store:
        engine = store._engine
        written_by_0_1 = engine.previous_codec
        if written_by_0_1.name == "hdf5":
            written_by_0_1 = _HDF5Version1(written_by_0_1)
        engine.codec, modern = _Without(written_by_0_1), engine.codec
        store.insert("X", old_day)
        engine.codec = modern
        store.append("X", later)
    expected = pd.concat([old_day, later]).sort_index(kind="stable")
    with ts.open_store(url, **options) as store:
        (version,) = [v for v in store._engine.index("X") if v.current]
        assert [s.encoding for s in version.parts] == [None, store._engine.codec.encoding]
        pd.testing.assert_frame_equal(store.select("X"), expected, check_freq=False)
        store.compact("X")
        pd.testing.assert_frame_equal(store.select("X"), expected, check_freq=False)


class _Without:
    """A codec as tickstore 0.1 had it: versions it writes record no encoding."""

    def __init__(self, codec: Any) -> None:
        self._codec, self.name, self.suffix, self.encoding = codec, codec.name, codec.suffix, None

    def encode(self, table: pa.Table) -> bytes:
        return bytes(self._codec.encode(table))

    def wrote(self, data: bytes) -> bool:
        return bool(self._codec.wrote(data))


class _HDF5Version1(_Without):
    def encode(self, table: pa.Table) -> bytes:
        return encode_hdf5_v1(table)


@pytest.mark.parametrize("backend", ["s3", "azure"])
def test_the_cache_keeps_the_fetched_bytes_as_they_are(request, tmp_path, backend):
    emulated = request.getfixturevalue(f"{backend}_store")
    url, options = emulated.url, emulated.options
    ticks = make_ticks(DAY, 3000)
    with ts.open_store(url, cache_dir=str(tmp_path / "cache"), **options) as store:
        store.insert("X", ticks)
        (key,) = store.history("X")["key"]
        (version,) = store._engine.index("X")
        pd.testing.assert_frame_equal(store.select("X"), ticks, check_freq=False)
        store.flush()  # the fill is written behind the select
        cached = store.cache.get_object(store.backend.url, key, checksum=version.checksum)
        assert cached is not None and cached.to_pybytes() == store.backend.get(key)
        assert store.cache_stats()["bytes_fetched"] == len(cached)
        pd.testing.assert_frame_equal(store.select("X"), ticks, check_freq=False)
        assert store.cache_stats()["hits"] == 1


@pytest.mark.parametrize("backend", ["s3", "azure"])
def test_bars_from_a_cached_copy_damaged_midway_read_the_rest_from_the_backend(request, tmp_path, backend, monkeypatch):
    monkeypatch.setattr(arrow, "CHUNK_ROWS", 500)
    emulated = request.getfixturevalue(f"{backend}_store")
    cache = {"cache_dir": str(tmp_path / "cache"), "index_ttl": 60}
    with ts.open_store(emulated.url, **cache, **emulated.options) as store:
        store.insert("X", make_ticks(DAY, 3000))
        expected = store.bars("X", freq="1h")  # fetched; the cache is filled behind it
        store.flush()
        (version,) = store._engine.index("X")
        cached = store.cache.get_object(store.backend.url, version.key, checksum=version.checksum)
        assert cached is not None and version.encoding == "arrow"
        damaged = bytearray(cached.to_pybytes())
        offset, length = ArrowObject(cached).chunks[-1]["parts"][1][:2]  # the last chunk's prices
        damaged[offset + length // 2] ^= 0x10
        store.cache.put_object(store.backend.url, version.key, bytes(damaged), checksum=version.checksum)
        calls, _ = count_requests(store.backend)
        pd.testing.assert_frame_equal(store.bars("X", freq="1h"), expected)  # no chunk lost or counted twice
        assert calls["get"] == 1 and store.cache_stats()["corrupt_dropped"] == 1
        store.flush()
        calls.clear()
        pd.testing.assert_frame_equal(store.bars("X", freq="1h"), expected)  # repaired: from the cache
        assert calls["get"] == 0


def test_parts_encoded_at_once_on_the_encoder_threads_give_the_bytes_one_thread_gives(monkeypatch):
    table = ticks_to_table(make_ticks(dt.date(2024, 3, 4), 5000, seed=3), "time")
    encoded_by: set[str] = set()
    part = arrow._part

    def tracked(*args: Any) -> Any:
        encoded_by.add(threading.current_thread().name)
        return part(*args)

    monkeypatch.setattr(arrow, "_part", tracked)
    many = encode_arrow(table, dictionaries=True, chunk_rows=300)
    assert any(name.startswith("tickstore-encode") for name in encoded_by)
    with ThreadPoolExecutor(1) as one:
        monkeypatch.setattr(arrow, "_encoder", lambda: one)
        assert encode_arrow(table, dictionaries=True, chunk_rows=300) == many
    assert ArrowObject(pa.py_buffer(many)).read("time").equals(table)


@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")  # Python 3.12+
def test_a_forked_child_encodes_with_threads_of_its_own():
    encode_arrow(ticks_to_table(make_ticks(dt.date(2024, 3, 4), 900, seed=1), "time"), chunk_rows=100)  # started
    context = multiprocessing.get_context("fork")
    with context.Pool(1) as pool:  # in the child the parent's encoder threads do not exist
        assert pool.apply_async(_encode_in_child).get(timeout=30) > 0


def _encode_in_child() -> int:
    return len(encode_arrow(ticks_to_table(make_ticks(dt.date(2024, 3, 4), 900, seed=2), "time"), chunk_rows=100))
