"""Reading HDF5 files without letting PyTables unpickle code from them.

PyTables unpickles any attribute value that looks like a pickle (bytes ending in ``b"."``) as
soon as it builds a node's attribute set: ``tables.open_file`` does it for the root group's
attributes, loading a node does it for the node's (``tables/attributeset.py``,
``AttributeSet.__init__`` and ``__getattr__``); ``ObjectAtom`` arrays (pandas object columns)
unpickle their data (``tables/atom.py``). PyTables offers no switch to stop this, and its raw
reader ``AttributeSet._g_getattr`` only helps once the attribute set exists, which is too late.

So :func:`restricted_unpickling` routes those two modules' ``pickle.loads`` through
:class:`_GuardedPickle`: in a thread inside the context, an unpickler that builds plain data
(None, numbers, strings, bytes, lists, tuples, dicts, sets) and a few harmless types
(``datetime.timezone``, ``datetime.timedelta``, pandas time offsets, which pandas stores for an
index's time zone and frequency) but refuses every other import, so no code from the file runs.
A caller may admit more, by name, for one read: :data:`OBJECT_ARRAY_GLOBALS` (what a NumPy
object array needs to be rebuilt: ``ndarray``, ``dtype`` and ``_reconstruct``, under the module
names NumPy 1.x and 2.x pickle them by) for the object blocks of legacy pandas files, and
:data:`SERENITY_INDEX_GLOBALS` (plus ``datetime``, ``date`` and pandas ``Timestamp`` values) for
serenity's ``index.h5``. Names resolve through a fixed table, never by importing what the pickle
names.
PyTables catches the refusal and keeps the raw bytes; the refusal is recorded for the caller, who
reports the file as unsafe. Every other thread, and every thread outside the context, unpickles as
before. If a PyTables version no longer calls ``pickle.loads`` through a module attribute, the
guard cannot be installed and refuses to read (fails closed).
"""

from __future__ import annotations

import contextlib
import io
import pickle
import threading
from collections.abc import Iterator
from typing import Any

import numpy as np

from ..errors import UnsafeDataError

__all__ = [
    "ALLOWED_GLOBALS",
    "OBJECT_ARRAY_GLOBALS",
    "SERENITY_INDEX_GLOBALS",
    "left_pickled",
    "restricted_unpickling",
    "unsafe_error",
]

ALLOWED_GLOBALS = frozenset(
    [("datetime", "timezone"), ("datetime", "timedelta")]
    + [
        ("pandas._libs.tslibs.offsets", name)
        for name in ("Day", "Hour", "Minute", "Second", "Milli", "Micro", "Nano", "BusinessDay")
    ]
)
OBJECT_ARRAY_GLOBALS = frozenset(
    (module, name)
    for module in ("numpy", "numpy.core.multiarray", "numpy._core.multiarray")
    for name in ("ndarray", "dtype", "_reconstruct")
    if not (module == "numpy" and name == "_reconstruct")
)
SERENITY_INDEX_GLOBALS = OBJECT_ARRAY_GLOBALS | {
    ("datetime", "datetime"),
    ("datetime", "date"),
    ("pandas._libs.tslibs.timestamps", "_unpickle_timestamp"),
}


class _Refused(Exception):
    """A pickle would import something not allowed; PyTables swallows this, the guard records it."""


def _resolve(module: str, name: str) -> Any:
    """The object an admitted global names, from a fixed table (NumPy 1.x module names included)."""
    import datetime

    import pandas._libs.tslibs.timestamps as timestamps

    if module.startswith("numpy"):
        return {"ndarray": np.ndarray, "dtype": np.dtype, "_reconstruct": _reconstruct()}[name]
    if (module, name) == ("pandas._libs.tslibs.timestamps", "_unpickle_timestamp"):
        return getattr(timestamps, "_unpickle_timestamp", None)
    if module == "datetime":
        return getattr(datetime, name)
    return None


def _reconstruct() -> Any:
    """NumPy's array rebuilder, from where this NumPy keeps it (``numpy.core`` warns on NumPy 2)."""
    import importlib

    for module in ("numpy._core.multiarray", "numpy.core.multiarray"):
        try:
            return importlib.import_module(module)._reconstruct
        except (ImportError, AttributeError):  # pragma: no cover - the other NumPy major version
            continue
    return None


class _DataOnlyUnpickler(pickle.Unpickler):
    """Builds plain data and the admitted globals; every other import is refused, so no code runs."""

    def __init__(self, file: io.BytesIO, admitted: frozenset[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(file, **kwargs)
        self.admitted = admitted

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in ALLOWED_GLOBALS:
            return super().find_class(module, name)
        if (module, name) in self.admitted:
            found = _resolve(module, name)
            if found is not None:
                return found
        raise _Refused(f"it imports {module}.{name}")


class _State(threading.local):
    """Per thread: whether unpickling is restricted, and what was refused."""

    def __init__(self) -> None:
        self.active = False
        self.refused: list[str] = []
        self.admitted: frozenset[tuple[str, str]] = frozenset()


_state = _State()
_install_lock = threading.Lock()


class _GuardedPickle:
    """Stands in for the ``pickle`` module inside PyTables; restricted only in guarded threads."""

    def __init__(self) -> None:
        self.real = pickle

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def loads(self, data: bytes, /, **kwargs: Any) -> Any:
        if not _state.active:
            return self.real.loads(data, **kwargs)
        try:
            return _DataOnlyUnpickler(io.BytesIO(bytes(data)), _state.admitted, **kwargs).load()
        except _Refused as exc:
            _state.refused.append(str(exc))
            raise


def _install() -> None:
    """Put :class:`_GuardedPickle` into PyTables' modules, once per process; fail closed."""
    import tables
    import tables.atom
    import tables.attributeset

    with _install_lock:
        for module in (tables.attributeset, tables.atom):
            current = getattr(module, "pickle", None)
            if isinstance(current, _GuardedPickle):
                continue
            if current is not pickle:
                raise UnsafeDataError(
                    f"PyTables {tables.__version__} unpickles in a way tickstore cannot guard, so no HDF5 file "
                    "can be read safely; open the store with allow_pickle=True only if you trust it"
                )
            module.pickle = _GuardedPickle()


@contextlib.contextmanager
def restricted_unpickling(active: bool = True, admit: frozenset[tuple[str, str]] = frozenset()) -> Iterator[list[str]]:
    """Within the context, PyTables in this thread unpickles plain data only; yields the refusals.

    ``admit`` names further globals to allow (:data:`OBJECT_ARRAY_GLOBALS`,
    :data:`SERENITY_INDEX_GLOBALS`). With ``active=False`` nothing is restricted (the caller
    trusts the file) and nothing is recorded. Not reentrant.
    """
    if active:
        _install()
    _state.active, _state.refused, _state.admitted = active, [], frozenset(admit)
    try:
        yield _state.refused
    finally:
        _state.active, _state.refused, _state.admitted = False, [], frozenset()


def left_pickled(value: object) -> bool:
    """Whether PyTables kept an attribute as the bytes of a pickle (as when the guard refused it)."""
    return isinstance(value, np.bytes_) and value.endswith(b".")


def unsafe_error(where: str) -> UnsafeDataError:
    """The error for data that would need pickle to read: ``where`` names it, the message says what to do."""
    return UnsafeDataError(
        f"{where} would need pickle to read, which can run arbitrary code; open the store with "
        "allow_pickle=True only if you trust it (for example files your own tick store wrote)"
    )
