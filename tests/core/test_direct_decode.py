"""Numeric parts decompressed straight into a select's result (tickstore_core.encoding.direct): the same
values as Arrow's decoding, Arrow's decoding wherever the shortcut does not apply, and selects that use it
on every backend."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import tickstore_core as ts
from tickstore_core.encoding import arrow, direct
from tickstore_core.encoding.arrow import ArrowObject, encode_arrow
from tickstore_core.encoding.direct import DirectColumns, PendingChunk, decode_into
from tickstore_core.frames import ticks_to_table
from tickstore_core.testing import make_ticks

DAY = dt.date(2024, 3, 4)
NUMBERS = {
    "f64": pa.float64(),
    "f32": pa.float32(),
    "i64": pa.int64(),  # stored as differences ("delta")
    "u64": pa.uint64(),  # as differences, wrapping
    "i32": pa.int32(),
    "i8": pa.int8(),
}


def _numbers_table(rows: int, seed: int = 0) -> pa.Table:
    rng = np.random.default_rng(seed)
    times = pa.array(np.arange(rows, dtype=np.int64) * 1_000_000 + 1_709_510_400_000_000_000, pa.timestamp("ns", "UTC"))
    columns = {"time": times}
    for name, kind in NUMBERS.items():
        if pa.types.is_floating(kind):
            values = rng.normal(100, 5, rows)
        elif kind == pa.uint64():
            values = np.cumsum(rng.integers(0, 1 << 40, rows, dtype=np.uint64), dtype=np.uint64) + np.uint64(1 << 63)
        else:
            info = np.iinfo(kind.to_pandas_dtype())
            values = rng.integers(info.min, info.max, rows, endpoint=True)
        columns[name] = pa.array(values, kind)
    return pa.table(columns)


def _chunks(data: bytes, names: frozenset[str], **read: object) -> list[pa.Table | PendingChunk]:
    wanted = DirectColumns()
    wanted.names = names
    return list(ArrowObject(pa.py_buffer(data)).iter_read("time", direct=wanted, **read))  # type: ignore[arg-type]


@pytest.mark.parametrize("compression", ["lz4", "zstd", None])
def test_pending_columns_fill_the_values_arrow_decodes(compression):
    table = _numbers_table(2_500)
    data = encode_arrow(table, compression=compression, chunk_rows=1_000)
    whole = _chunks(data, frozenset())
    pending = _chunks(data, frozenset(NUMBERS))
    assert all(isinstance(c, pa.Table) for c in whole)
    for expected, chunk in zip(whole, pending, strict=True):
        assert isinstance(chunk, PendingChunk) and chunk.table.column_names == ["time"]
        for name in NUMBERS:
            target = np.full(chunk.table.num_rows, 7, dtype=table.schema.field(name).type.to_pandas_dtype())
            assert chunk.fill(name, target) is None  # decompressed in place, no Arrow array made
            np.testing.assert_array_equal(target, expected.column(name).to_numpy())
        chunk.release()
        assert chunk.fills == {}  # the parts are let go of once filled


def test_chunks_inside_the_bounds_leave_their_times_compressed_too():
    table = _numbers_table(2_500)
    data = encode_arrow(table, chunk_rows=1_000)
    wanted = DirectColumns()
    wanted.names, wanted.times = frozenset(["f64"]), True
    times = table.column("time").to_numpy().view(np.int64)
    start = int(times[1_500])  # cuts the second chunk: it is trimmed by its times, so they are decoded
    read = ArrowObject(pa.py_buffer(data)).iter_read("time", start_ns=start, direct=wanted)
    cut, whole = list(read)  # type: ignore[misc]
    assert isinstance(cut, PendingChunk) and not cut.times and cut.table.column_names == ["time", *list(NUMBERS)[1:]]
    assert isinstance(whole, PendingChunk) and whole.table.column_names == list(NUMBERS)[1:]
    assert whole.table.num_rows == 500
    target = np.zeros(500, dtype=np.int64)
    assert whole.fill_times(target) is None  # decompressed, the differences summed, in place
    np.testing.assert_array_equal(target, times[2_000:])
    partial = whole.slice(100, 50).fill_times(np.zeros(50, dtype=np.int64))  # a slice: Arrow's decoding
    assert isinstance(partial, pa.Array) and partial.view(pa.int64()).to_numpy().tolist() == times[2_100:2_150].tolist()
    whole.release()
    with pytest.raises(ValueError, match="released"):
        whole.fill_times(target)


def test_decode_into_declines_what_it_cannot_decode_in_place_and_arrow_then_does():
    table = _numbers_table(100).append_column("nullable", pa.array([None, *range(99)], pa.float64()))
    data = encode_arrow(table, chunk_rows=1_000)
    (chunk,) = _chunks(data, frozenset(["nullable", "f64", "i32"]))
    assert isinstance(chunk, PendingChunk)
    missing = chunk.fill("nullable", np.empty(100))  # a validity buffer: Arrow's decoding
    assert isinstance(missing, pa.Array) and missing.equals(table.column("nullable").chunk(0))
    wrong_width = chunk.fill("f64", np.empty(100, dtype=np.int32))  # the caller's dtype is not the stored one
    assert isinstance(wrong_width, pa.Array) and wrong_width.equals(table.column("f64").chunk(0))
    assert chunk.slice(10, 50).fill("i32", np.empty(50, dtype=np.int32)).equals(table.column("i32").chunk(0)[10:60])
    flat = pa.table({"time": table.column("time"), "flat": pa.array(np.repeat([1.5, 2.5], 50))})
    part = ArrowObject(pa.py_buffer(encode_arrow(flat)))  # compressible, so LZ4-compressed
    where = part.chunks[0]["parts"][1]
    body = part.buffer.slice(int(where[0]), int(where[1])).to_pybytes()
    target = np.empty(100)
    assert not decode_into(body, np.empty(99))  # a batch of another length
    assert not decode_into(body[: len(body) // 2], target)  # truncated
    assert not decode_into(b"\xff" * 64, target)  # not an IPC stream
    garbled = bytearray(body)
    garbled[-24:-12] = b"\xff" * 12
    assert not decode_into(bytes(garbled), target)  # a damaged frame is left to Arrow, which names it
    assert decode_into(body, target)
    np.testing.assert_array_equal(target, flat.column("flat").to_numpy())


def test_a_big_endian_machine_leaves_every_part_to_arrow(monkeypatch):
    flat = pa.table({"time": pa.array([1, 2], pa.timestamp("ns", "UTC")), "x": pa.array([1.5, 2.5])})
    part = ArrowObject(pa.py_buffer(encode_arrow(flat, compression=None)))
    where = part.chunks[0]["parts"][1]
    body = part.buffer.slice(int(where[0]), int(where[1])).to_pybytes()
    monkeypatch.setattr(direct.sys, "byteorder", "big")
    assert not decode_into(body, np.empty(2))  # little-endian bytes would be read as other numbers


def _ticks(days: int, rows: int) -> pd.DataFrame:
    frames = [make_ticks(DAY + dt.timedelta(days=d), rows, seed=d) for d in range(days)]
    ticks = pd.concat(frames)
    ticks["qty"] = np.arange(len(ticks), dtype=np.int64) * 3  # a delta-stored int64
    ticks["level"] = (np.arange(len(ticks)) % 7).astype(np.int8)
    return ticks


def test_selects_decompress_numeric_parts_into_the_result_on_every_backend(store_location, monkeypatch):
    monkeypatch.setattr(arrow, "CHUNK_ROWS", 400)
    url, options = store_location()
    ticks = _ticks(3, 1_000)
    ticks.loc[ticks.index[5], "price"] = np.nan
    placed = []
    real = arrow.decode_into

    def counted(part: object, target: np.ndarray) -> bool:
        done = real(part, target)
        placed.append(done)
        return done

    monkeypatch.setattr(arrow, "decode_into", counted)
    timed = []
    fill_times = PendingChunk.fill_times

    def times_counted(chunk: PendingChunk, target: np.ndarray) -> pa.Array | None:
        result = fill_times(chunk, target)
        timed.append(result is None)
        return result

    monkeypatch.setattr(PendingChunk, "fill_times", times_counted)
    with ts.open_store(url, **options) as store:
        store.insert("X", ticks)
        frame = store.select("X")
        pd.testing.assert_frame_equal(frame, ticks, check_freq=False)
        # every numeric part of every chunk in place, but the prices of the chunk with a missing price
        assert len(placed) > 20 and placed.count(False) == 1
        # the times of every chunk (3 days of 1,000 ticks, 400 a chunk) but the first read, whole, whose
        # pandas metadata decides the dtypes
        assert timed == [True] * 8
        timed.clear()
        start, end = ticks.index[700], ticks.index[2_345]  # the first and last days cut mid-chunk
        cut = store.select("X", start, end, columns=["qty", "price", "side"])
        pd.testing.assert_frame_equal(cut, ticks.loc[start:end, ["qty", "price", "side"]], check_freq=False)
        # of the 6 chunks read, the 2 the bounds cut are trimmed by their times, and the first read is whole
        assert timed == [True] * 3


def test_without_cramjam_selects_decode_every_part_with_arrow(tmp_path, monkeypatch):
    ticks = _ticks(2, 500)
    with ts.open_store(tmp_path.as_uri()) as store:
        store.insert("X", ticks)
        with_direct = store.select("X")
        monkeypatch.setattr(direct, "cramjam", None)
        monkeypatch.setattr(arrow, "decode_into", lambda *_: pytest.fail("decode_into without cramjam"))
        pd.testing.assert_frame_equal(store.select("X"), with_direct, check_freq=False)
    pd.testing.assert_frame_equal(with_direct, ticks, check_freq=False)


def test_an_integer_column_with_missing_values_reads_as_pandas_converts_it(tmp_path):
    ticks = _ticks(1, 300)
    table = ticks_to_table(ticks, "time")
    with ts.open_store(tmp_path.as_uri()) as store:
        store.insert("X", ticks.assign(maybe=pd.array([None, *range(299)], dtype="Int64")))
        frame = store.select("X")
    assert table.num_rows == len(frame)
    assert frame["maybe"].isna().sum() == 1 and frame["maybe"].iloc[1:].tolist() == list(range(299))
