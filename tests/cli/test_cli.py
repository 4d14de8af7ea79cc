"""The `tickstore` console script, run for real against a local store and the emulator-backed ones."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

import pandas as pd
import pytest

from tickstore_core import open_store
from tickstore_core.testing import make_ticks

TICKSTORE = shutil.which("tickstore", path=str(Path(sys.executable).parent))
DAY1, DAY2 = dt.date(2024, 3, 4), dt.date(2024, 3, 5)
# options that are credentials travel in the environment, like in production; the rest in the URL
SECRET_OPTIONS = {
    "aws_access_key_id": "AWS_ACCESS_KEY_ID",
    "aws_secret_access_key": "AWS_SECRET_ACCESS_KEY",
    "aws_session_token": "AWS_SESSION_TOKEN",
    "connection_string": "AZURE_STORAGE_CONNECTION_STRING",
}


class Cli:
    """Runs `tickstore --store URL ...` in a subprocess with the store's credentials in its environment."""

    def __init__(self, url: str, options: dict[str, str]) -> None:
        self.env = {**os.environ, "COLUMNS": "200"}
        query = {}
        for name, value in options.items():
            if name in SECRET_OPTIONS:
                self.env[SECRET_OPTIONS[name]] = str(value)
            else:
                query[name] = value
        self.url = f"{url}?{urlencode(query)}" if query else url
        self.options = options
        self.raw_url = url

    def __call__(self, *args: str, store: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
        assert TICKSTORE, "the tickstore console script is not installed in this environment"
        command = [TICKSTORE, "--no-progress", "--store", store or self.url, *args]
        result = subprocess.run(command, env=self.env, capture_output=True, text=True, timeout=300)
        if check and result.returncode != 0:
            raise AssertionError(f"{' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
        return result

    def store(self):
        return open_store(self.raw_url, **self.options)


@pytest.fixture
def cli(shared_store_location) -> Cli:
    return Cli(*shared_store_location())


@pytest.fixture
def ticks_file(tmp_path) -> Path:
    path = tmp_path / "ticks.csv"
    pd.concat([make_ticks(DAY1, 30), make_ticks(DAY2, 20, seed=1)]).to_csv(path)
    return path


def test_insert_ls_select_history_delete(cli, ticks_file, tmp_path):
    out = cli("insert", "BTCUSD", str(ticks_file)).stdout
    assert "2024-03-04 version 0: 30 rows" in out and "2024-03-05 version 0: 20 rows" in out
    correction = tmp_path / "fix.parquet"
    make_ticks(DAY1, 10, seed=5).to_parquet(correction)
    assert "version 1: 10 rows" in cli("insert", "BTCUSD", str(correction), "--day", "2024-03-04").stdout

    listing = cli("ls").stdout
    assert "BTCUSD" in listing and " 2 " in listing  # two days
    history = cli("history", "BTCUSD", "2024-03-04").stdout
    assert "1677-09-21" in history and "2262-04-11" in history  # beginning of time, until further notice

    out_file = tmp_path / "out.parquet"
    cli("select", "BTCUSD", "2024-03-04", "2024-03-05 23:59:59", "--columns", "price,side", "-o", str(out_file))
    selected = pd.read_parquet(out_file)
    assert list(selected.columns) == ["price", "side"] and len(selected) == 30
    with cli.store() as store:
        before = store.history("BTCUSD", DAY1)["end_time"].iloc[0] - pd.Timedelta(1)
    csv_file = tmp_path / "asof.csv"
    cli("select", "BTCUSD", "2024-03-04", "2024-03-04 23:59:59", "--as-of", before.isoformat(), "-o", str(csv_file))
    assert len(pd.read_csv(csv_file)) == 30
    printed = cli("select", "BTCUSD", "2024-03-05", "2024-03-05 01:00")
    assert "20 rows" not in printed.stderr and "rows" in printed.stderr

    assert "version 0 ended" in cli("delete", "BTCUSD", "2024-03-05").stdout
    assert "nothing current" in cli("delete", "BTCUSD", "2024-03-05").stdout


def test_fsck_and_gc(cli, ticks_file):
    cli("insert", "ETH", str(ticks_file))
    assert "0 orphans: ok" in cli("fsck", "--deep").stdout
    with cli.store() as store:
        key = store.history("ETH")["key"].iloc[0]
        day_dir = key.rsplit("/", 1)[0]
        orphan = f"{day_dir}/ETH_0009.h5" if store.layout.version_named else f"{day_dir}/orphan.parquet"
        store.backend.put(orphan, b"left behind by a crashed writer")
        data = bytearray(store.backend.get(key))
        data[len(data) // 2] ^= 0xFF
        store.backend.put(key, bytes(data))
    assert "1 orphans found" in cli("gc", "--grace", "0s").stderr
    assert f"removed {orphan}" in cli("gc", "--grace", "0s", "--delete").stdout
    assert "0 orphans found" in cli("gc", "--grace", "0s").stderr
    damaged = cli("fsck", "--deep", check=False)
    assert damaged.returncode == 1 and "fails its checksum" in damaged.stdout


def test_cache_commands(cli, ticks_file):
    cli("insert", "SOL", str(ticks_file))
    assert "bytes cached" in cli("cache", "prefetch", "SOL", "2024-03-04", "2024-03-06").stdout
    stats = cli("cache", "stats").stdout
    assert "hits" in stats and "size_limit" in stats
    assert "removed" in cli("cache", "clear").stdout


def test_copy_to_another_store_and_back_is_identical(cli, ticks_file, tmp_path):
    cli("insert", "BTCUSD", str(ticks_file))
    cli("delete", "BTCUSD", "2024-03-05")
    local = (tmp_path / "copy").as_uri()
    assert "copied 2 versions" in cli("copy", cli.url, local).stdout
    assert "already there" in cli("copy", cli.url, local).stdout
    with open_store(local) as copy, cli.store() as original:
        pd.testing.assert_frame_equal(
            copy.history("BTCUSD").drop(columns=["key", "checksum", "bytes", "schema"]),
            original.history("BTCUSD").drop(columns=["key", "checksum", "bytes", "schema"]),
        )


def test_errors_are_one_line_with_status_2(cli, tmp_path):
    result = cli("select", "../etc", "2024-01-01", "2024-01-02", check=False)
    assert result.returncode == 2 and result.stderr.startswith("error: symbol") and "Traceback" not in result.stderr
    missing = cli("insert", "X", str(tmp_path / "nope.csv"), check=False)
    assert missing.returncode == 2 and "does not exist" in missing.stderr
    unknown = cli("ls", store="gs://bucket/db", check=False)
    assert unknown.returncode == 2 and "installed schemes" in unknown.stderr


def test_demo_inserts_corrects_and_selects_as_of(cli):
    out = cli("demo", "--days", "2").stdout
    assert "inserted" in out and "corrected 2024-03-05: now version 1" in out
    assert "5-minute bars as of before the correction" in out and "5-minute bars now (corrected)" in out
    with cli.store() as store:
        assert store.days("BTCUSD") == [DAY1, DAY2] and len(store.history("BTCUSD", DAY2)) == 2


def test_backends_lists_the_installed_schemes(cli):
    out = cli("backends").stdout
    for scheme in ("file://", "s3://", "az://", "memory://"):
        assert scheme in out


# --- copy: a local HDF5 store to Azurite and back; a copy killed half-way, resumed ------------------

COPY_DAYS = [dt.date(2024, 3, 4) + dt.timedelta(days=n) for n in range(3)]


def _fill(url: str) -> None:
    """Three symbols with corrections and a delete, so every day has a history worth preserving."""
    with open_store(url) as store:
        for n, symbol in enumerate(["BTCUSD", "ETHUSD", "SOLUSD"]):
            for day in COPY_DAYS:
                store.insert(symbol, make_ticks(day, 200, seed=n))
            store.insert(symbol, make_ticks(COPY_DAYS[1], 150, seed=10 + n), day=COPY_DAYS[1])
            store.delete(symbol, COPY_DAYS[2])
            store.insert(symbol, make_ticks(COPY_DAYS[2], 50, seed=20 + n), day=COPY_DAYS[2])


def _same_everywhere(original, copy) -> None:
    """The same select for every symbol, day and as-of that existed (each change, just before and at it)."""
    assert copy.symbols() == original.symbols()
    for symbol in original.symbols():
        history = original.history(symbol)
        changes = [*history["start_time"][history["start_time"].dt.year > 1800], *history["end_time"]]
        moments = sorted({t + pd.Timedelta(d, "ns") for t in changes if t.year < 2200 for d in (-1, 0)})
        for as_of in [*moments, None]:
            for day in COPY_DAYS:
                start = pd.Timestamp(day, tz="UTC")
                expected = original.select(symbol, start, start + pd.Timedelta(hours=24), as_of=as_of)
                pd.testing.assert_frame_equal(
                    copy.select(symbol, start, start + pd.Timedelta(hours=24), as_of=as_of), expected
                )


def test_a_local_hdf5_store_copied_to_azure_and_back_is_identical(azure_store, tmp_path):
    local, back = (tmp_path / "raid").as_uri(), (tmp_path / "back").as_uri()
    _fill(local)
    cli = Cli(azure_store.url, azure_store.options)
    assert "copied 15 versions" in cli("copy", local, cli.url).stdout
    assert "copied 15 versions" in cli("copy", cli.url, back).stdout
    with open_store(local) as original, cli.store() as azure, open_store(back) as returned:
        _same_everywhere(original, azure)
        _same_everywhere(original, returned)


@pytest.mark.parametrize("kill_after", [1, 3])
def test_a_copy_killed_half_way_resumes_and_completes(azure_store, tmp_path, kill_after):
    local = (tmp_path / "raid").as_uri()
    _fill(local)
    cli = Cli(azure_store.url, azure_store.options)
    # the copy commits day by day; kill it (SIGKILL: no cleanup) once `kill_after` days are in
    copying = subprocess.Popen(
        [TICKSTORE, "--no-progress", "copy", local, cli.url], env=cli.env, stdout=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 60
    with cli.store() as azure:
        while copying.poll() is None and time.monotonic() < deadline:
            if sum(len(azure.history(s)) for s in azure.symbols()) >= kill_after:
                os.kill(copying.pid, signal.SIGKILL)
                break
            time.sleep(0.01)
    copying.wait(timeout=30)
    if copying.returncode == 0:
        pytest.fail("the copy finished before it could be interrupted; make the store bigger")
    resumed = cli("copy", local, cli.url).stdout
    assert "copied" in resumed
    with open_store(local) as original, cli.store() as azure:
        _same_everywhere(original, azure)
    assert "already there" in cli("copy", local, cli.url).stdout


# --- startup time ----------------------------------------------------------------------------------

HEAVY_MODULES = ("pandas", "numpy", "pyarrow")


def test_help_starts_fast_without_pandas_numpy_pyarrow():
    probe = (
        "import sys, tickstore_core, tickstore_core.cli\n"
        "try:\n    tickstore_core.cli.main(['--help'])\nexcept SystemExit:\n    pass\n"
        f"print([m for m in {HEAVY_MODULES!r} if m in sys.modules], file=sys.stderr)"
    )
    probed = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert probed.returncode == 0 and probed.stderr.strip() == "[]", probed.stderr
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        subprocess.run([TICKSTORE, "--help"], capture_output=True, check=True, timeout=60)
        timings.append(time.perf_counter() - started)
    print(f"tickstore --help: best of 3 {min(timings):.3f} s")
    assert min(timings) < 0.6, f"tickstore --help took {min(timings):.3f} s (target 0.3 s)"


def test_the_lazy_exports_still_work():
    import tickstore_core

    assert tickstore_core.Tickstore.__name__ == "Tickstore" and tickstore_core.Version.__name__ == "Version"
    assert tickstore_core.BiTimestamp.__name__ == "BiTimestamp"
    with pytest.raises(AttributeError):
        tickstore_core.NoSuchThing  # noqa: B018
