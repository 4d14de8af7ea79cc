"""The HDF5 codec: exact round trips, legacy pandas files, refusing pickles, refusing damaged bytes."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import pickle
import subprocess
import sys
import threading
import time
import warnings
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

tables = pytest.importorskip("tables")

from tickstore_core.encoding import hdf5  # noqa: E402
from tickstore_core.encoding.hdf5 import (  # noqa: E402
    FORMAT,
    USER_BLOCK,
    decode_hdf5,
    encode_hdf5,
    encode_hdf5_v1,
    payload_span,
)
from tickstore_core.errors import CorruptObjectError, InvalidTicksError, UnsafeDataError  # noqa: E402
from tickstore_core.frames import ticks_to_table  # noqa: E402
from tickstore_core.testing import make_ticks  # noqa: E402

DAY = dt.date(2024, 3, 4)
T0 = pd.Timestamp(DAY, tz="UTC").value


def _times(n: int) -> pa.Array:
    return pa.array(T0 + np.arange(n, dtype=np.int64) * 1_000_000, type=pa.timestamp("ns", tz="UTC"))


def _table(**columns: pa.Array) -> pa.Table:
    n = len(next(iter(columns.values()))) if columns else 3
    return pa.table({"time": _times(n), **columns})


ENCODERS = {"v1": encode_hdf5_v1, "v2": encode_hdf5}  # what tickstore 0.1 wrote, and what 0.2 writes


def _round_trip(table: pa.Table, encode=None, **kwargs) -> pa.Table:
    """Through ``encode``; by default through both versions, which must decode alike (version 2's result)."""
    if encode is not None:
        return decode_hdf5(encode(table), timestamp_column="time", **kwargs)
    old = decode_hdf5(encode_hdf5_v1(table), timestamp_column="time", **kwargs)
    new = decode_hdf5(encode_hdf5(table), timestamp_column="time", **kwargs)
    assert new.schema.equals(old.schema, check_metadata=True)
    assert repr(new.to_pydict()) == repr(old.to_pydict())  # NaN and null kept apart, as repr shows them
    return new


def _legacy_bytes(frame: pd.DataFrame, tmp_path: Path, **kwargs) -> bytes:
    """A file as the original tick store wrote it: pandas, key 'ticks'."""
    path = tmp_path / f"legacy-{len(list(tmp_path.iterdir()))}.h5"
    frame.to_hdf(path, key=kwargs.pop("key", "ticks"), mode="w", **kwargs)
    return path.read_bytes()


# --- round trips ---------------------------------------------------------------------------------

SUPPORTED = {
    "bool": pa.array([True, None, False]),
    "int8": pa.array([-128, None, 127], pa.int8()),
    "int16": pa.array([-1, None, 2**15 - 1], pa.int16()),
    "int32": pa.array([-1, None, 2**31 - 1], pa.int32()),
    "int64": pa.array([-(2**63), None, 2**63 - 1], pa.int64()),
    "uint8": pa.array([0, None, 255], pa.uint8()),
    "uint16": pa.array([0, None, 2**16 - 1], pa.uint16()),
    "uint32": pa.array([0, None, 2**32 - 1], pa.uint32()),
    "uint64": pa.array([0, None, 2**64 - 1], pa.uint64()),
    "float16": pa.array(np.array([1.5, 0, -2], np.float16), mask=np.array([False, True, False])),
    "float32": pa.array([1.5, None, -0.0], pa.float32()),
    "float64": pa.array([float("-inf"), None, 1e-300], pa.float64()),
    "string": pa.array(["buy", None, ""], pa.string()),
    "large_string": pa.array(["sell", None, "ü"], pa.large_string()),
    "string_view": pa.array(["a", None, "bc"], pa.string_view()),
    "categorical": pa.array(["b", None, "a"], pa.dictionary(pa.int8(), pa.string())),
    "ordered_categorical": pa.DictionaryArray.from_arrays(
        pa.array([1, 0, None], pa.int16()), pa.array(["lo", "hi"], pa.large_string()), ordered=True
    ),
    "timestamp_s": pa.array([0, None, 1_700_000_000], pa.timestamp("s")),
    "timestamp_ms_tz": pa.array([0, None, 1_700_000_000_000], pa.timestamp("ms", tz="Europe/Paris")),
    "timestamp_us": pa.array([0, None, 1], pa.timestamp("us")),
    "timestamp_ns_tz": pa.array([0, None, 1], pa.timestamp("ns", tz="America/New_York")),
    "duration_s": pa.array([1, None, -1], pa.duration("s")),
    "duration_ns": pa.array([1, None, 2**62], pa.duration("ns")),
    "date32": pa.array([dt.date(2024, 1, 1), None, dt.date(1900, 2, 28)], pa.date32()),
    "date64": pa.array([dt.date(2024, 1, 1), None, dt.date(1970, 1, 1)], pa.date64()),
    "time64": pa.array([dt.time(12, 30), None, dt.time(0, 0, 0, 1)], pa.time64("us")),
    "null": pa.nulls(3),
}


@pytest.mark.parametrize("version", sorted(ENCODERS))
@pytest.mark.parametrize("name", sorted(SUPPORTED))
@pytest.mark.parametrize("with_nulls", [True, False], ids=["nulls", "no-nulls"])
def test_every_supported_type_round_trips_exactly(name, with_nulls, version):
    column = SUPPORTED[name]
    if not with_nulls and name != "null":
        column = pa.concat_arrays([column.slice(0, 1), column.slice(2)])
    table = _table(**{name: column})
    out = _round_trip(table, ENCODERS[version])
    assert out.schema.equals(table.schema, check_metadata=True)
    assert out.equals(table, check_metadata=True)


def test_all_types_together_with_pandas_metadata_round_trip():
    frame = pd.DataFrame(
        {
            "price": [1.0, np.nan, 3.0],
            "size": pd.array([1, None, 3], dtype="Int64"),
            "side": pd.array(["buy", None, "sell"], dtype="string"),
            "venue": pd.Categorical(["x", "y", None], categories=["y", "x", "unused"]),
            "flag": pd.array([True, None, False], dtype="boolean"),
            "at": pd.to_datetime(["2024-01-01", None, "2024-01-02"]).tz_localize("Asia/Tokyo"),
            "lag": pd.to_timedelta([1, None, 3], unit="ms"),
        },
        index=pd.DatetimeIndex(T0 + np.arange(3), tz="UTC"),
    )
    table = ticks_to_table(frame, "time")
    out = _round_trip(table)
    assert out.equals(table, check_metadata=True)
    back = out.to_pandas().set_index("time")
    pd.testing.assert_frame_equal(back, frame, check_names=False, check_freq=False)
    assert list(back["venue"].cat.categories) == ["y", "x", "unused"]


def test_nan_and_null_stay_distinct():
    table = _table(x=pa.array([float("nan"), None, 1.0]))
    out = _round_trip(table).column("x")
    assert out.is_null().to_pylist() == [False, True, False]
    assert out.is_nan().to_pylist() == [True, None, False]


def test_unicode_and_awkward_strings_round_trip():
    values = ["", "é", "日本語", "🙂 emoji", "nul\x00inside", "ends in nul\x00", "\x00", "a" * 300, None]
    table = _table(text=pa.array(values, pa.large_string()))
    assert _round_trip(table).column("text").to_pylist() == values
    odd_names = _table(**{"prix €": pa.array([1.0] * len(values)), "class": pa.array(values)})
    assert _round_trip(odd_names).equals(odd_names)


def test_tables_without_rows_or_without_data_columns_round_trip():
    only_time = _table()
    assert _round_trip(only_time).equals(only_time, check_metadata=True)
    no_rows = pa.table({"time": _times(3), **SUPPORTED}).slice(0, 0)
    out = _round_trip(no_rows)
    assert out.num_rows == 0 and out.schema.equals(no_rows.schema, check_metadata=True)


def test_chunked_input_and_dictionaries_differing_between_chunks():
    first = _table(side=pa.array(["a", "b"]).dictionary_encode(), n=pa.array([1, 2]))
    second = pa.table(
        {"time": _times(1), "side": pa.array(["c"]).dictionary_encode(), "n": pa.array([3])}, schema=first.schema
    )
    table = pa.concat_tables([first, second])
    out = _round_trip(table)
    assert out.column("side").to_pylist() == ["a", "b", "c"] and out.column("n").to_pylist() == [1, 2, 3]


def test_large_headers_spill_over_several_attributes():
    categories = [f"category number {i}" for i in range(20_000)]  # about 500 KB of JSON
    codes = pa.array(np.arange(50) * 400, pa.int32())
    wide = {f"c{i}": pa.array(np.full(50, float(i))) for i in range(300)}
    table = pa.table({"time": _times(50), "cat": pa.DictionaryArray.from_arrays(codes, categories), **wide})
    assert _round_trip(table).equals(table, check_metadata=True)


def test_column_projection_keeps_the_timestamp_first_and_the_requested_order():
    table = _table(a=pa.array([1, 2, 3]), b=pa.array(["x", "y", "z"]), c=pa.array([1.0, 2.0, 3.0]))
    data = encode_hdf5(table)
    out = decode_hdf5(data, timestamp_column="time", columns=["c", "missing", "a", "c", "time"])
    assert out.column_names == ["time", "c", "a"]
    assert out.column("c").equals(table.column("c")) and out.column("a").equals(table.column("a"))
    assert decode_hdf5(data, timestamp_column="time", columns=[]).column_names == ["time"]


def test_the_timestamp_column_comes_back_as_nanoseconds_utc_under_the_asked_name():
    naive_us = pa.table({"t": pa.array([1, 2], pa.timestamp("us")), "x": pa.array([1, 2])})
    out = decode_hdf5(encode_hdf5(naive_us), timestamp_column="time")
    assert out.column_names == ["time", "x"]
    assert out.schema.field("time").type == pa.timestamp("ns", tz="UTC")
    assert out.column("time").to_pylist() == [pd.Timestamp(1000, tz="UTC"), pd.Timestamp(2000, tz="UTC")]
    clash = pa.table({"t": pa.array([1], pa.timestamp("ns", tz="UTC")), "time": pa.array([1])})
    with pytest.raises(CorruptObjectError, match="clashes"):
        decode_hdf5(encode_hdf5(clash), timestamp_column="time")


@pytest.mark.parametrize(
    "column",
    [
        pa.array([[1], [2, 3], None]),
        pa.array([{"a": 1}, {"a": 2}, None]),
        pa.array([b"x", b"y", None]),
        pa.array([b"xy", b"zz", None], pa.binary(2)),
        pa.array([decimal.Decimal("1.5"), None, decimal.Decimal("2")]),
        pa.array([1, 2, 1]).dictionary_encode(),
        pa.array([(1, 2, 3)] * 3, pa.month_day_nano_interval()),
    ],
    ids=["list", "struct", "binary", "fixed_binary", "decimal", "dictionary_of_ints", "interval"],
)
def test_unsupported_types_are_refused_naming_the_column_and_what_is_supported(column):
    with pytest.raises(InvalidTicksError) as info:
        encode_hdf5(_table(price=pa.array([1.0, 2.0, 3.0]), weird=column))
    message = str(info.value)
    assert "'weird'" in message and str(column.type) in message and "supported types" in message


def test_the_table_must_start_with_timestamps():
    with pytest.raises(InvalidTicksError, match="timestamp column"):
        encode_hdf5(pa.table({"x": [1, 2]}))


def test_a_version_2_file_opens_with_plain_pytables_and_holds_the_arrow_object_where_its_line_says(tmp_path):
    ticks = make_ticks(DAY, 25)
    data = encode_hdf5(ticks_to_table(ticks, "time"))
    path = tmp_path / "ticks.h5"
    path.write_bytes(data)
    offset, length = payload_span(data)
    with tables.open_file(str(path)) as h5:
        stored = h5.root.arrow[:].tobytes()
        header = json.loads(h5.root.arrow.attrs.tickstore)
    assert stored == data[offset : offset + length] and stored.startswith(b"TSARROW1")
    assert header == {"format": FORMAT, "version": 2, "rows": 25, "payload": "tickstore-arrow"}


def test_small_files_share_a_layout_yet_each_holds_its_own_object_as_pytables_would_write_it(tmp_path, monkeypatch):
    first, second = (ticks_to_table(make_ticks(DAY, 1, seed=seed), "time") for seed in (1, 2))
    spliced = [encode_hdf5(first), encode_hdf5(second)]
    monkeypatch.setattr(hdf5, "_SKELETON_MAX_PAYLOAD", 0)  # every file built by PyTables
    built = [encode_hdf5(first), encode_hdf5(second)]
    assert spliced == built and spliced[0] != spliced[1]
    for data, table in zip(spliced, (first, second), strict=True):
        assert decode_hdf5(data, timestamp_column="time", columns=None).equals(table)
        path = tmp_path / "one.h5"
        path.write_bytes(data)
        offset, length = payload_span(data)
        with tables.open_file(str(path)) as h5:
            assert h5.root.arrow[:].tobytes() == data[offset : offset + length]


def test_the_same_ticks_encode_to_the_same_bytes_at_any_time():
    table = ticks_to_table(make_ticks(DAY, 100_000), "time")  # above the small-file layouts: built by PyTables
    first = encode_hdf5(table)
    time.sleep(1.1)  # HDF5 would record node times to the second
    assert encode_hdf5(table) == first


def test_a_version_1_file_opens_with_plain_pytables(tmp_path):
    ticks = make_ticks(DAY, 25)
    path = tmp_path / "ticks.h5"
    path.write_bytes(encode_hdf5_v1(ticks_to_table(ticks, "time")))
    with tables.open_file(str(path)) as h5:
        node = h5.root.ticks
        assert node.nrows == 25
        assert node.colnames == ["time", "price", "size", "side", "trade_id"]
        assert node.cols.trade_id[:].tolist() == ticks["trade_id"].tolist()
        assert node.cols.time[:].tolist() == ticks.index.asi8.tolist()
        assert [s.decode() for s in node.cols.side[:]] == ticks["side"].tolist()
        assert node.filters.complib.startswith("blosc") and node.filters.fletcher32
        header = json.loads(node.attrs.tickstore)
        assert header["format"] == FORMAT and [c["name"] for c in header["columns"]][:2] == ["time", "price"]


def test_importing_the_codec_does_not_import_pytables():
    code = "import sys, tickstore_core, tickstore_core.encoding.hdf5; assert 'tables' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_threads_encode_and_decode_concurrently():
    frames = [make_ticks(DAY, 200 + i, seed=i) for i in range(8)]
    errors: list[BaseException] = []

    def work(frame: pd.DataFrame) -> None:
        try:
            for _ in range(5):
                table = ticks_to_table(frame, "time")
                assert _round_trip(table).equals(table)
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(frame,)) for frame in frames]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors


# --- legacy files of the original tick store -----------------------------------------------------


def _legacy_frame(tz: str | None, name: str | None = "date", n: int = 50) -> pd.DataFrame:
    ticks = make_ticks(DAY, n, seed=3).drop(columns=["side"])
    ticks["settled"] = ticks.index.tz_localize(None) + pd.Timedelta(days=2)
    ticks["count"] = np.arange(n, dtype="int32")
    index = ticks.index.tz_convert(tz) if tz else ticks.index.tz_localize(None)
    return ticks.set_axis(index.rename(name), axis=0)


@pytest.mark.parametrize("tz", [None, "UTC", "America/New_York"])
@pytest.mark.parametrize("name", ["date", None, "time"])
def test_legacy_fixed_format_files_decode_without_pickle(tmp_path, tz, name):
    frame = _legacy_frame(tz, name)
    data = _legacy_bytes(frame, tmp_path, complevel=9, complib="blosc")
    out = decode_hdf5(data, timestamp_column="time")
    assert out.column_names == ["time", "price", "size", "trade_id", "settled", "count"]
    assert out.schema.field("time").type == pa.timestamp("ns", tz="UTC")
    utc = frame.index.tz_localize("UTC") if tz is None else frame.index.tz_convert("UTC")
    assert out.column("time").to_pylist() == list(utc)
    assert out.column("price").to_pylist() == frame["price"].tolist()
    assert out.column("settled").to_pylist() == list(frame["settled"])
    assert out.column("count").type == pa.int32()
    projected = decode_hdf5(data, timestamp_column="time", columns=["count", "nope"])
    assert projected.column_names == ["time", "count"]


def test_legacy_files_with_a_regular_frequency_index_decode_without_pickle(tmp_path):
    index = pd.date_range("2024-03-04", periods=60, freq="min", tz="UTC", name="date")
    frame = pd.DataFrame({"close": np.arange(60.0)}, index=index)
    out = decode_hdf5(_legacy_bytes(frame, tmp_path), timestamp_column="time")
    assert out.column("close").to_pylist() == list(np.arange(60.0))


def test_legacy_table_format_and_other_keys_decode(tmp_path):
    frame = make_ticks(DAY, 30).rename_axis("date")
    table_format = decode_hdf5(_legacy_bytes(frame, tmp_path, format="table"), timestamp_column="time")
    assert table_format.column("side").to_pylist() == frame["side"].tolist()
    other_key = decode_hdf5(_legacy_bytes(frame.drop(columns="side"), tmp_path, key="df"), timestamp_column="time")
    assert other_key.column("trade_id").to_pylist() == frame["trade_id"].tolist()


def test_legacy_string_columns_open_by_default_through_the_restricted_unpickler(tmp_path):
    frame = make_ticks(DAY, 20).rename_axis("date").astype({"side": object})
    frame["venue"] = pd.array(["a", None, "b", np.nan] * 5, dtype=object)  # str, None, NaN
    frame["raw"] = pd.array([b"x", None, b"", b"\0"] * 5, dtype=object)  # bytes
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas warns that object columns are pickled
        data = _legacy_bytes(frame, tmp_path, complevel=9, complib="blosc")
    out = decode_hdf5(data, timestamp_column="time")
    assert out.column("side").to_pylist() == frame["side"].tolist()
    assert out.column("venue").to_pylist()[:4] == ["a", None, "b", None]
    assert out.column("raw").to_pylist()[:4] == [b"x", None, b"", b"\0"]


@pytest.mark.parametrize(
    "values",
    [[decimal.Decimal("1.5")] * 4, [(1, 2)] * 4, [[1], [2], [], None]],
    ids=["an imported class", "plain tuples", "plain lists"],
)
def test_legacy_object_columns_with_anything_but_text_are_refused_unless_allowed(tmp_path, values):
    frame = make_ticks(DAY, 4).rename_axis("date").drop(columns="side")
    frame["other"] = pd.array(values, dtype=object)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data = _legacy_bytes(frame, tmp_path)
    with pytest.raises(UnsafeDataError, match=r"would need pickle to read.*allow_pickle=True"):
        decode_hdf5(data, timestamp_column="time")
    out = decode_hdf5(data, timestamp_column="time", allow_pickle=True)
    assert out.num_rows == 4


def test_a_hostile_object_column_is_refused_and_never_runs(tmp_path):
    marker = tmp_path / "marker"
    frame = make_ticks(DAY, 3).rename_axis("date").drop(columns="side")
    frame["evil"] = pd.array([_Payload(marker)] * 3, dtype=object)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data = _legacy_bytes(frame, tmp_path)
    assert not marker.exists()
    with pytest.raises(UnsafeDataError, match=r"io\.open"):
        decode_hdf5(data, timestamp_column="time")
    assert not marker.exists()


def test_files_without_one_ticks_frame_are_corrupt(tmp_path):
    frame = make_ticks(DAY, 5).drop(columns="side")
    two = tmp_path / "two.h5"
    frame.to_hdf(two, key="a", mode="w")
    frame.to_hdf(two, key="b", mode="a")
    series = _legacy_bytes(frame["price"], tmp_path)
    not_by_time = _legacy_bytes(frame.reset_index(), tmp_path)
    for data in (two.read_bytes(), series, not_by_time):
        with pytest.raises(CorruptObjectError):
            decode_hdf5(data, timestamp_column="time")


# --- pickles in hostile files --------------------------------------------------------------------


class _Payload:
    """Unpickling this creates the marker file: proof that code from the file ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def _hostile(data: bytes, marker: Path, node: str, attribute: str, *, sealed: bool) -> bytes:
    """``data`` with a pickle payload in ``node``'s ``attribute``, written below PyTables' API."""
    body = data[USER_BLOCK:] if data.startswith(FORMAT.encode()) else data
    with tables.open_file(
        "hostile.h5", "a", driver="H5FD_CORE", driver_core_image=body, driver_core_backing_store=0
    ) as h5:
        target = h5.get_node(node)
        target._v_attrs._g__setattr(attribute, np.bytes_(pickle.dumps(_Payload(marker), protocol=0)))
        h5.flush()
        image = bytes(h5.get_file_image())
    if not sealed:
        return image
    line = f"{FORMAT} 1 size={len(image)} crc32={zlib.crc32(image):08x}\n".encode()
    return line.ljust(USER_BLOCK, b"\0") + image


@pytest.mark.parametrize(
    "node,attribute",
    [("/", "note"), ("/", "TITLE"), ("/ticks", "note"), ("/ticks", "TITLE"), ("/ticks", "CLASS")],
)
@pytest.mark.parametrize("sealed", [True, False], ids=["sealed", "unsealed"])
def test_pickled_attributes_are_refused_and_never_run(tmp_path, node, attribute, sealed):
    marker = tmp_path / "marker"
    data = _hostile(encode_hdf5_v1(ticks_to_table(make_ticks(DAY, 10), "time")), marker, node, attribute, sealed=sealed)
    assert not marker.exists()
    with pytest.raises(UnsafeDataError, match="would need pickle to read") as info:
        decode_hdf5(data, timestamp_column="time")
    assert attribute in str(info.value) and "io.open" in str(info.value)
    assert not marker.exists()


def test_pickled_attributes_in_legacy_files_are_refused_and_never_run(tmp_path):
    marker = tmp_path / "marker"
    legacy = _legacy_bytes(_legacy_frame("UTC"), tmp_path)
    for node in ("/ticks", "/ticks/axis1", "/ticks/block0_values"):
        with pytest.raises(UnsafeDataError):
            decode_hdf5(_hostile(legacy, marker, node, "freq", sealed=False), timestamp_column="time")
    assert not marker.exists()


def test_the_payload_is_live_so_the_refusals_mean_something(tmp_path):
    """With allow_pickle=True PyTables does unpickle: the marker appears (the user trusted the file)."""
    marker = tmp_path / "marker"
    data = _hostile(encode_hdf5_v1(_table(x=pa.array([1, 2, 3]))), marker, "/ticks", "note", sealed=True)
    decode_hdf5(data, timestamp_column="time", allow_pickle=True)
    assert marker.exists()


def test_pytables_unpickles_root_attributes_when_merely_opening_a_file(tmp_path):
    """Why the guard exists: a raw attribute read (``_g_getattr``) would come too late."""
    marker = tmp_path / "marker"
    data = _hostile(encode_hdf5(_table()), marker, "/", "note", sealed=False)
    with tables.open_file("probe.h5", "r", driver="H5FD_CORE", driver_core_image=data, driver_core_backing_store=0):
        pass
    assert marker.exists()


def test_the_guard_restricts_only_the_decoding_thread():
    import tables.attributeset

    value = {"a": [1, 2]}
    decode_hdf5(encode_hdf5(_table()), timestamp_column="time")
    assert tables.attributeset.pickle.loads(pickle.dumps(value)) == value
    assert tables.attributeset.pickle.loads(pickle.dumps(pd.Timestamp(0))) == pd.Timestamp(0)


# --- damaged bytes -------------------------------------------------------------------------------


@pytest.mark.parametrize("version", sorted(ENCODERS))
def test_truncated_or_garbage_bytes_are_corrupt(version):
    data = ENCODERS[version](ticks_to_table(make_ticks(DAY, 100), "time"))
    for cut in (0, 1, 8, USER_BLOCK - 1, USER_BLOCK, USER_BLOCK + 8, len(data) // 2, len(data) - 1):
        with pytest.raises(CorruptObjectError):
            decode_hdf5(data[:cut], timestamp_column="time")
    for garbage in (b"not an hdf5 file", bytes(4096), np.random.default_rng(0).bytes(20_000)):
        with pytest.raises(CorruptObjectError):
            decode_hdf5(garbage, timestamp_column="time")
    with pytest.raises(CorruptObjectError):
        decode_hdf5(data + b"\0", timestamp_column="time")


@pytest.mark.parametrize("version", sorted(ENCODERS))
def test_flipped_bits_are_refused_never_decoded_wrong(version):
    table = ticks_to_table(make_ticks(DAY, 100), "time")
    data = ENCODERS[version](table)
    rng = np.random.default_rng(7)
    positions = sorted({*range(0, 64), *rng.integers(0, len(data), 400).tolist()})
    for position in positions:
        damaged = bytearray(data)
        damaged[position] ^= 1 << (position % 8)
        try:
            out = decode_hdf5(bytes(damaged), timestamp_column="time")
        except (CorruptObjectError, UnsafeDataError):
            continue
        assert out.equals(table, check_metadata=True), f"bit flip at byte {position} decoded to different data"


@pytest.mark.parametrize("version", sorted(ENCODERS))
def test_a_file_that_lost_its_integrity_line_is_corrupt(version):
    data = ENCODERS[version](_table(x=pa.array([1, 2, 3])))
    with pytest.raises(CorruptObjectError, match="integrity"):
        decode_hdf5(bytes(USER_BLOCK) + data[USER_BLOCK:], timestamp_column="time")
