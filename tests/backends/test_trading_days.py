"""The trading day in a store with a time zone: one rule for days, bounds and the time range, on every backend."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from tickstore_core import BiTimestamp, open_store

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
