"""Code written for serenity's tick store, run over ``tickstore_core.compat.serenity``.

The research script below uses serenity's API the way serenity's own tests and its notebooks do
(insert days through ``BiTimestamp``, correct one, delete one, select with and without
``as_of_time``, resample into bars); it runs unchanged on a ``LocalTickstore`` in a temporary
directory and on an ``AzureBlobTickstore`` against Azurite, and both give the answers computed
here from the inserted frames.
"""

from __future__ import annotations

import datetime
import inspect
import json
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from azure.storage.blob import BlobServiceClient

from tickstore_core import BiTimestamp as NativeBiTimestamp
from tickstore_core import InvalidInputError, InvalidTicksError
from tickstore_core.compat.serenity import AzureBlobTickstore, BiTimestamp, LocalTickstore, Tickstore

SERENITY_STORE = Path(__file__).parent.parent / "data" / "serenity"
DAYS = [datetime.date(2019, 10, 1), datetime.date(2019, 10, 2), datetime.date(2019, 10, 3)]
OpenTickstore = Callable[..., Tickstore]


def trades(day: datetime.date, rows: int, seed: int, column: str = "date") -> pd.DataFrame:
    """One day of trades as serenity stored them: naive UTC timestamps, price, qty and a string side."""
    rng = np.random.default_rng(seed)
    seconds = np.sort(rng.integers(1, 86_400, rows))
    index = pd.DatetimeIndex(pd.Timestamp(day) + pd.to_timedelta(seconds, unit="s"), name=column).as_unit("ns")
    return pd.DataFrame(
        {
            "price": 8000 + rng.normal(0, 5, rows).cumsum(),
            "qty": rng.integers(1, 500, rows),
            "side": rng.choice(["buy", "sell"], rows),
        },
        index=index,
    )


@pytest.fixture(params=["local", "azure"])
def open_tickstore(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[OpenTickstore]:
    """Opens (and reopens) one serenity-style store: a LocalTickstore, or an AzureBlobTickstore on Azurite."""
    if request.param == "local":
        yield lambda **kw: LocalTickstore(tmp_path / "COINBASE_PRO_TRADES", **kw)
        return
    connect_str = request.getfixturevalue("azurite")
    db_name = f"COINBASE_PRO_TRADES_{uuid.uuid4().hex[:12].upper()}"
    yield lambda **kw: AzureBlobTickstore(connect_str, db_name, cache_dir=tmp_path / "cache", **kw)
    client = BlobServiceClient.from_connection_string(connect_str)
    client.delete_container(db_name.replace("_", "-").lower())
    client.close()


def research(open_tickstore: OpenTickstore) -> dict[str, Any]:
    """A serenity notebook: load three days, correct one, delete one, read back, make bars."""
    tickstore = open_tickstore()
    for i, day in enumerate(DAYS):
        tickstore.insert("BTC-USD", BiTimestamp(day), trades(day, 200, seed=i))
        tickstore.insert("ETH-USD", BiTimestamp(day), trades(day, 50, seed=10 + i))
    tickstore.close()

    tickstore = open_tickstore()  # close and re-open, as serenity's own test does
    before_correction = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)  # naive UTC
    time.sleep(0.01)
    tickstore.insert("BTC-USD", BiTimestamp(DAYS[1]), trades(DAYS[1], 150, seed=99))
    tickstore.delete("BTC-USD", BiTimestamp(DAYS[2]))
    tickstore.delete("BTC-USD", BiTimestamp(datetime.date(2019, 10, 9)))  # never inserted: nothing happens

    start, end = datetime.datetime(2019, 10, 1), datetime.datetime(2019, 10, 3, 23, 59, 59)
    now = tickstore.select("BTC-USD", start, end)
    then = tickstore.select("BTC-USD", start, end, as_of_time=before_correction)
    first = tickstore.select("BTC-USD", start, end, as_of_time=BiTimestamp.start_as_of)
    latest = tickstore.select("BTC-USD", start, end, as_of_time=BiTimestamp.latest_as_of)
    morning = tickstore.select("ETH-USD", start=datetime.datetime(2019, 10, 2), end=datetime.datetime(2019, 10, 2, 12))
    unknown = tickstore.select("XRP-USD", start, end)

    bars = now["price"].resample("1h").ohlc()
    bars["close"] = bars["close"].ffill()
    bars["volume"] = now["qty"].resample("1h").sum()
    buys = now[now["side"] == "buy"]["qty"].sum()
    symbols = sorted(tickstore.symbols())
    tickstore.close()
    return locals()


def utc(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.tz_localize("UTC")


def test_serenity_research_code_gives_the_same_answers_on_local_and_azure(open_tickstore: OpenTickstore) -> None:
    got = research(open_tickstore)

    original = pd.concat([trades(day, 200, seed=i) for i, day in enumerate(DAYS)])
    corrected = pd.concat([trades(DAYS[0], 200, seed=0), trades(DAYS[1], 150, seed=99)])
    pd.testing.assert_frame_equal(got["now"], utc(corrected))
    pd.testing.assert_frame_equal(got["then"], utc(original))
    pd.testing.assert_frame_equal(got["first"], utc(original))  # the backfill is valid from the start of time
    pd.testing.assert_frame_equal(got["latest"], got["now"])
    eth = trades(DAYS[1], 50, seed=11)
    pd.testing.assert_frame_equal(got["morning"], utc(eth[eth.index <= datetime.datetime(2019, 10, 2, 12)]))
    assert got["unknown"].empty and isinstance(got["unknown"], pd.DataFrame)

    assert got["now"].index.name == "date" and str(got["now"].index.tz) == "UTC"
    expected_bars = utc(corrected)["price"].resample("1h").ohlc()
    pd.testing.assert_series_equal(got["bars"]["open"], expected_bars["open"])
    assert got["bars"]["volume"].sum() == corrected["qty"].sum()
    assert got["buys"] == corrected[corrected["side"] == "buy"]["qty"].sum()
    assert got["symbols"] == ["BTC-USD", "ETH-USD"]


def test_naive_switch_returns_naive_utc_for_code_that_compares_with_naive_datetimes(tmp_path: Path) -> None:
    ticks = trades(DAYS[0], 100, seed=1, column="time")
    tickstore = LocalTickstore(tmp_path / "db", timestamp_column="time")
    tickstore.insert("BTCUSD", BiTimestamp(DAYS[0]), ticks)
    aware = tickstore.select("BTCUSD", datetime.datetime(2019, 10, 1), datetime.datetime(2019, 10, 2))
    tickstore.close()
    with pytest.raises(TypeError):  # why the switch exists: aware results refuse naive comparisons
        aware.loc[datetime.datetime(2019, 10, 1, 12) :]

    tickstore = LocalTickstore(tmp_path / "db", "time", naive=True)
    naive = tickstore.select("BTCUSD", datetime.datetime(2019, 10, 1), datetime.datetime(2019, 10, 2))
    tickstore.close()
    pd.testing.assert_frame_equal(naive, ticks)
    pd.testing.assert_frame_equal(naive.loc[datetime.datetime(2019, 10, 1, 12) :], ticks.loc["2019-10-01 12:00":])


@pytest.mark.parametrize(
    ("function", "expected"),
    [
        (LocalTickstore.__init__, ["self", "base_path", "timestamp_column='date'"]),
        (AzureBlobTickstore.__init__, ["self", "credential", "db_name", "cache_dir=None", "timestamp_column='date'"]),
        (Tickstore.select, ["self", "symbol", "start", "end", f"as_of_time={BiTimestamp.latest_as_of!r}"]),
        (Tickstore.insert, ["self", "symbol", "ts", "ticks"]),
        (Tickstore.delete, ["self", "symbol", "ts"]),
        (BiTimestamp.__init__, ["self", "as_at_date", f"as_of_time={BiTimestamp.latest_as_of!r}"]),
    ],
    ids=["LocalTickstore", "AzureBlobTickstore", "select", "insert", "delete", "BiTimestamp"],
)
def test_positional_parameters_are_serenitys(function: Callable[..., Any], expected: list[str]) -> None:
    """Names, order and defaults as in serenity's api.py, so positional and keyword calls both carry over."""
    parameters = inspect.signature(function).parameters.values()
    positional = [p for p in parameters if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD]
    shown = [p.name if p.default is inspect.Parameter.empty else f"{p.name}={p.default!r}" for p in positional]
    assert shown == expected


def test_bitimestamp_behaves_like_serenitys_and_converts_to_the_native_one() -> None:
    day = datetime.date(2020, 5, 11)
    ts = BiTimestamp(day)
    assert ts.as_at() == day and ts.as_of() == BiTimestamp.latest_as_of
    assert BiTimestamp.latest_as_of == pd.Timestamp.max.to_pydatetime(warn=False)
    assert BiTimestamp.start_as_of == pd.Timestamp.min.to_pydatetime(warn=False)
    assert str(ts) == str((day, BiTimestamp.latest_as_of))
    assert ts.to_native() == NativeBiTimestamp(day)
    as_of = datetime.datetime(2020, 5, 12, 9, 30)  # naive: UTC
    assert BiTimestamp(day, as_of).to_native() == NativeBiTimestamp(day, pd.Timestamp("2020-05-12 09:30", tz="UTC"))
    assert BiTimestamp(pd.Timestamp("2020-05-11")).to_native().as_at == day  # serenity's index hands out Timestamps


def test_insert_records_now_and_ignores_the_as_of_time_as_serenity_did(tmp_path: Path) -> None:
    tickstore = LocalTickstore(tmp_path / "db")
    tickstore.insert("BTCUSD", BiTimestamp(DAYS[0]), trades(DAYS[0], 10, seed=1))
    before = pd.Timestamp.now(tz="UTC")
    tickstore.insert("BTCUSD", BiTimestamp(DAYS[0], datetime.datetime(2019, 10, 1)), trades(DAYS[0], 5, seed=2))
    history = tickstore.store.history("BTCUSD")
    tickstore.close()
    assert history["version"].tolist() == [0, 1]
    assert history["start_time"].iloc[1] >= before


def test_ticks_outside_the_bitimestamps_day_are_refused_with_a_way_out(tmp_path: Path) -> None:
    tickstore = LocalTickstore(tmp_path / "db")
    two_days = pd.concat([trades(DAYS[0], 10, seed=1), trades(DAYS[1], 10, seed=2)])
    with pytest.raises(InvalidTicksError, match=r"BiTimestamp\(2019-10-01\) also fall on 2019-10-02.*own BiTimestamp"):
        tickstore.insert("BTCUSD", BiTimestamp(DAYS[0]), two_days)
    assert tickstore.symbols() == []
    tickstore.close()


def test_azure_store_lives_in_serenitys_container(azurite: str, tmp_path: Path) -> None:
    db_name = f"PHEMEX_TRADES_{uuid.uuid4().hex[:8].upper()}"
    tickstore = AzureBlobTickstore(azurite, db_name, cache_dir=tmp_path / "cache", timestamp_column="time")
    tickstore.insert("BTCUSD", BiTimestamp(DAYS[0]), trades(DAYS[0], 10, seed=1, column="time"))
    tickstore.destroy()  # a no-op, as in serenity: the archive stays
    tickstore.close()
    client = BlobServiceClient.from_connection_string(azurite)
    container = client.get_container_client(db_name.replace("_", "-").lower())
    try:
        assert container.exists() and any(container.list_blobs())
    finally:
        container.delete_container()
        client.close()


def test_local_destroy_removes_the_store_even_after_close(tmp_path: Path) -> None:
    tickstore = LocalTickstore(tmp_path / "db")
    tickstore.insert("BTCUSD", BiTimestamp(DAYS[0]), trades(DAYS[0], 10, seed=1))
    tickstore.close()
    tickstore.destroy()  # serenity's own test closes first, then destroys
    assert not (tmp_path / "db").exists()


def test_opens_the_store_serenity_wrote_and_answers_as_serenity(tmp_path: Path) -> None:
    written = json.loads((SERENITY_STORE / "WRITTEN.json").read_text())
    base_path = tmp_path / "PHEMEX_TRADES"
    shutil.copytree(SERENITY_STORE / "PHEMEX_TRADES", base_path)
    start, end = datetime.datetime(2020, 5, 11), datetime.datetime(2020, 5, 13, 23, 59, 59)
    before_correction = datetime.datetime.fromisoformat(written["before_correction"])
    before_delete = datetime.datetime.fromisoformat(written["before_delete"])

    tickstore = LocalTickstore(base_path, timestamp_column="time")
    assert sorted(tickstore.symbols()) == ["BTCUSD", "ETHUSD"]
    btc = tickstore.select("BTCUSD", start, end)
    assert len(btc) == 120 + 100 + 120
    assert len(tickstore.select("BTCUSD", start, end, as_of_time=before_correction)) == 3 * 120
    assert set(btc["side"]) == {"Buy", "Sell"} and btc.index.is_monotonic_increasing
    assert len(tickstore.select("ETHUSD", start, end)) == 2 * 80  # the delete is recorded only in index.h5
    assert len(tickstore.select("ETHUSD", start, end, as_of_time=before_delete)) == 3 * 80
    tickstore.close()


@pytest.mark.parametrize(
    "stamp", [NativeBiTimestamp(datetime.date(2021, 3, 1)), datetime.date(2021, 3, 1), "2021-03-01"]
)
def test_insert_and_delete_given_anything_but_serenitys_bitimestamp_say_which_to_use(
    tmp_path: Path, stamp: Any
) -> None:
    store = LocalTickstore(tmp_path / "db", timestamp_column="time")
    ticks = pd.DataFrame({"p": [1.0]}, index=pd.DatetimeIndex(["2021-03-01 10:00"], tz="UTC", name="time"))
    for call in (lambda: store.insert("U", stamp, ticks), lambda: store.delete("U", stamp)):
        with pytest.raises(InvalidInputError, match=r"take tickstore_core\.compat\.serenity\.BiTimestamp"):
            call()
    store.insert("U", BiTimestamp(datetime.date(2021, 3, 1)), ticks)
    assert len(store.select("U", datetime.datetime(2021, 3, 1), datetime.datetime(2021, 3, 2))) == 1
