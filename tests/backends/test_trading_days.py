"""The trading day in a store with a time zone: one rule for days, bounds and the time range, on every backend."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from tickstore_core import BiTimestamp, open_store
from tickstore_core.errors import InvalidTicksError

NY = "America/New_York"


def _local_ticks(day: str, hours: list[float], tz: str = NY) -> pd.DataFrame:
    """Ticks at ``hours`` after local midnight of ``day`` (hours past 24 fall on the next days)."""
    midnight = pd.Timestamp(day).tz_localize(tz)
    index = pd.DatetimeIndex([midnight + pd.Timedelta(hours=h) for h in hours]).tz_convert("UTC")
    return pd.DataFrame({"price": np.arange(len(hours), dtype=float) + 1}, index=index.rename("time"))


@pytest.fixture
def ny_store(store_location):
    url, options = store_location()
    with open_store(url, tz=NY, **options) as store:
        yield store


def test_a_bitimestamp_of_an_aware_timestamp_means_the_stores_trading_day(ny_store):
    late = pd.Timestamp("2024-03-05 01:00", tz="UTC")  # still 2024-03-04 in New York
    ticks = _local_ticks("2024-03-04", [10, 15])
    (plain,) = ny_store.insert("P", ticks, day=late)
    (bitemporal,) = ny_store.insert("B", ticks, day=BiTimestamp(late, as_of=pd.Timestamp("2024-03-05 02:00", tz="UTC")))
    assert plain.day == bitemporal.day == dt.date(2024, 3, 4)
    assert BiTimestamp(late).as_at == late  # kept as given: the store decides the day
    history = ny_store.history("B", BiTimestamp(late))
    assert history["day"].tolist() == [dt.date(2024, 3, 4)]
    ended = ny_store.delete("B", BiTimestamp(late, as_of=pd.Timestamp("2024-03-06", tz="UTC")))
    assert ended is not None and ended.day == dt.date(2024, 3, 4)
    assert BiTimestamp(pd.Timestamp("2024-03-05 01:00", tz="UTC")) == BiTimestamp(late)
    assert BiTimestamp("2024-03-04").as_at == dt.date(2024, 3, 4)


def _half_hourly(start: str, end: str) -> pd.DataFrame:
    index = pd.date_range(start, end, freq="30min", tz="UTC", inclusive="left", name="time").as_unit("ns")
    return pd.DataFrame({"price": np.arange(len(index), dtype=float)}, index=index)


@pytest.fixture
def ny_ticks(ny_store):
    ticks = pd.concat(
        [
            _half_hourly("2024-03-08", "2024-03-13"),  # spring forward on 2024-03-10: a 23-hour day
            _half_hourly("2024-03-30", "2024-04-03"),  # a month end
            _half_hourly("2024-11-01", "2024-11-06"),  # fall back on 2024-11-03: a 25-hour day
        ]
    )
    ny_store.insert("X", ticks)
    return ticks


def _same_times(got: pd.DataFrame, expected: pd.DataFrame) -> None:
    assert [t.value for t in got.index] == [t.value for t in expected.index]


def _on_local(ticks: pd.DataFrame, test: object) -> pd.DataFrame:
    local = ticks.index.tz_convert(NY)
    return ticks[[test(stamp) for stamp in local]]  # type: ignore[operator]


@pytest.mark.parametrize(
    ("day", "hours"),
    [("2024-03-09", 24), ("2024-03-10", 23), ("2024-03-11", 24), ("2024-11-03", 25), ("2024-11-04", 24)],
)
def test_a_date_only_bound_means_the_stores_trading_day_across_dst(ny_store, ny_ticks, day, hours):
    expected = _on_local(ny_ticks, lambda t: t.date() == dt.date.fromisoformat(day))
    assert len(expected) == 2 * hours
    for bounds in [(day, day), (dt.date.fromisoformat(day), dt.date.fromisoformat(day))]:
        got = ny_store.select("X", *bounds)
        _same_times(got, expected)
        assert str(got.index.tz) == NY
    assert dt.date.fromisoformat(day) in ny_store.days("X")


def test_a_date_only_month_bound_means_the_stores_trading_month(ny_store, ny_ticks):
    got = ny_store.select("X", "2024-03", "2024-03")
    expected = _on_local(ny_ticks, lambda t: (t.year, t.month) == (2024, 3))
    _same_times(got, expected)
    first_april = ny_store.select("X", "2024-04-01", "2024-04-01")
    assert first_april.index[0] == pd.Timestamp("2024-04-01", tz=NY)


def test_full_timestamps_keep_their_meaning_in_a_store_with_a_time_zone(ny_store, ny_ticks):
    naive = ny_store.select("X", "2024-03-10 00:00", "2024-03-10 04:00")  # naive: UTC; the end covers its minute
    expected = ny_ticks.loc["2024-03-10 00:00":"2024-03-10 04:00"]
    _same_times(naive, expected)
    start = pd.Timestamp("2024-03-10", tz=NY)
    aware = ny_store.select("X", start, start + pd.Timedelta(hours=2))
    assert aware.index[0] == start and aware.index[-1] == start + pd.Timedelta(hours=2)
    midnight_utc = ny_store.select("X", pd.Timestamp("2024-03-10"), pd.Timestamp("2024-03-10 01:00"))
    assert midnight_utc.index[0] == pd.Timestamp("2024-03-10", tz="UTC")


def test_a_utc_store_keeps_utc_days(store_location):
    url, options = store_location()
    with open_store(url, **options) as store:
        ticks = _half_hourly("2024-03-09", "2024-03-12")
        store.insert("X", ticks)
        got = store.select("X", "2024-03-10", "2024-03-10")
        _same_times(got, ticks.loc["2024-03-10"])


EXTREMES = {
    "max naive": pd.DatetimeIndex([pd.Timestamp.max]),
    "max aware": pd.DatetimeIndex([pd.Timestamp.max]).tz_localize("UTC").tz_convert("Etc/GMT+5"),
    "min naive": pd.DatetimeIndex([pd.Timestamp.min]),
    "min aware": pd.DatetimeIndex([pd.Timestamp.min]).tz_localize("UTC").tz_convert("Etc/GMT-5"),
}


@pytest.mark.parametrize("zone", ["UTC", NY, "Pacific/Kiritimati"])
@pytest.mark.parametrize("extreme", list(EXTREMES))
def test_ticks_at_the_ends_of_the_time_range_are_refused_at_insert(store_location, zone, extreme):
    url, options = store_location()
    with open_store(url, tz=zone, **options) as store:
        ticks = pd.DataFrame({"price": [1.0, 2.0]}, index=EXTREMES[extreme].append(EXTREMES[extreme]))
        with pytest.raises(InvalidTicksError, match=r"outside the supported range.*1677-09-22 \.\. 2262-04-10"):
            store.insert("X", ticks)
        index = EXTREMES[extreme].tz_localize("UTC") if EXTREMES[extreme].tz is None else EXTREMES[extreme]
        extreme_tick = pd.DataFrame({"price": [3.0]}, index=index.tz_convert("UTC").rename("time"))
        with pytest.raises(InvalidTicksError, match="outside the supported range"):  # among good ticks
            store.insert("X", pd.concat([_half_hourly("2024-03-04", "2024-03-05"), extreme_tick]))
        assert not [m for m in store.backend.list("") if "X" in m.key]  # nothing written


@pytest.mark.parametrize("zone", ["UTC", NY, "Pacific/Kiritimati"])
def test_the_first_and_last_supported_days_can_be_inserted_selected_and_deleted(store_location, zone):
    url, options = store_location()
    with open_store(url, tz=zone, **options) as store:
        first = pd.Timestamp("1677-09-22").tz_localize(zone)
        last = pd.Timestamp("2262-04-11").tz_localize(zone) - pd.Timedelta(1, "ns")
        ticks = pd.DataFrame({"price": [1.0, 2.0]}, index=pd.DatetimeIndex([first, last]).tz_convert("UTC"))
        days = [v.day for v in store.insert("X", ticks)]
        assert days == [dt.date(1677, 9, 22), dt.date(2262, 4, 10)]
        assert store.select("X", "1677-09-22", "1677-09-22").index.tolist() == [first]
        assert store.select("X", "2262-04-10", "2262-04-10").index.tolist() == [last]
        assert len(store.select("X")) == 2
        assert store.delete("X", "2262-04-10") is not None and store.delete("X", "1677-09-22") is not None
        assert store.select("X").empty
