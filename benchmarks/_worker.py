"""One measured benchmark case, run in a fresh process so its peak memory means something.

``python _worker.py SPEC_JSON`` prints one line ``RESULT {...}``. It runs in the dev venv (our store,
pyarrow, pandas HDF5) or in the ArcticDB venv (pandas<3), so it imports tickstore and arcticdb only
inside the cases that need them.

Peak memory is the growth of the resident set over the baseline taken right before the measured
call: on Linux the kernel's high-water mark (VmHWM) is reset to the current RSS first
(``/proc/self/clear_refs``), elsewhere a thread samples the RSS every millisecond. Before that, the
memory the call will touch is backed (`_prime.prime`), so no case pays for a VM's unbacked pages.
"""

from __future__ import annotations

import gc
import json
import re
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from _prime import prime  # this file's directory is on sys.path, as it is run as a script

SYMBOL = "BTCUSD"
MARKER = "RESULT "

# --- measuring -------------------------------------------------------------------------------------


def _status_kib(field: str) -> int | None:
    try:
        text = Path("/proc/self/status").read_text()
    except OSError:
        return None
    match = re.search(rf"^{field}:\s+(\d+) kB", text, re.MULTILINE)
    return int(match.group(1)) if match else None


def _rss() -> int:
    kib = _status_kib("VmRSS")
    if kib is not None:
        return kib * 1024
    import psutil

    return int(psutil.Process().memory_info().rss)


class PeakMemory:
    """Peak RSS growth (bytes) during the ``with`` block, over the RSS right before it."""

    def __init__(self) -> None:
        self.growth = 0
        self.method = ""
        self._samples: list[int] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> PeakMemory:
        gc.collect()
        try:
            Path("/proc/self/clear_refs").write_text("5")  # VmHWM := VmRSS
            self.method = "VmHWM"
        except OSError:
            self.method = "sampled"
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()
        self.baseline = _rss()
        return self

    def _sample(self) -> None:
        while not self._stop.is_set():
            self._samples.append(_rss())
            time.sleep(0.001)

    def __exit__(self, *exc: object) -> None:
        if self.method == "VmHWM":
            peak = (_status_kib("VmHWM") or 0) * 1024
        else:
            self._stop.set()
            assert self._thread is not None
            self._thread.join()
            peak = max([*self._samples, _rss()])
        self.growth = max(0, peak - self.baseline)


def frame_bytes(frame: pd.DataFrame) -> int:
    return int(frame.memory_usage(deep=True, index=True).sum())


def read_chars() -> int:
    """Bytes this process has read through read()/pread() so far (``rchar`` of /proc/self/io), or 0."""
    try:
        text = Path("/proc/self/io").read_text()
    except OSError:
        return 0
    match = re.search(r"^rchar:\s+(\d+)", text, re.MULTILINE)
    return int(match.group(1)) if match else 0


LAST_READ_CHARS = [0]  # rchar growth during the first measured call of the last `measure`
PRIME_BYTES = [0]  # memory `measure` backs before its first call (the spec's ``prime_bytes``; see _prime.py)


def measure(call: Callable[[], Any], repeat: int) -> tuple[Any, list[float], int, str]:
    """Run ``call`` ``repeat`` times: (first result, seconds of each run, peak growth of the first run)."""
    times = []
    prime(PRIME_BYTES[0])
    with PeakMemory() as memory:
        before = read_chars()
        start = time.perf_counter()
        result = call()
        times.append(time.perf_counter() - start)
        LAST_READ_CHARS[0] = read_chars() - before
    for _ in range(repeat - 1):
        del result
        gc.collect()
        start = time.perf_counter()
        result = call()
        times.append(time.perf_counter() - start)
    return result, times, memory.growth, memory.method


# --- data ------------------------------------------------------------------------------------------


def day_path(data_dir: str, day: str, suffix: str = "parquet") -> Path:
    return Path(data_dir) / f"{day}.{suffix}"


def load_days(data_dir: str, days: list[str]) -> list[pd.DataFrame]:
    """The benchmark's input frames, read back from the per-day Parquet files the runner wrote."""
    frames = []
    for day in days:
        frame = pq.read_table(day_path(data_dir, day)).to_pandas().set_index("time")
        frames.append(frame)
    return frames


def corrected(frame: pd.DataFrame) -> pd.DataFrame:
    """The correction inserted for the as-of case: every price of the day half a dollar higher."""
    fixed = frame.copy()
    fixed["price"] = fixed["price"] + 0.5
    return fixed


def _bounds(spec: dict[str, Any]) -> tuple[pd.Timestamp, pd.Timestamp]:
    return pd.Timestamp(spec["start"]), pd.Timestamp(spec["end"])


def _insert_result(frames: list[pd.DataFrame], call: Callable[[], Any]) -> dict[str, Any]:
    rows = sum(len(f) for f in frames)
    _, times, growth, method = measure(call, 1)
    return {
        "rows": rows,
        "times": times,
        "peak_bytes": growth,
        "frame_bytes": sum(map(frame_bytes, frames)),
        "memory": method,
    }


def _select_result(call: Callable[[], pd.DataFrame], repeat: int, **extra: Any) -> dict[str, Any]:
    frame, times, growth, method = measure(call, repeat)
    return {
        "rows": len(frame),
        "times": times,
        "peak_bytes": growth,
        "frame_bytes": frame_bytes(frame),
        "memory": method,
        "checksum": float(frame["price"].sum()) if len(frame) and "price" in frame else 0.0,
        "read_chars": LAST_READ_CHARS[0],
        **extra,
    }


# --- our store -------------------------------------------------------------------------------------


def case_ours(spec: dict[str, Any]) -> dict[str, Any]:
    import tickstore_core as ts

    store = ts.open_store(spec["url"], **spec.get("options", {}))
    try:
        if spec["case"] == "insert":
            frames = load_days(spec["data_dir"], spec["days"])

            def insert() -> None:
                for frame in frames:
                    store.insert(SYMBOL, frame)

            return _insert_result(frames, insert)
        start, end = _bounds(spec)
        extra: dict[str, Any] = {}
        as_of = None
        if spec["case"] == "asof":
            day = spec["correct_day"]
            (original,) = load_days(spec["data_dir"], [day])
            as_of = pd.Timestamp.now(tz="UTC")
            time.sleep(0.01)
            began = time.perf_counter()
            store.insert(SYMBOL, corrected(original))
            extra["correction_seconds"] = time.perf_counter() - began
            del original
        if spec.get("warm") or as_of is not None:  # a session that has read before: index loaded, modules imported
            store.select(SYMBOL, start, start + pd.Timedelta(1, "ms"), as_of=as_of)
        columns = spec.get("columns")
        before = store.cache_stats() if store.cache is not None else None
        from tickstore_core.encoding.arrow import counter  # parts decoded (a memory-mapped read is no read())

        mapped = counter.bytes
        result = _select_result(
            lambda: store.select(SYMBOL, start, end, as_of=as_of, columns=columns), spec.get("repeat", 1), **extra
        )
        if before is not None:
            stats = store.cache_stats()
            result["cache"] = {k: stats[k] - before[k] for k in ("hits", "misses", "bytes_fetched", "bytes_from_cache")}
            result["bytes_read"] = result["cache"]["bytes_fetched"] + result["cache"]["bytes_from_cache"]
        else:  # file://: read() calls, and the parts of the memory-mapped objects the decoder read
            result["bytes_read"] = result["read_chars"] + (counter.bytes - mapped) // len(result["times"])
        return result
    finally:
        store.close()


# --- references ------------------------------------------------------------------------------------


def case_pyarrow(spec: dict[str, Any]) -> dict[str, Any]:
    """Parquet files read directly: one file per day, zstd level 3 like the store's Parquet codec."""
    out_dir = Path(spec["path"])
    if spec["case"] == "insert":
        frames = load_days(spec["data_dir"], spec["days"])
        out_dir.mkdir(parents=True, exist_ok=True)

        def write() -> None:
            for day, frame in zip(spec["days"], frames, strict=True):
                table = pa.Table.from_pandas(frame.reset_index(), preserve_index=False)
                pq.write_table(table, day_path(str(out_dir), day), compression="zstd", compression_level=3)

        return _insert_result(frames, write)

    paths = [day_path(spec["data_dir"], day) for day in spec["days"]]

    def read() -> pd.DataFrame:
        tables = [pq.read_table(path) for path in paths]
        return pa.concat_tables(tables).to_pandas().set_index("time")

    return _select_result(read, spec.get("repeat", 1))


def case_pandas_hdf5(spec: dict[str, Any]) -> dict[str, Any]:
    """``DataFrame.to_hdf`` per day (table format, blosc:lz4 like our HDF5 codec) and ``read_hdf``."""
    import tables  # noqa: F401 - imported before measuring, as in a session that has read before

    out_dir = Path(spec["path"])
    options = {"format": spec.get("format", "table"), "complib": "blosc:lz4", "complevel": 5}
    if spec["case"] == "insert":
        frames = load_days(spec["data_dir"], spec["days"])
        out_dir.mkdir(parents=True, exist_ok=True)

        def write() -> None:
            for day, frame in zip(spec["days"], frames, strict=True):
                frame.to_hdf(day_path(str(out_dir), day, "h5"), key="ticks", mode="w", **options)

        return _insert_result(frames, write)

    paths = [day_path(str(out_dir), day, "h5") for day in spec["days"]]

    def read() -> pd.DataFrame:
        return pd.concat([pd.read_hdf(path, "ticks") for path in paths])

    return _select_result(read, spec.get("repeat", 1))


def case_limits(spec: dict[str, Any]) -> dict[str, Any]:
    """The physical limits on this machine for producing the selected frame.

    ``memcpy``: a numpy copy of every buffer of the same columns (time, and each column's Arrow
    buffers), the least any reader must do. ``ipc-mmap``: the same rows as an uncompressed Arrow IPC
    file, memory-mapped, read and converted to pandas (the frame built from bytes already in
    memory, no decoding).
    """
    import numpy as np
    import pyarrow.ipc as ipc

    frames = load_days(spec["data_dir"], spec["days"])
    table = pa.Table.from_pandas(pd.concat(frames), preserve_index=True)
    del frames
    path = Path(spec["path"])
    path.parent.mkdir(parents=True, exist_ok=True)
    with pa.OSFile(str(path), "wb") as sink, ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    rows = table.num_rows
    del table
    if spec["case"] == "memcpy":
        # read back into memory: every buffer is then exactly its column's bytes (no slices of larger
        # buffers, as the Parquet reader's strings may be)
        loaded = ipc.open_file(pa.BufferReader(path.read_bytes())).read_all()
        buffers = [
            np.frombuffer(buffer, dtype=np.uint8)
            for column in loaded.columns
            for chunk in column.chunks
            for buffer in chunk.buffers()
            if buffer is not None
        ]

        def copy() -> list[Any]:
            return [b.copy() for b in buffers]

        _, times, growth, method = measure(copy, spec.get("repeat", 1))
        nbytes = sum(b.nbytes for b in buffers)
        return {"rows": rows, "times": times, "peak_bytes": growth, "frame_bytes": nbytes, "memory": method}

    def read() -> pd.DataFrame:
        with pa.memory_map(str(path)) as source:
            return ipc.open_file(source).read_all().to_pandas()

    return _select_result(read, spec.get("repeat", 1))


def _bars_query(freq: str) -> Any:
    from arcticdb import QueryBuilder

    query = QueryBuilder()
    return query.resample(freq).agg(
        {
            "open": ("price", "first"),
            "high": ("price", "max"),
            "low": ("price", "min"),
            "close": ("price", "last"),
            "volume": ("size", "sum"),
            "trades": ("price", "count"),
        }
    )


def case_arcticdb(spec: dict[str, Any]) -> dict[str, Any]:
    """ArcticDB: one symbol, each day written as a new version (write, then append)."""
    import arcticdb

    library = arcticdb.Arctic(spec["uri"]).get_library(spec.get("library", "bench"), create_if_missing=True)
    if spec["case"] == "read_batch":  # issue 14: 50 symbols x 1 day, against one symbol with the same rows
        (day,) = load_days(spec["data_dir"], spec["days"])
        symbols = [f"SYM{i:02d}" for i in range(spec["symbols"])]
        for i, symbol in enumerate(symbols):
            library.write(symbol, day.iloc[i :: len(symbols)])
        library.write("ONE", day)
        start, end = _bounds(spec)
        requests = [arcticdb.ReadRequest(s, date_range=(start, end)) for s in symbols]
        library.read_batch(requests)
        library.read("ONE", date_range=(start, end))
        batch = _select_result(
            lambda: pd.concat([r.data for r in library.read_batch(requests)]).sort_index(kind="stable"),
            spec.get("repeat", 1),
        )
        one = _select_result(lambda: library.read("ONE", date_range=(start, end)).data, spec.get("repeat", 1))
        return {**batch, "one": one}
    if spec["case"] == "resample":  # issue 14: bars in the engine
        start, end = _bounds(spec)
        query = _bars_query(spec.get("freq", "5min"))
        library.read(SYMBOL, date_range=(start, start))
        return _select_result(
            lambda: library.read(SYMBOL, date_range=(start, end), query_builder=query).data, spec.get("repeat", 1)
        )
    if spec["case"] == "sparse":  # a year of small days, each written by its own call, read warm
        frames = load_days(spec["data_dir"], spec["days"])
        library.write(SYMBOL, frames[0])
        for frame in frames[1:]:
            library.append(SYMBOL, frame)
        del frames
        start, end = _bounds(spec)
        library.read(SYMBOL, date_range=(start, start))
        return _select_result(lambda: library.read(SYMBOL, date_range=(start, end)).data, spec.get("repeat", 1))
    if spec["case"] == "insert":
        frames = load_days(spec["data_dir"], spec["days"])

        def insert() -> None:
            library.write(SYMBOL, frames[0])
            for frame in frames[1:]:
                library.append(SYMBOL, frame)

        return _insert_result(frames, insert)
    start, end = _bounds(spec)
    extra: dict[str, Any] = {}
    as_of = None
    if spec["case"] == "asof":
        (original,) = load_days(spec["data_dir"], [spec["correct_day"]])
        as_of = library.read_metadata(SYMBOL).version
        began = time.perf_counter()
        library.update(SYMBOL, corrected(original))
        extra["correction_seconds"] = time.perf_counter() - began
        del original
    if spec.get("warm") or as_of is not None:
        library.read(SYMBOL, date_range=(start, start))  # version metadata loaded, as after an earlier read
    return _select_result(
        lambda: library.read(SYMBOL, date_range=(start, end), as_of=as_of).data, spec.get("repeat", 1), **extra
    )


CASES: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "ours": case_ours,
    "pyarrow": case_pyarrow,
    "pandas-hdf5": case_pandas_hdf5,
    "arcticdb": case_arcticdb,
    "limits": case_limits,
}


def _slot_cases() -> dict[str, Callable[[dict[str, Any]], dict[str, Any]]]:
    from _slots import SLOT_CASES  # our store's issue 13/14 cases: dev venv only

    return SLOT_CASES


def main() -> None:
    spec = json.loads(sys.argv[1])
    PRIME_BYTES[0] = int(spec.get("prime_bytes", 0))
    cases = CASES if spec["engine"] in CASES else _slot_cases()
    result = cases[spec["engine"]](spec)
    result["versions"] = {"python": sys.version.split()[0], "pandas": pd.__version__, "pyarrow": pa.__version__}
    print(MARKER + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
