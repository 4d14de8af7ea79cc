"""serenity's tick store API over tickstore: code written for serenity runs with only its import changed.

    # from serenity.marketdata.tickstore.api import LocalTickstore, AzureBlobTickstore, BiTimestamp
    from tickstore_core.compat.serenity import LocalTickstore, AzureBlobTickstore, BiTimestamp

    store = LocalTickstore(Path("/mnt/raid/data/behemoth/db/PHEMEX_TRADES"), timestamp_column="time")
    store.insert("BTCUSD", BiTimestamp(datetime.date(2020, 5, 11)), ticks)
    df = store.select("BTCUSD", datetime.datetime(2020, 5, 11), datetime.datetime(2020, 5, 12))

Class and method names, argument order and defaults are serenity's (``api.py``); each store wraps
a native [`Tickstore`][tickstore_core.Tickstore], reachable as ``.store`` for ``history``, ``days``
and the rest. Naive datetimes are UTC. Where the behaviour differs from serenity (the migration
guide, ``docs/migration.md``, lists it all):

- ``select`` returns a tz-aware UTC index, like the native API; open with ``naive=True`` for naive
  UTC timestamps, as serenity returned them.
- A version is the truth over ``[start_time, end_time)`` of transaction time, not serenity's
  closed interval, so at the instant of a correction exactly one version answers.
- ``insert`` and ``delete`` record the change now and ignore ``BiTimestamp.as_of()``, as serenity
  did; to record an explicit transaction time use the native API with ``BiTimestamp.to_native()``.
- Every tick must fall on the ``BiTimestamp``'s UTC day: serenity let a day's file hold other days.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar

import pandas as pd

from ..config import open_store
from ..errors import InvalidInputError, InvalidTicksError
from ..store import Tickstore as NativeTickstore
from ..times import TIME_MIN, TimeLike, to_day, to_timestamp
from ..times import BiTimestamp as NativeBiTimestamp

__all__ = ["AzureBlobTickstore", "BiTimestamp", "LocalTickstore", "Tickstore", "container_name"]


class BiTimestamp:
    """A valid-time day (as at) and a transaction time (as of), as serenity's ``BiTimestamp``.

    ``start_as_of`` and ``latest_as_of`` are the beginning and the end of time (naive UTC
    datetimes, as in serenity); the default ``as_of_time`` means "the latest".

    Parameters
    ----------
    as_at_date : datetime.date
        The day (valid time).
    as_of_time : datetime.datetime, default BiTimestamp.latest_as_of
        The transaction time (naive means UTC). `Tickstore.insert` and `Tickstore.delete`
        ignore it, as serenity did.

    Examples
    --------
    >>> import datetime
    >>> from tickstore_core.compat.serenity import BiTimestamp
    >>> BiTimestamp(datetime.date(2020, 5, 11)).to_native()
    BiTimestamp(as_at=datetime.date(2020, 5, 11), as_of=None)
    """

    start_as_of: ClassVar[dt.datetime] = pd.Timestamp.min.to_pydatetime(warn=False)
    latest_as_of: ClassVar[dt.datetime] = pd.Timestamp.max.to_pydatetime(warn=False)

    def __init__(self, as_at_date: dt.date, as_of_time: dt.datetime = latest_as_of) -> None:
        self.as_at_date = as_at_date
        self.as_of_time = as_of_time

    def as_at(self) -> dt.date:
        """The day (valid time).

        Returns
        -------
        datetime.date
            ``as_at_date`` as given.

        Examples
        --------
        >>> import datetime
        >>> from tickstore_core.compat.serenity import BiTimestamp
        >>> BiTimestamp(datetime.date(2020, 5, 11)).as_at()
        datetime.date(2020, 5, 11)
        """
        return self.as_at_date

    def as_of(self) -> dt.datetime:
        """The transaction time.

        Returns
        -------
        datetime.datetime
            ``as_of_time`` as given: `latest_as_of` unless one was passed.

        Examples
        --------
        >>> import datetime
        >>> from tickstore_core.compat.serenity import BiTimestamp
        >>> BiTimestamp(datetime.date(2020, 5, 11)).as_of() == BiTimestamp.latest_as_of
        True
        """
        return self.as_of_time

    def to_native(self) -> NativeBiTimestamp:
        """This pair as the native [`BiTimestamp`][tickstore_core.BiTimestamp] (``as_of=None`` for the latest).

        Pass it as ``day=`` to the native `Tickstore.insert` or `Tickstore.delete` (through
        ``.store``) to record a change at this transaction time.

        Returns
        -------
        tickstore_core.BiTimestamp
            The same day, and the transaction time as a UTC timestamp (None for the latest).

        Examples
        --------
        >>> import datetime
        >>> from tickstore_core.compat.serenity import BiTimestamp
        >>> stamp = BiTimestamp(datetime.date(2020, 5, 11), datetime.datetime(2020, 5, 12, 9))
        >>> stamp.to_native()
        BiTimestamp(as_at=datetime.date(2020, 5, 11), as_of=Timestamp('2020-05-12 09:00:00+0000', tz='UTC'))
        """
        return NativeBiTimestamp(to_day(self.as_at_date, "UTC"), native_as_of(self.as_of_time))

    def __str__(self) -> str:
        return str((self.as_at_date, self.as_of_time))

    def __repr__(self) -> str:
        return f"BiTimestamp({self.as_at_date!r}, {self.as_of_time!r})"


def native_as_of(as_of_time: TimeLike | None) -> pd.Timestamp | None:
    """serenity's as-of time as the native ``as_of``: None for the latest, else a UTC timestamp."""
    if as_of_time is None or as_of_time == BiTimestamp.latest_as_of:
        return None
    if as_of_time == BiTimestamp.start_as_of:  # a microsecond before Timestamp.min: out of range in pandas 3
        return to_timestamp(TIME_MIN, "as_of_time")
    stamp = to_timestamp(as_of_time, "as_of_time")
    return None if stamp >= pd.Timestamp(BiTimestamp.latest_as_of, tz="UTC") else stamp


def container_name(db_name: str) -> str:
    """The Azure container serenity kept ``db_name`` in: ``_`` becomes ``-``, lower-cased.

    Parameters
    ----------
    db_name : str
        serenity's database name.

    Returns
    -------
    str
        The container's name.

    Examples
    --------
    >>> from tickstore_core.compat.serenity import container_name
    >>> container_name("PHEMEX_TRADES")
    'phemex-trades'
    """
    return db_name.replace("_", "-").lower()


class Tickstore:
    """serenity's tick store methods over a native [`Tickstore`][tickstore_core.Tickstore] (``.store``).

    The base of `LocalTickstore` and `AzureBlobTickstore`; wrap any native store in it to give
    serenity code a store of another kind (S3, memory). Use it as a context manager or call
    `close`.

    Parameters
    ----------
    store : tickstore_core.Tickstore
        The native store, reachable as ``.store`` for ``history``, ``days`` and the rest.
    naive : bool, default False
        Return naive UTC timestamps from `select`, as serenity did, instead of tz-aware UTC.

    Examples
    --------
    >>> import tickstore_core as ts
    >>> from tickstore_core.compat.serenity import Tickstore
    >>> with Tickstore(ts.open_store("memory://serenity-doc"), naive=True) as store:
    ...     store.symbols()
    []
    """

    def __init__(self, store: NativeTickstore, *, naive: bool = False) -> None:
        self.store = store
        self.naive = naive
        self.timestamp_column = store.timestamp_column

    def select(
        self,
        symbol: str,
        start: TimeLike,
        end: TimeLike,
        as_of_time: TimeLike | None = BiTimestamp.latest_as_of,
    ) -> pd.DataFrame:
        """Ticks with ``start <= time <= end`` from the versions valid at ``as_of_time`` (default: latest).

        Parameters
        ----------
        symbol : str
            The instrument, e.g. ``"BTCUSD"``.
        start, end : datetime or timestamp
            The time range, both ends included (naive means UTC).
        as_of_time : datetime, optional
            Read the versions that were current at this transaction time; `BiTimestamp.latest_as_of`
            (the default) or None means the latest.

        Returns
        -------
        pandas.DataFrame
            Sorted by time and indexed by ``timestamp_column``: tz-aware UTC, or naive UTC when
            the store was opened with ``naive=True``. An unknown symbol or an empty range gives an
            empty DataFrame.

        Raises
        ------
        InvalidTimeError
            ``start``, ``end`` or ``as_of_time`` is not a time.

        Examples
        --------
        >>> store.select("BTCUSD", datetime.date(2020, 5, 11), datetime.date(2020, 5, 12))  # doctest: +SKIP
        >>> correction_time = datetime.datetime(2020, 5, 12, 9)  # doctest: +SKIP
        >>> store.select("BTCUSD", start, end, as_of_time=correction_time)  # doctest: +SKIP
        """
        ticks: pd.DataFrame = self.store.select(symbol, start, end, as_of=native_as_of(as_of_time))
        return ticks.tz_convert(None) if self.naive else ticks

    def insert(self, symbol: str, ts: BiTimestamp, ticks: pd.DataFrame) -> None:
        """Store ``ticks`` as a new version of the day ``ts.as_at()``, recorded now.

        The previous version, if any, stays readable for earlier as-of times. ``ts.as_of()`` is
        ignored, as in serenity.

        Parameters
        ----------
        symbol : str
            The instrument.
        ts : BiTimestamp
            The day the ticks belong to.
        ticks : pandas.DataFrame
            Indexed by timestamp (naive means UTC); every tick must fall on that day.

        Raises
        ------
        InvalidTicksError
            Some ticks fall on other days (serenity kept them in the day's file): insert each
            day under its own `BiTimestamp`, or call ``.store.insert(symbol, ticks)``.
        LegacyStoreError
            The store is a serenity store, which tickstore only reads.

        Examples
        --------
        >>> store.insert("BTCUSD", BiTimestamp(datetime.date(2020, 5, 11)), ticks)  # doctest: +SKIP
        """
        day = _day_of(ts, self.store.tz)
        try:
            self.store.insert(symbol, ticks, day=day)
        except InvalidTicksError as exc:
            others = _other_days(ticks, day, self.store.tz)
            if not others:
                raise
            shown = ", ".join(map(str, others[:5]))
            raise InvalidTicksError(
                f"ticks for BiTimestamp({day}) also fall on {shown} ({self.store.tz}); serenity kept them in "
                f"{day}'s file, tickstore keeps each tick under its own day: insert each day's ticks under its "
                "own BiTimestamp, or call .store.insert(symbol, ticks), which splits them by day"
            ) from exc

    def delete(self, symbol: str, ts: BiTimestamp) -> None:
        """End the current version of the day ``ts.as_at()`` now; a day without one is left alone.

        Earlier as-of selects still see the deleted version.

        Parameters
        ----------
        symbol : str
            The instrument.
        ts : BiTimestamp
            The day to delete; ``ts.as_of()`` is ignored, as in serenity.

        Examples
        --------
        >>> store.delete("BTCUSD", BiTimestamp(datetime.date(2020, 5, 11)))  # doctest: +SKIP
        """
        self.store.delete(symbol, _day_of(ts, self.store.tz))

    def symbols(self) -> list[str]:
        """Every symbol in the store, sorted (serenity's ``index.symbols()``).

        Returns
        -------
        list of str
            The symbols with at least one version.

        Examples
        --------
        >>> store.symbols()  # doctest: +SKIP
        ['BTCUSD', 'ETHUSD']
        """
        return self.store.symbols()

    def flush(self) -> None:
        """Nothing to write back (inserts and deletes are durable when they return); rereads indexes.

        Examples
        --------
        >>> store.flush()  # doctest: +SKIP
        """
        self.store.flush()

    def close(self) -> None:
        """Release the store; selects, inserts and deletes fail afterwards.

        Examples
        --------
        >>> store.close()  # doctest: +SKIP
        """
        self.store.close()

    def destroy(self) -> None:
        """Delete every version of every symbol, then close the store.

        Examples
        --------
        >>> store.destroy()  # doctest: +SKIP
        """
        self.store.destroy()

    def __enter__(self) -> Tickstore:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} over {self.store!r}>"


def _other_days(ticks: object, day: dt.date, tz: str) -> list[dt.date]:
    """The days (in ``tz``) other than ``day`` that the ticks' timestamps fall on."""
    index = getattr(ticks, "index", None)
    if not isinstance(index, pd.DatetimeIndex) or index.hasnans:
        return []
    local = index.tz_localize("UTC") if index.tz is None else index.tz_convert("UTC")
    days = {stamp.date() for stamp in local.tz_convert(tz).normalize().unique()}
    return sorted(days - {day})


class LocalTickstore(Tickstore):
    """A store on local disk, as serenity's ``LocalTickstore``.

    An existing serenity store (the Behemoth layout ``{YYYY}/{MM}/{DD}/{SYMBOL}_{VVVV}.h5``) opens
    as it is, read in place; a new directory becomes a native local HDF5 store
    (``open_store(base_path.as_uri())``).

    Parameters
    ----------
    base_path : str or os.PathLike
        The store's directory; created if missing, as serenity did.
    timestamp_column : str, default "date"
        The index name of stored frames (serenity's default).
    naive : bool, default False
        Return naive UTC timestamps from `select`, as serenity did.
    **options
        Passed to [`open_store`][tickstore_core.open_store] (``allow_pickle``, ``cache`` ...).

    Examples
    --------
    >>> from tickstore_core.compat.serenity import LocalTickstore
    >>> store = LocalTickstore("/mnt/raid/data/behemoth/db/PHEMEX_TRADES", "time")  # doctest: +SKIP
    >>> store.select("BTCUSD", datetime.date(2020, 5, 11), datetime.date(2020, 5, 12))  # doctest: +SKIP
    """

    def __init__(
        self, base_path: str | os.PathLike[str], timestamp_column: str = "date", *, naive: bool = False, **options: Any
    ) -> None:
        self.base_path = Path(base_path).expanduser().resolve()
        self.base_path.mkdir(parents=True, exist_ok=True)  # as serenity does: a new store is an empty one
        store = open_store(self.base_path.as_uri(), timestamp_column=timestamp_column, **options)
        super().__init__(store, naive=naive)

    def destroy(self) -> None:
        """Close the store and delete its directory with everything in it, as serenity did.

        Examples
        --------
        >>> store.destroy()  # doctest: +SKIP
        """
        self.close()
        if self.base_path.exists():
            shutil.rmtree(self.base_path)


class AzureBlobTickstore(Tickstore):
    """A store in an Azure Blob container named after ``db_name``, as serenity's ``AzureBlobTickstore``.

    Parameters
    ----------
    credential : str or azure.core.credentials.TokenCredential
        A connection string, or an azure-identity credential (then give ``account_url`` or set
        ``AZURE_STORAGE_ACCOUNT_URL``; serenity read it from its own config).
    db_name : str
        serenity's database name; the container is `container_name(db_name)`.
    cache_dir : str or os.PathLike, optional
        The local read cache; None means tickstore's shared cache (``TICKSTORE_CACHE_DIR``),
        not serenity's ``/var/tmp/abs_lru_cache``.
    timestamp_column : str, default "date"
        The index name of stored frames (serenity's default).
    account_url : str, optional
        ``https://ACCOUNT.blob.core.windows.net``, with an azure-identity credential.
    naive : bool, default False
        Return naive UTC timestamps from `select`, as serenity did.
    **options
        Passed to [`open_store`][tickstore_core.open_store] (``cache_size``, ``retries`` ...).

    Examples
    --------
    >>> from azure.identity import DefaultAzureCredential  # doctest: +SKIP
    >>> from tickstore_core.compat.serenity import AzureBlobTickstore
    >>> store = AzureBlobTickstore(  # doctest: +SKIP
    ...     DefaultAzureCredential(),
    ...     "PHEMEX_TRADES",
    ...     account_url="https://myaccount.blob.core.windows.net",
    ... )
    """

    def __init__(
        self,
        credential: Any,
        db_name: str,
        cache_dir: str | os.PathLike[str] | None = None,
        timestamp_column: str = "date",
        *,
        account_url: str | None = None,
        naive: bool = False,
        **options: Any,
    ) -> None:
        self.container_name = container_name(db_name)
        options["connection_string" if isinstance(credential, str) else "credential"] = credential
        if account_url is not None:
            options["account_url"] = account_url
        if cache_dir is not None:
            options["cache_dir"] = str(cache_dir)
        store = open_store(f"az://{self.container_name}", timestamp_column=timestamp_column, **options)
        super().__init__(store, naive=naive)

    def destroy(self) -> None:
        """Does nothing, as in serenity: an archive is not deleted by accident (``.store.destroy()`` does).

        Examples
        --------
        >>> store.destroy()  # a no-op; store.store.destroy() deletes everything  # doctest: +SKIP
        """


def _day_of(ts: Any, tz: str) -> dt.date:
    """The day of serenity's ``BiTimestamp`` (this module's, or one like it), or a clear error for anything else."""
    if isinstance(ts, NativeBiTimestamp) or not callable(getattr(ts, "as_at", None)):
        kind = "tickstore_core.BiTimestamp" if isinstance(ts, NativeBiTimestamp) else type(ts).__name__
        raise InvalidInputError(
            f"serenity's insert and delete take tickstore_core.compat.serenity.BiTimestamp, got a {kind}; "
            "e.g. BiTimestamp(datetime.date(2020, 5, 11)), from the same module as the store"
        )
    return to_day(ts.as_at(), tz)
