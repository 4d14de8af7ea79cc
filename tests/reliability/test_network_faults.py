"""A store whose network misbehaves: a fault proxy between it and moto_server or Azurite.

With delays everything works, only slower. With connections reset or dropped at random (before
the request reaches the emulator, or after the emulator did the work but before the reply
arrives), every operation either succeeds, through the SDK's retries and the core's
compare-and-swap, or fails with a :class:`~tickstore_core.TickstoreError` that names the store and
holds no secret; and once the network is healthy again the store is consistent: every committed
version reads back exactly as inserted, no insert is committed twice, ``fsck`` finds no problem
(orphan objects aside). With the emulator gone, cached data still reads (offline mode) and an
insert fails at once with a clear error.
"""

from __future__ import annotations

import datetime as dt
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pandas as pd
import pytest

from emulators.azurite import ACCOUNT_KEY, connection_string
from emulators.faultproxy import FaultProxy
from tickstore_core import BackendError, OfflineWarning, TickstoreError, Version, open_store
from tickstore_core.maintenance import fsck
from tickstore_core.store import Tickstore
from tickstore_core.testing import make_ticks

SYMBOL = "NET"
D1, D2 = dt.date(2024, 3, 4), dt.date(2024, 3, 5)
ROWS = 200
S3_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"  # AWS's documentation example, never a real key
FAST_FAIL = {"connect_timeout": 1.0, "read_timeout": 2.0}


@dataclass
class Proxied:
    """A fresh store on an emulator, reached through ``proxy``."""

    url: str
    options: dict[str, Any]
    proxy: FaultProxy
    secrets: tuple[str, ...]

    @property
    def scheme(self) -> str:
        return self.url.split("://")[0] + "://"

    def open(self, cache_dir: Path, **options: Any) -> Tickstore:
        return open_store(self.url, cache_dir=str(cache_dir), index_ttl=0, **{**self.options, **options})


@pytest.fixture(params=["s3", "azure"])
def proxied(request: pytest.FixtureRequest) -> Iterator[Proxied]:
    emulated = request.getfixturevalue("s3_store" if request.param == "s3" else "azure_store")
    if request.param == "s3":
        port = urlsplit(emulated.options["endpoint_url"]).port
        with FaultProxy(port) as proxy:
            options = {**emulated.options, "endpoint_url": proxy.url, "aws_secret_access_key": S3_SECRET}
            yield Proxied(emulated.url, {**options, **FAST_FAIL, "retries": 2}, proxy, (S3_SECRET,))
    else:
        endpoint = next(p for p in emulated.options["connection_string"].split(";") if p.startswith("BlobEndpoint="))
        with FaultProxy(urlsplit(endpoint.partition("=")[2]).port) as proxy:
            options = {"connection_string": connection_string(proxy.port)}
            yield Proxied(emulated.url, {**options, **FAST_FAIL, "retries": 2}, proxy, (ACCOUNT_KEY,))


def ticks(seed: int, days: tuple[dt.date, ...] = (D1, D2)) -> pd.DataFrame:
    """ROWS ticks on each day; the trade ids tell the seed (``id // 1_000_000``)."""
    return pd.concat([make_ticks(day, ROWS, seed=seed) for day in days])


def check_error(error: BaseException, where: Proxied) -> None:
    """A failure must be ours, say the network failed (not that another writer won or data is damaged),
    name the store, and hold no secret."""
    assert isinstance(error, TickstoreError), f"{type(error).__name__} is not a TickstoreError: {error}"
    assert isinstance(error, BackendError), f"a network fault reported as {type(error).__name__}: {error}"
    message = str(error)
    assert where.scheme in message, f"the message does not name the store: {message}"
    for secret in where.secrets:
        assert secret not in message
    assert "AccountKey=" not in message and "sig=" not in message


def check_select(frame: pd.DataFrame) -> None:
    """A select is complete versions of whichever inserts it saw, never a mix or a fragment."""
    for day, part in frame.groupby(frame.index.floor("D")):
        seed = int(part["trade_id"].iloc[0]) // 1_000_000
        pd.testing.assert_frame_equal(part, make_ticks(day.date(), ROWS, seed=seed), check_freq=False)


def check_consistent(store: Tickstore, committed: dict[int, list[Version]]) -> None:
    """After the faults: every version reads back as inserted, returned versions are there, none twice."""
    store.flush()
    history = store.history(SYMBOL)
    assert history["key"].is_unique, "an insert was committed twice"
    keys = set(history["key"])
    for seed, versions in committed.items():
        assert {v.key for v in versions} <= keys, f"insert {seed} returned versions that are not in the history"
    seen: dict[int, set[dt.date]] = {}
    for row in history.itertuples():
        as_of = row.start_time if row.version else row.end_time - pd.Timedelta(1, "ns")
        start = pd.Timestamp(row.day, tz="UTC")
        got = store.select(SYMBOL, start, start + pd.Timedelta(days=1) - pd.Timedelta(1, "ns"), as_of=as_of)
        seed = int(got["trade_id"].iloc[0]) // 1_000_000
        pd.testing.assert_frame_equal(got, make_ticks(row.day, ROWS, seed=seed), check_freq=False)
        seen.setdefault(seed, set()).add(row.day)
    assert all(days == {D1, D2} for days in seen.values()), f"an insert was committed on one day only: {seen}"
    report = fsck(store, deep=True, grace=dt.timedelta(0))
    assert report.ok, report.problems


def test_delays_slow_the_store_down_and_nothing_else(proxied: Proxied, tmp_path: Path) -> None:
    patient = {"read_timeout": 15.0}  # only the middle store's timeout is under test; CI machines stall
    proxied.proxy.set("delay", delay_ms=20)
    with proxied.open(tmp_path / "cache", **patient) as store:
        committed = {seed: store.insert(SYMBOL, ticks(seed)) for seed in (1, 2)}
        check_select(store.select(SYMBOL))
        assert len(store.history(SYMBOL)) == 4
        assert proxied.proxy.stats["delayed"] > 0
    proxied.proxy.set("pass")
    with proxied.open(tmp_path / "cache", read_timeout=0.5, retries=0) as store:
        proxied.proxy.set("delay", delay_ms=1000)  # longer than read_timeout
        began = time.monotonic()
        with pytest.raises(TickstoreError) as raised:
            store.insert(SYMBOL, ticks(3))
        assert time.monotonic() - began < 3
        check_error(raised.value, proxied)
    proxied.proxy.set("pass")
    time.sleep(1.5)  # the delayed requests reach the emulator after all, as on a real network
    with proxied.open(tmp_path / "fresh-cache", **patient) as store:
        check_consistent(store, committed)


@pytest.mark.parametrize(("fault", "on"), [("reset", "request"), ("reset", "response"), ("drop", "response")])
def test_intermittent_connection_faults_never_break_the_store(
    proxied: Proxied, tmp_path: Path, fault: Any, on: Any
) -> None:
    committed: dict[int, list[Version]] = {}
    with proxied.open(tmp_path / "cache") as store:
        committed[1] = store.insert(SYMBOL, ticks(1))
        proxied.proxy.set(fault, rate=0.2, on=on)
        for seed in range(2, 8):
            try:
                committed[seed] = store.insert(SYMBOL, ticks(seed))
            except Exception as exc:  # noqa: BLE001 - checked right below
                check_error(exc, proxied)
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", OfflineWarning)  # an index from the cache is fine
                    check_select(store.select(SYMBOL))
            except Exception as exc:  # noqa: BLE001 - checked right below
                check_error(exc, proxied)
        hits = proxied.proxy.stats["reset" if fault == "reset" else "dropped"]
        proxied.proxy.set("pass")
    assert hits > 0, "no fault was injected; the test proved nothing"
    with proxied.open(tmp_path / "fresh-cache", read_timeout=15.0) as store:  # the check, not under test: CI stalls
        check_consistent(store, committed)


def test_with_the_emulator_gone_cached_data_reads_and_inserts_fail_fast(proxied: Proxied, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    with proxied.open(cache) as store:
        store.insert(SYMBOL, ticks(1))
        expected = store.select(SYMBOL)
    proxied.proxy.set("refuse")
    with pytest.warns(OfflineWarning, match="cannot be reached"), proxied.open(cache, retries=0) as store:
        pd.testing.assert_frame_equal(store.select(SYMBOL), expected)
        began = time.monotonic()
        with pytest.raises(TickstoreError) as raised:
            store.insert(SYMBOL, ticks(2))
        assert time.monotonic() - began < 5
        check_error(raised.value, proxied)
        assert "cannot reach" in str(raised.value)
    proxied.proxy.set("pass")
    with proxied.open(tmp_path / "fresh-cache") as store:
        check_consistent(store, {})
        assert len(store.history(SYMBOL)) == 2


def test_retries_pause_briefly_then_fail_clearly(proxied: Proxied, tmp_path: Path) -> None:
    """Every connection reset: two retries take seconds, not tens of seconds, and the error is clear."""
    with proxied.open(tmp_path / "cache", cache=False) as store:
        store.insert(SYMBOL, ticks(1))
        proxied.proxy.set("reset")
        began = time.monotonic()
        with pytest.raises(TickstoreError) as raised:
            store.select(SYMBOL)
        assert time.monotonic() - began < 4  # pauses of up to 1 s and 2 s (Azure's SDK default: 2-4 s, 4-6 s)
        check_error(raised.value, proxied)
        assert proxied.proxy.stats["reset"] == 3  # the first attempt and two retries
