"""to_dask: one partition per day with known divisions, computed by a 2-worker LocalCluster."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from tickstore_core import open_store
from tickstore_core.testing import make_ticks

distributed = pytest.importorskip("distributed")
DAYS = [dt.date(2024, 3, d) for d in (4, 5, 6, 8)]


@pytest.fixture(scope="module")
def client():
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, host="127.0.0.1"
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


def _same_values(actual: pd.DataFrame, expected: pd.DataFrame) -> None:
    """Equal values and index; dask may hold strings in its own string dtype."""
    pd.testing.assert_frame_equal(actual, expected, check_dtype=False, check_index_type=True)


def test_to_dask_on_a_cluster_matches_select(shared_store_location, client):
    url, options = shared_store_location()
    with open_store(url, **options) as store:
        store.insert("BTCUSD", pd.concat([make_ticks(d, 300, seed=i) for i, d in enumerate(DAYS)]))
        before = pd.Timestamp.now(tz="UTC")
        store.insert("BTCUSD", make_ticks(DAYS[1], 50, seed=99), day=DAYS[1])

        frame = store.to_dask("BTCUSD")
        assert frame.npartitions == len(DAYS) and frame.known_divisions
        assert frame.divisions[:-1] == tuple(pd.Timestamp(d, tz="UTC") for d in DAYS)
        _same_values(client.compute(frame).result(), store.select("BTCUSD"))

        start, end = pd.Timestamp("2024-03-05 06:00", tz="UTC"), pd.Timestamp("2024-03-06 18:00", tz="UTC")
        ranged = store.to_dask("BTCUSD", start, end, as_of=before, columns=["price", "side"])
        assert ranged.npartitions == 2 and ranged.divisions[0] == start
        _same_values(
            client.compute(ranged).result(), store.select("BTCUSD", start, end, as_of=before, columns=["price", "side"])
        )
        daily = client.compute(frame["size"].resample("1D").sum()).result()
        assert len(daily) == (DAYS[-1] - DAYS[0]).days + 1
        assert store.to_dask("NONE").compute().empty


def test_to_dask_applies_filters_on_the_workers(shared_store_location, client):
    url, options = shared_store_location()
    with open_store(url, **options) as store:
        store.insert("BTCUSD", pd.concat([make_ticks(d, 200, seed=i) for i, d in enumerate(DAYS)]))
        filters = [[("side", "==", "buy"), ("size", ">", 0.3)], [("time", "<", "2024-03-04 06:00")]]
        frame = store.to_dask("BTCUSD", columns=["price"], filters=filters)
        expected = store.select("BTCUSD", columns=["price"], filters=filters)
        assert 0 < len(expected) < 800
        _same_values(client.compute(frame).result(), expected)
