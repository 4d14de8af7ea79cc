"""Write stores exactly as serenity's tick store does, with today's pandas; and answer as it does.

:class:`SerenityWriter` follows ``serenity/marketdata/tickstore/api.py`` (``LocalTickstore`` and
``AzureBlobTickstore``, read at cloudwall/serenity afdbd1b) step by step, without importing it:

- data: ``ticks.to_hdf(path, 'ticks', mode='w', complevel=9, complib='blosc')`` (pandas fixed
  format, string columns as pickled object blocks) under ``{YYYY}/{MM}/{DD}/{SYMBOL}_{VVVV}.h5``; on
  Azure the same names hold ``pyarrow.Table.from_pandas`` Parquet bytes, uploaded with
  ``overwrite=False``;
- index: a DataFrame with MultiIndex (symbol, date, version) and object columns ``start_time``,
  ``end_time`` (naive UTC ``datetime``; the first version from ``Timestamp.min``, later ones from
  ``utcnow()``, current ones until ``Timestamp.max``; a delete only ends the last version) and
  ``path`` (``local:<dirname>/...`` or ``azure:<container>/...``), written with
  ``df.to_hdf(index_path, <db name>, mode='w', complevel=9, complib='blosc')`` to ``index.h5``, or
  uploaded as the blob ``index``.

:func:`serenity_select` is serenity's select over such a store (trusting its pickles), the
reference the tests compare tickstore's answers with.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

START_AS_OF = pd.Timestamp.min.to_pydatetime(warn=False)
LATEST_AS_OF = pd.Timestamp.max.to_pydatetime(warn=False)


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def _as_pandas_1_2(ticks: pd.DataFrame) -> pd.DataFrame:
    """String columns as object columns, as pandas 1.2 held them (pandas 3 has a string dtype)."""
    out = ticks.copy()
    for name in out.columns:
        if out[name].dtype != object and pd.api.types.is_string_dtype(out[name].dtype):
            out[name] = pd.array(out[name].tolist(), dtype=object)
    return out


class SerenityWriter:
    """A serenity store being written: local (``root``) or an Azure container (``container``)."""

    def __init__(
        self,
        *,
        root: Path | None = None,
        container: Any = None,
        db_name: str | None = None,
        path_prefix: str | None = None,
    ) -> None:
        if (root is None) == (container is None):
            raise ValueError("give root (LocalTickstore) or container (AzureBlobTickstore)")
        self.root, self.container = root, container
        self.db_name = db_name or (root.name if root is not None else container.container_name)
        if path_prefix is None:
            path_prefix = f"local:{self.db_name}" if root is not None else f"azure:{container.container_name}"
        self.path_prefix = path_prefix
        self.rows: list[dict[str, Any]] = []
        self._load()

    # --- serenity's operations ------------------------------------------------------------------

    def insert(self, symbol: str, day: dt.date, ticks: pd.DataFrame, *, now: dt.datetime | None = None) -> str:
        """A new version of (symbol, day); returns its key. ``now`` stands for ``utcnow()``."""
        previous = [r for r in self.rows if r["symbol"] == symbol and r["date"] == day]
        if previous:
            start = now or _utcnow()
            last = max(previous, key=lambda r: r["version"])
            last["end_time"] = start
            version = last["version"] + 1
        else:
            start, version = START_AS_OF, 0
        key = f"{day.year}/{day.month:02d}/{day.day:02d}/{symbol}_{version:04d}.h5"
        self.rows.append(
            {
                "symbol": symbol,
                "date": day,
                "version": version,
                "start_time": start,
                "end_time": LATEST_AS_OF,
                "path": f"{self.path_prefix}/{key}",
            }
        )
        self._write_data(key, ticks)
        return key

    def delete(self, symbol: str, day: dt.date, *, now: dt.datetime | None = None) -> None:
        """End the last version of (symbol, day): recorded only in the index."""
        previous = [r for r in self.rows if r["symbol"] == symbol and r["date"] == day]
        if previous:
            max(previous, key=lambda r: r["version"])["end_time"] = now or _utcnow()

    def flush(self) -> None:
        """Write ``index.h5`` (local) or upload the ``index`` blob (Azure), as serenity's flush does."""
        frame = self.index_frame()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pandas warns that object blocks are pickled
            if self.root is not None:
                frame.to_hdf(str(self.root / "index.h5"), key=self.db_name, mode="w", complevel=9, complib="blosc")
                return
            with tempfile.TemporaryDirectory() as scratch:
                path = Path(scratch) / "index.h5"
                frame.to_hdf(str(path), key=self.db_name, mode="w", complevel=9, complib="blosc")
                self.container.get_blob_client("index").upload_blob(path.read_bytes(), overwrite=True)

    # --- the index ----------------------------------------------------------------------------

    def index_frame(self) -> pd.DataFrame:
        """The index as serenity holds it: object columns filled by ``.loc`` enlargement."""
        rows = sorted(self.rows, key=lambda r: (r["symbol"], r["date"], r["version"]))
        index = pd.MultiIndex.from_arrays(
            [
                pd.Index([r["symbol"] for r in rows], dtype=object),
                pd.DatetimeIndex([pd.Timestamp(r["date"]) for r in rows]),
                pd.Index([r["version"] for r in rows], dtype="int64"),
            ],
            names=["symbol", "date", "version"],
        )
        columns = {name: pd.array([r[name] for r in rows], dtype=object) for name in ("start_time", "end_time", "path")}
        return pd.DataFrame(columns, index=index)

    def _load(self) -> None:
        """Pick up an existing index, as serenity's DataFrameIndex does when it opens."""
        data = None
        if self.root is not None and (self.root / "index.h5").exists():
            data = (self.root / "index.h5").read_bytes()
        elif self.container is not None and self.container.get_blob_client("index").exists():
            data = self.container.get_blob_client("index").download_blob().readall()
        if data is None:
            return
        frame = read_index_trusted(data)
        for (symbol, date, version), row in frame.iterrows():
            self.rows.append(
                {
                    "symbol": symbol,
                    "date": pd.Timestamp(date).date(),
                    "version": int(version),
                    "start_time": pd.Timestamp(row["start_time"]).to_pydatetime(warn=False),
                    "end_time": pd.Timestamp(row["end_time"]).to_pydatetime(warn=False),
                    "path": row["path"],
                }
            )

    # --- data ----------------------------------------------------------------------------------

    def _write_data(self, key: str, ticks: pd.DataFrame) -> None:
        if self.root is not None:
            path = self.root / key
            path.parent.mkdir(parents=True, exist_ok=True)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                _as_pandas_1_2(ticks).to_hdf(str(path), key="ticks", mode="w", complevel=9, complib="blosc")
            return
        sink = pa.BufferOutputStream()
        pq.write_table(pa.Table.from_pandas(df=ticks), sink)
        from azure.core.exceptions import ResourceExistsError

        with contextlib.suppress(ResourceExistsError):  # serenity logs 'skipping upload of existing blob'
            self.container.get_blob_client(key).upload_blob(bytes(sink.getvalue()), overwrite=False)


def read_index_trusted(data: bytes) -> pd.DataFrame:
    """serenity's ``pd.read_hdf(index_path)`` on the bytes of an index (test data: pickles trusted)."""
    with pd.HDFStore(
        "serenity-index.h5", mode="r", driver="H5FD_CORE", driver_core_image=data, driver_core_backing_store=0
    ) as store:
        (key,) = store.keys()
        frame = store.get(key)
    assert isinstance(frame, pd.DataFrame)
    return frame


def upload_as_azure_tickstore(root: Path, container: Any) -> None:
    """The local serenity store at ``root`` as AzureBlobTickstore holds it: Parquet blobs, ``index`` blob.

    Version times and deletes are kept, paths become ``azure:<container>/...`` (the first one bare,
    as old index entries are).
    """
    frame = read_index_trusted((root / "index.h5").read_bytes()).copy()
    paths = []
    for i, path in enumerate(frame["path"]):
        key = str(path).split("/", 1)[1]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ticks = pd.read_hdf(str(root / key))
        sink = pa.BufferOutputStream()
        pq.write_table(pa.Table.from_pandas(df=ticks), sink)
        container.get_blob_client(key).upload_blob(bytes(sink.getvalue()), overwrite=False)
        paths.append(key if i == 0 else f"azure:{container.container_name}/{key}")
    frame["path"] = pd.array(paths, dtype=object)
    with tempfile.TemporaryDirectory() as scratch, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        path = Path(scratch) / "index.h5"
        frame.to_hdf(str(path), key=root.name, mode="w", complevel=9, complib="blosc")
        container.get_blob_client("index").upload_blob(path.read_bytes(), overwrite=True)


def serenity_select(
    index_data: bytes,
    read: Any,
    symbol: str,
    start: dt.datetime,
    end: dt.datetime,
    as_of: dt.datetime = LATEST_AS_OF,
) -> pd.DataFrame:
    """serenity's select: the files of days ``start.date()..end.date()`` valid at ``as_of``
    (``start_time <= as_of <= end_time``), concatenated, trimmed to ``[start, end]``, sorted.

    ``read(key)`` returns a data object's DataFrame. Times are naive UTC.
    """
    frame = read_index_trusted(index_data)
    if symbol not in frame.index.get_level_values("symbol"):
        return pd.DataFrame()
    data = frame.loc[symbol]
    dates = data.index.get_level_values("date")
    starts, ends, when = _micros(data["start_time"]), _micros(data["end_time"]), np.datetime64(as_of, "us")
    first, last = pd.Timestamp(start.date()), pd.Timestamp(end.date())
    mask = (dates >= first) & (dates <= last) & (starts <= when) & (ends >= when)
    frames = [read(str(path).split("/", 1)[1] if ":" in str(path) else str(path)) for path in data[mask]["path"]]
    if not frames:
        return pd.DataFrame()
    ticks = pd.concat(frames)
    times = ticks.index
    return ticks.loc[(times >= start) & (times <= end)].sort_index(kind="stable")


def _micros(times: pd.Series) -> np.ndarray:
    """Validity times as microseconds: the sentinels (``START_AS_OF``, ``LATEST_AS_OF``) lie just outside
    what nanoseconds hold, which pandas 2.2's ``to_datetime`` refuses."""
    return np.array(times.tolist(), dtype="datetime64[us]")


def read_local(root: Path) -> Any:
    def read(key: str) -> pd.DataFrame:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return pd.read_hdf(str(root / key))

    return read


def read_azure(container: Any) -> Any:
    def read(key: str) -> pd.DataFrame:
        return pd.read_parquet(io.BytesIO(container.get_blob_client(key).download_blob().readall()))

    return read
