"""Time handling: valid-time days, transaction times and the :class:`BiTimestamp` pair.

Transaction times are integers of nanoseconds since the epoch, UTC. ``TIME_MIN`` stands for "the
beginning of time" (the start of a partition's first version) and ``TIME_MAX`` for "until further
notice" (the end of a current version). Naive timestamps are UTC everywhere.
"""

from __future__ import annotations

import datetime as dt
import functools
import numbers
import time
import warnings
import zoneinfo
from dataclasses import dataclass
from typing import Any, TypeAlias, cast

import numpy as np
import pandas as pd

from .errors import ConfigError, InvalidInputError, InvalidTimeError

__all__ = [
    "TIME_MAX",
    "TIME_MIN",
    "BiTimestamp",
    "DayLike",
    "TimeLike",
    "check_tz",
    "now_ns",
    "span_ns",
    "to_day",
    "to_duration",
    "to_utc_end_ns",
    "to_utc_ns",
]

TIME_MIN: int = int(pd.Timestamp.min.value)
TIME_MAX: int = int(pd.Timestamp.max.value)
NS_PER_DAY = 86_400 * 1_000_000_000

TimeLike: TypeAlias = "dt.datetime | dt.date | pd.Timestamp | str | int | float"
DayLike: TypeAlias = "dt.date | dt.datetime | pd.Timestamp | str | BiTimestamp"


@dataclass(frozen=True)
class BiTimestamp:
    """A valid-time day (``as_at``) and, optionally, the transaction time (``as_of``) of a change.

    Pass it as ``day=`` to `Tickstore.insert` or `Tickstore.delete` to record the change at an
    explicit transaction time instead of now, for example when replaying history (the ``as_of=``
    keyword does the same). Transaction time only moves forward: ``as_of`` must be later than the
    partition's last change.

    Parameters
    ----------
    as_at : date, str or timestamp
        The day, as ``day=`` means it: a date or ``YYYY-MM-DD`` string is that day; an aware
        timestamp is kept as given and means its trading day in the store's time zone (the store
        resolves it).
    as_of : timestamp, optional
        The transaction time of the change (naive means UTC); None means now.

    Examples
    --------
    >>> BiTimestamp(dt.date(2024, 1, 2), pd.Timestamp("2024-01-03 09:00", tz="UTC"))
    BiTimestamp(as_at=datetime.date(2024, 1, 2), as_of=Timestamp('2024-01-03 09:00:00+0000', tz='UTC'))
    """

    as_at: dt.date
    as_of: pd.Timestamp | None = None

    def __post_init__(self) -> None:
        aware = _aware_timestamp(self.as_at)
        object.__setattr__(self, "as_at", aware if aware is not None else to_day(self.as_at, "UTC"))
        if self.as_of is not None:
            object.__setattr__(self, "as_of", pd.Timestamp(to_utc_ns(self.as_of, "as_of"), tz="UTC"))


def check_tz(value: Any, where: str = "") -> str:
    """``value`` if it names a time zone of the IANA database (``"UTC"``, ``"America/New_York"``).

    Anything else (a number, which pandas would take as an offset in seconds, a fixed offset such
    as ``"+05:00"``, a tzinfo object) raises :class:`ConfigError`: the zone decides which trading day a
    tick belongs to and is saved with the store, so it must be a real, named zone. ``where`` says
    where the value came from, for the message.
    """
    if isinstance(value, str) and _is_zone_name(value):
        return value
    origin = f" ({where})" if where else ""
    raise ConfigError(
        f"tz={value!r}{origin} is not a time zone; use an IANA time zone name such as 'UTC', "
        "'America/New_York' or 'Europe/London'"
    )


@functools.lru_cache(maxsize=64)
def _is_zone_name(name: str) -> bool:
    if name == "UTC":
        return True
    if not name or name.startswith(("/", ".")) or "\\" in name or name in ("localtime", "posixrules"):
        return False  # the last two are this machine's zone (a link to /etc/localtime), not one zone everywhere
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


def now_ns() -> int:
    """The current transaction time."""
    return time.time_ns()


def to_timestamp(value: Any, what: str) -> pd.Timestamp:
    """Parse ``value`` as a UTC timestamp with nanosecond unit; naive means UTC."""
    if isinstance(value, bool) or value is None:
        raise InvalidTimeError(f"{what} must be a timestamp, got {value!r}")
    if isinstance(value, numbers.Real) and abs(float(value)) < 366 * NS_PER_DAY:  # 20240304 or epoch seconds: a slip
        raise InvalidTimeError(
            f"{what}={value!r} is a number, read as nanoseconds since 1970-01-01 UTC: a time in 1970; write a "
            "date or timestamp ('2024-03-04 09:30'), or pd.Timestamp(x, unit='s') for seconds since the epoch"
        )
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError, OverflowError) as exc:
        raise InvalidTimeError(
            f"{what}={value!r} is not a timestamp pandas understands (e.g. '2024-01-02 09:30' or a "
            f"datetime), or is outside {pd.Timestamp.min} .. {pd.Timestamp.max}"
        ) from exc
    if stamp is pd.NaT:
        raise InvalidTimeError(f"{what} must be a timestamp, got {value!r}")
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    try:
        return cast(pd.Timestamp, stamp.as_unit("ns"))
    except (ValueError, OverflowError) as exc:
        raise InvalidTimeError(
            f"{what}={value!r} is outside the nanosecond range {pd.Timestamp.min} .. {pd.Timestamp.max}"
        ) from exc


def to_utc_ns(value: Any, what: str, tz: str = "UTC") -> int:
    """``value`` as integer nanoseconds since the epoch, UTC.

    A timestamp keeps its meaning (naive is UTC). A date-only value (a ``datetime.date``, or a
    string naming a day, month or year: ``"2024-03-10"``, ``"2024-03"``) means the start of that
    calendar period in time zone ``tz``: local midnight, the store's trading day.
    """
    try:
        instant = int(to_timestamp(value, what).value)
        period = None if tz == "UTC" else _calendar_period(value)
        return instant if period is None else _local_start_ns(period.start_time, tz, what)
    except InvalidTimeError:
        if _ends_in_range(value):  # "1677": a year that starts before the first nanosecond pandas holds
            return TIME_MIN
        raise


def _ends_in_range(value: Any) -> bool:
    """Whether ``value`` is a date string naming a period (``"1677"``, ``"1677-09"``) that begins before the
    first nanosecond a pandas timestamp can hold and ends after it: as a start, it means from that nanosecond."""
    if not isinstance(value, str):
        return False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            period = pd.Period(value)
        if not isinstance(period, pd.Period):  # "": NaT
            return False
        return bool(period == pd.Period(pd.Timestamp.min, freq=period.freqstr))  # by ordinals: no timestamp before 1677
    except (ValueError, TypeError, OverflowError, pd.errors.OutOfBoundsDatetime):
        return False


def span_ns(start: Any, end: Any, tz: str = "UTC") -> tuple[int, int]:
    """The UTC bounds (inclusive, see `to_utc_end_ns`) of ``[start, end]``, None unbounded; a start after
    the end is an `InvalidTimeError`, as a reversed range is always a slip."""
    start_ns = TIME_MIN if start is None else to_utc_ns(start, "start", tz)
    end_ns = TIME_MAX if end is None else to_utc_end_ns(end, "end", tz)
    if start_ns > end_ns and not _days_skipped(start, end, tz):
        raise InvalidTimeError(f"start {format_ns(start_ns)} is after end {format_ns(end_ns)}")
    return start_ns, end_ns


def _days_skipped(start: Any, end: Any, tz: str) -> bool:
    """Whether calendar bounds in order (``"2011-12-30"`` .. ``"2011-12-30"``) came out reversed because a clock
    change skips the whole of them (Samoa's 2011-12-30): an empty range, not a slip."""
    first, last = _calendar_period(start), _calendar_period(end)
    if tz == "UTC" or first is None or last is None:
        return False
    return bool(first.start_time <= last.start_time)


def to_utc_end_ns(value: Any, what: str, tz: str = "UTC") -> int:
    """The last nanosecond ``value`` covers, for an inclusive end bound, as ``df.loc[:end]`` reads it.

    A date or a date string covers its whole day, ``"2024-03"`` its month (in time zone ``tz``:
    until the next local midnight), ``"2024-03-05 09:30"`` its minute (pandas' partial string
    indexing; naive is UTC); a full timestamp is that instant.
    """
    start = to_utc_ns(value, what)
    period = None if tz == "UTC" else _calendar_period(value)
    if period is not None:
        try:
            return _local_start_ns((period + 1).start_time, tz, what) - 1
        except (InvalidTimeError, OverflowError, pd.errors.OutOfBoundsDatetime):  # the period ends after 2262
            return TIME_MAX
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return min(start + NS_PER_DAY - 1, TIME_MAX)
    if not isinstance(value, str) or pd.Timestamp(value).tzinfo is not None:
        return start
    try:
        period = pd.Period(value)
        following = int((period + 1).start_time.as_unit("ns").value)
    except (OverflowError, pd.errors.OutOfBoundsDatetime):  # the period ends after 2262
        return TIME_MAX
    except (ValueError, TypeError):  # not a period pandas knows: take the instant
        return start
    if start != TIME_MIN and int(period.start_time.as_unit("ns").value) != start:  # TIME_MIN: began before 1677-09-21
        return start  # a form Period reads differently: take the instant
    return following - 1


def _calendar_period(value: Any) -> pd.Period | None:
    """The day, month or year a date-only bound names (a date, ``"2024-03-10"``, ``"2024-03"``), else None."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return pd.Period(value, freq="D")
    if not isinstance(value, str):
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pandas deprecates some period strings ('2024Q1'): then not a date
            stamp, period = pd.Timestamp(value), pd.Period(value)
        if stamp is pd.NaT or stamp.tzinfo is not None or period.start_time != stamp:
            return None
        if (period + 1).start_time - period.start_time < pd.Timedelta(days=1):
            return None  # an hour, a minute: a time, which keeps its UTC meaning
    except (ValueError, TypeError, OverflowError, pd.errors.OutOfBoundsDatetime):
        return None
    return period


def _local_start_ns(local: pd.Timestamp, tz: str, what: str) -> int:
    """The UTC nanosecond of the naive local time ``local`` in ``tz``; a time a clock change skips (a midnight
    skipped by DST, or Samoa's 2011-12-30, a whole day): the first instant after the gap."""
    try:
        stamp = local.tz_localize(tz, nonexistent="NaT", ambiguous=True)
        if not isinstance(stamp, pd.Timestamp):  # NaT: in a gap
            return _first_instant_at_or_after(local, tz)
        return int(stamp.tz_convert("UTC").as_unit("ns").value)
    except (OverflowError, pd.errors.OutOfBoundsDatetime) as exc:
        raise InvalidTimeError(f"{what}={local} in {tz} is outside {pd.Timestamp.min} .. {pd.Timestamp.max}") from exc


def _first_instant_at_or_after(local: pd.Timestamp, tz: str) -> int:
    """The first UTC instant whose wall clock in ``tz`` reads ``local`` or later, for a ``local`` in a gap.

    pandas' ``shift_forward`` put Samoa's 2011-12-30 at 01:00 on the 31st, an hour into the next day, whose
    ticks the 29th then read. UTC offsets lie within 16 hours and clock changes fall on whole seconds: a
    bisection over seconds finds the gap's end.
    """
    wanted = int(local.as_unit("ns").value)
    low, high = wanted // 10**9 - 16 * 3600, wanted // 10**9 + 16 * 3600  # wall(low) < local <= wall(high)
    while high - low > 1:
        middle = (low + high) // 2
        wall = pd.Timestamp(middle, unit="s", tz="UTC").tz_convert(tz).tz_localize(None)
        low, high = (low, middle) if int(wall.as_unit("ns").value) >= wanted else (middle, high)
    return high * 10**9


FIRST_DAY = dt.date(1677, 9, 22)
LAST_DAY = dt.date(2262, 4, 10)
"""The days whose every nanosecond a pandas timestamp can hold; no tick lies outside them."""


def _aware_timestamp(value: Any) -> pd.Timestamp | None:
    """``value`` as a timestamp if it is one with a time zone (a datetime or a string with an offset)."""
    if isinstance(value, dt.datetime):
        return pd.Timestamp(value) if value.tzinfo is not None else None
    if not isinstance(value, str):
        return None
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError, OverflowError):
        return None
    return stamp if stamp is not pd.NaT and stamp.tzinfo is not None else None


def to_day(value: Any, tz: str) -> dt.date:
    """A valid-time day: a date, a ``YYYY-MM-DD`` string, or an aware timestamp (its date in ``tz``).

    A naive timestamp is taken as its calendar date. A :class:`BiTimestamp` follows the same rule.
    """
    if isinstance(value, BiTimestamp):
        return to_day(value.as_at, tz)
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return _in_range(value)
    if isinstance(value, dt.datetime) and not isinstance(value, pd.Timestamp) and value.tzinfo is None:
        return _in_range(value.date())
    if isinstance(value, (int, float, np.number)):  # bool too: pandas would read a number as nanoseconds since 1970
        raise InvalidTimeError(f"day={value!r} is a number, not a day; pass a datetime.date or 'YYYY-MM-DD'")
    period = _calendar_period(value) if isinstance(value, str) else None
    if period is not None and (period + 1).start_time - period.start_time > pd.Timedelta(days=1):
        raise InvalidTimeError(
            f"day={value!r} names a {_PERIOD_NAMES.get(period.freqstr[0], 'period')} of days, not one day; "
            "pass a datetime.date or 'YYYY-MM-DD'"
        )
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError, OverflowError) as exc:
        raise InvalidTimeError(
            f"day={value!r} is not a day; pass a datetime.date or 'YYYY-MM-DD' between {FIRST_DAY} and {LAST_DAY}"
        ) from exc
    if stamp is pd.NaT:
        raise InvalidTimeError("day must be a date, got NaT")
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert(tz)
    return _in_range(dt.date(stamp.year, stamp.month, stamp.day))


def to_duration(value: Any, what: str) -> dt.timedelta:
    """A length of time of zero or more: a timedelta, a number of seconds, or a string pandas reads
    as one (``"1h"``, ``"30min"``, ``"2 days"``)."""
    length: Any = None
    if isinstance(value, str) and value.strip().replace(".", "", 1).isdigit():  # "30": seconds, not nanoseconds
        value = float(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool) and np.isfinite(value):
        length = pd.Timedelta(seconds=value)
    elif isinstance(value, (str, dt.timedelta, np.timedelta64)):
        try:
            length = pd.Timedelta(value)
        except (ValueError, TypeError, OverflowError):
            length = None
    if length is None or length is pd.NaT or length < pd.Timedelta(0):
        raise InvalidInputError(
            f"{what}={value!r} is not a length of time of 0 or more; pass a timedelta, a number of seconds, "
            "or a string such as '1h' or '30min'"
        )
    return cast(dt.timedelta, length.to_pytimedelta())


_PERIOD_NAMES = {"M": "month", "Y": "year", "A": "year", "Q": "quarter", "W": "week"}


def _in_range(day: dt.date) -> dt.date:
    if not FIRST_DAY <= day <= LAST_DAY:
        raise InvalidTimeError(f"day {day} can hold no ticks: days lie between {FIRST_DAY} and {LAST_DAY}")
    return day


@functools.lru_cache(maxsize=64)
def tick_range_ns(tz: str) -> tuple[int, int]:
    """The first and last nanosecond (UTC) a tick may have in a store in ``tz``: those of the days
    :data:`FIRST_DAY` .. :data:`LAST_DAY` there, so every tick's day can be selected and deleted."""
    first = _local_start_ns(pd.Timestamp(FIRST_DAY), tz, "day")
    last = _local_start_ns(pd.Timestamp(LAST_DAY + dt.timedelta(days=1)), tz, "day") - 1
    return first, last


def day_start_ns(day: dt.date, tz: str) -> int:
    """The first nanosecond of ``day`` in time zone ``tz``, as UTC nanoseconds (a midnight that daylight
    saving skips: the first instant after it; one it repeats: the first of the two)."""
    if tz == "UTC":
        return (day.toordinal() - _EPOCH_ORDINAL) * NS_PER_DAY
    return _zoned_day_start_ns(day, tz)


_EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()


@functools.lru_cache(maxsize=4096)
def _zoned_day_start_ns(day: dt.date, tz: str) -> int:
    return _local_start_ns(pd.Timestamp(day), tz, "day")


def format_ns(value: int | None) -> str:
    """A transaction time for messages: ISO UTC, or 'the beginning of time' / 'now on'."""
    if value is None:
        return "none"
    if value == TIME_MIN:
        return "the beginning of time"
    if value == TIME_MAX:
        return "until further notice"
    return str(pd.Timestamp(value, tz="UTC").isoformat())
