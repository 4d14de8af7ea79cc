"""Reading the original tick store's HDF5 files: one pandas DataFrame per file, as pandas wrote it.

The original tick store wrote each partition version with ``df.to_hdf(path, key="ticks", ...)``,
in fixed or table format, with any index name. Such a file is read with pandas itself, the index
becomes the timestamp column, and naive times are taken as UTC. Legacy files have no integrity
line (see :mod:`tickstore_core.encoding.hdf5`, whose ``decode_hdf5`` reads both kinds of file).

Safety: pandas pickles object columns. The object blocks of legacy files (string columns such as
``side``) are read by default: the guard
(:func:`~tickstore_core.encoding.pickle_guard.restricted_unpickling`) admits only what rebuilding
a NumPy object array needs, and every value must then be a string, bytes, None or NaN; anything
else is refused.

serenity's ``index.h5`` is such a file too (one DataFrame in fixed format):
:func:`read_index_frame` reads it for :mod:`tickstore_core.serenity_index`.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from ..errors import CorruptObjectError, InvalidTicksError, UnsafeDataError
from ._pytables import TABLES_LOCK, image_name
from .pickle_guard import SERENITY_INDEX_GLOBALS, restricted_unpickling, unsafe_error

__all__ = ["check_plain_objects", "legacy_table", "pandas_key", "read_index_frame", "read_pandas"]

_KEY = "ticks"  # the key the original tick store wrote its frames under


def pandas_key(h5: Any) -> str:
    """The one pandas DataFrame in the open file: ``/ticks`` or the only top-level pandas group."""
    groups = {name: h5.root._f_get_child(name) for name in h5.root._v_groups}
    groups = {name: group for name, group in groups.items() if "pandas_type" in group._v_attrs._v_attrnames}
    if _KEY in groups:
        name = _KEY
    elif len(groups) == 1:
        (name,) = groups
    else:
        raise CorruptObjectError(
            f"no ticks in the file: expected /{_KEY} written by tickstore or one pandas DataFrame "
            f"(df.to_hdf(path, key='ticks')), found {sorted(h5.root._v_children) or 'nothing'}"
        )
    kind = str(getattr(groups[name]._v_attrs, "pandas_type", ""))
    if kind not in ("frame", "frame_table"):
        raise CorruptObjectError(f"/{name} holds a pandas {kind}, not a DataFrame of ticks")
    return name


def read_pandas(data: bytes, key: str) -> Any:
    """Read the pandas frame at ``key`` with pandas itself (the caller holds the lock and the pickle guard)."""
    import pandas as pd

    with pd.HDFStore(
        image_name(), mode="r", driver="H5FD_CORE", driver_core_image=data, driver_core_backing_store=0
    ) as store:
        return store.get(key)


def check_plain_objects(frame: Any) -> None:
    """Refuse a legacy frame whose object columns hold anything but strings, bytes, None and NaN."""
    import pandas as pd

    for name in frame.columns:
        column = frame[name]
        if column.dtype != object or pd.api.types.infer_dtype(column, skipna=True) in ("string", "bytes", "empty"):
            continue
        for value in column.array:  # mixed: check value by value
            if value is None or isinstance(value, (str, bytes)) or (type(value) is float and value != value):
                continue
            raise unsafe_error(f"column {name!r} holds a {type(value).__name__} object and")


def legacy_table(frame: Any, timestamp_column: str) -> pa.Table:
    """A legacy DataFrame as the canonical table: its DatetimeIndex becomes the timestamp column."""
    import pandas as pd

    from ..frames import ticks_to_table

    if not isinstance(frame, pd.DataFrame) or not isinstance(frame.index, pd.DatetimeIndex):
        raise CorruptObjectError(f"the pandas object in the file is not a DataFrame indexed by time ({type(frame)})")
    try:
        return ticks_to_table(frame, timestamp_column, containers=True)
    except InvalidTicksError as exc:
        raise CorruptObjectError(f"the DataFrame in the file cannot be read as ticks: {exc}") from exc


def read_index_frame(data: bytes, where: str) -> Any:
    """The one DataFrame in serenity's ``index.h5`` bytes, read in memory under the pickle guard."""
    import pandas as pd

    try:
        with TABLES_LOCK, restricted_unpickling(True, SERENITY_INDEX_GLOBALS) as refused:
            try:
                image: dict[str, Any] = {
                    "driver": "H5FD_CORE",
                    "driver_core_image": bytes(data),
                    "driver_core_backing_store": 0,
                }
                with pd.HDFStore(image_name(), mode="r", **image) as store:
                    keys = store.keys()
                    if len(keys) != 1:
                        raise CorruptObjectError(f"{where} holds {len(keys)} pandas objects, not serenity's one index")
                    frame = store.get(keys[0])
            except Exception:
                if refused:
                    raise UnsafeDataError(
                        f"{where} holds pickled objects a serenity index does not ({', '.join(sorted(set(refused)))}); "
                        "it was not read"
                    ) from None
                raise
    except (CorruptObjectError, UnsafeDataError):
        raise
    except Exception as exc:
        raise CorruptObjectError(f"{where} is not a readable serenity index: {type(exc).__name__}: {exc}") from exc
    if not isinstance(frame, pd.DataFrame):
        raise CorruptObjectError(f"{where} holds a pandas {type(frame).__name__}, not serenity's index DataFrame")
    return frame
