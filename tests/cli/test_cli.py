"""The `tickstore` console script, run for real against a local store and the emulator-backed ones."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlencode, urlsplit, urlunsplit

import pandas as pd
import pytest

from tickstore_core import InvalidURLError, open_store
from tickstore_core.cli import main
from tickstore_core.layout import summary_key, writer_token
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


class InProcess:
    """Runs `main([...])` in this process against one store, its credentials in the environment."""

    def __init__(self, location, capsys, monkeypatch) -> None:
        self.raw_url, self.options = location()
        query = {}
        for name, value in self.options.items():
            if name in SECRET_OPTIONS:
                monkeypatch.setenv(SECRET_OPTIONS[name], str(value))
            else:
                query[name] = value
        self.url = f"{self.raw_url}?{urlencode(query)}" if query else self.raw_url
        self.capsys = capsys

    def __call__(self, *args: str) -> tuple[int, str, str]:
        """(exit status, stdout, stderr) of `tickstore ARGS` (argparse's own exits included)."""
        self.capsys.readouterr()
        try:
            status = main(["--no-progress", *args])
        except SystemExit as exit:
            status = int(exit.code or 0)
        out, err = self.capsys.readouterr()
        return status, out, err

    def store(self):
        return open_store(self.raw_url, **self.options)


@pytest.fixture
def run(store_location, capsys, monkeypatch) -> InProcess:
    return InProcess(store_location, capsys, monkeypatch)


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
    assert "beginning of time" in history and "current" in history
    assert "1677-09" not in history and "2262-04" not in history  # not pandas' smallest and largest timestamps

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
    deep = cli("fsck", "--deep").stdout
    assert "2 versions, 2 objects' checksums verified, 0 orphans: ok" in deep
    shallow = cli("fsck").stdout  # a plain fsck says what it checked, not "0 objects verified"
    assert "presence and sizes checked" in shallow and "--deep" in shallow and "0 objects" not in shallow
    with cli.store() as store:
        key = store.history("ETH")["key"].iloc[0]
        day_dir = key.rsplit("/", 1)[0]
        orphan = f"{day_dir}/ETH_0009.h5" if store.layout.version_named else f"{day_dir}/{writer_token()}-0.parquet"
        store.backend.put(orphan, store.backend.get(key))  # as a crashed writer leaves it: tickstore's bytes
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
    assert (
        result.returncode == 2
        and result.stderr.startswith("tickstore: error: symbol")
        and "Traceback" not in result.stderr
    )
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


def _fill(url: str, symbols: tuple[str, ...] = ("BTCUSD", "ETHUSD", "SOLUSD")) -> None:
    """Symbols with corrections and a delete, so every day has a history worth preserving."""
    with open_store(url) as store:
        for n, symbol in enumerate(symbols):
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
    # enough symbols that the copy is still running when the poll below sees `kill_after` versions
    _fill(local, ("BTCUSD", "ETHUSD", "SOLUSD", "ADAUSD", "XRPUSD", "DOTUSD", "LTCUSD", "BCHUSD"))
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


# --- options, help and history readable by people --------------------------------------------------


def test_the_store_option_goes_before_or_after_the_command(run):
    with run.store() as store:
        store.insert("BTCUSD", make_ticks(DAY1, 5))
    for args in (["-s", run.url, "ls"], ["ls", "-s", run.url], ["ls", "--store", run.url], ["--store", run.url, "ls"]):
        status, out, err = run(*args)
        assert status == 0 and "BTCUSD" in out, (args, out, err)
    status, out, _ = run("history", "BTCUSD", "--store", run.url, "-v")
    assert status == 0 and "beginning of time" in out and "current" in out


def test_an_empty_tickstore_url_means_the_default_store(monkeypatch, tmp_path):
    monkeypatch.setattr("tickstore_core.config.default_store_path", lambda: tmp_path / "default")
    monkeypatch.setenv("TICKSTORE_URL", "")
    with open_store() as store:
        assert store.backend.url == (tmp_path / "default").as_uri()
        store.insert("X", make_ticks(DAY1, 3))
    assert main(["--no-progress", "ls"]) == 0
    assert main(["--no-progress", "--store", "", "ls"]) == 0


def test_help_is_plain_text_and_explains_the_time_formats(capsys):
    for args in (["--help"], ["select", "--help"], ["history", "--help"]):
        with pytest.raises(SystemExit) as exit:
            main(args)
        out = capsys.readouterr().out
        assert exit.value.code == 0
        assert "2024-03 " in out and "the whole month" in out and "inclusive" in out, out
        assert "``" not in out and ":func:" not in out
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "TICKSTORE_URL" in out and "before or after the command" in out and "tickstore: error:" in out


BAD_OPTIONS = {  # per backend: options in the URL query whose values are refused
    "memory": ["max_workers=a%20b", "cache=mayb%65"],
    "file": ["lock_timeout=x%2Fy", "fsync=per%20haps", "max_workers=a%20b"],
    "s3": ["retries=a%20b", "connect_timeout=-1", "addressing_style=side%2Fways"],
    "azure": ["retries=a%2Fb", "read_timeout=so%20on"],
}


def test_option_errors_have_one_format(store_location):
    url, options = store_location()
    backend = {"memory": "memory", "file": "file", "s3": "s3", "az": "azure"}[url.split("://")[0]]
    messages = []
    for query in ["nonsense=1&other=2", *BAD_OPTIONS[backend]]:
        with pytest.raises(InvalidURLError) as refused:
            open_store(f"{url}?{query}", **options)
        messages.append(str(refused.value))
    for keyword in ({"nonsense": 1}, {"max_workers": "a b"}, {"index_ttl": "soon"}):
        with pytest.raises(InvalidURLError) as refused:
            open_store(url, **options, **keyword)
        messages.append(str(refused.value))
    for message in messages:
        assert "[" not in message and "%" not in message, message  # no Python lists, no URL-encoded values
        assert message.startswith(
            ("option ", "unknown option(s) nonsense, other for the ", "unknown option(s) nonsense for the ")
        ), message
    assert any("must be an integer" in m for m in messages) and not any(" a int" in m for m in messages)
    with open_store(url, **options) as store:
        assert "%" not in store.backend.url and "%" not in repr(store)


# --- user errors: one line, the file, the line and what to fix ---------------------------------------

GOOD = b"time,price\n2024-03-04T00:00:01Z,1.5\n"
BAD_FILES = [
    ("bad_time.csv", GOOD + b"not-a-time,2\n", ["bad_time.csv line 3", "'not-a-time' is not a time", "ISO 8601"]),
    ("no_time.csv", GOOD + b",2\n", ["no_time.csv line 3", "time is empty"]),
    ("empty.csv", b"", ["empty.csv is empty", "header line"]),
    ("latin1.csv", GOOD + b"2024-03-04T00:00:02Z,\xe92\n", ["latin1.csv line 3", "0xe9 is not UTF-8", "save the file"]),
    (
        "quote.csv",
        GOOD + b'2024-03-04T00:00:02Z,"2\n2024-03-04T00:00:03Z,3\n',
        ["quote.csv is not a valid CSV", "quotes"],
    ),
    ("fields.csv", GOOD + b"2024-03-04T00:00:02Z,2,3\n", ["fields.csv", "line 3", "number of fields"]),
    ("junk.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe", ["junk.csv line 1", "not UTF-8"]),
    ("junk.parquet", b"PAR1 not really parquet", ["junk.parquet is not a readable Parquet file"]),
    ("empty.parquet", b"", ["empty.parquet is not a readable Parquet file"]),
    ("epoch.csv", b"time,price\n1709510401000,1\n", ["column time holds numbers", "--time-unit s, ms, us, ns"]),
]


@pytest.mark.parametrize("name, content, expected", BAD_FILES, ids=[f[0] for f in BAD_FILES])
def test_a_bad_input_file_is_one_line_naming_the_file_line_and_fix(tmp_path, capsys, name, content, expected):
    path = tmp_path / name
    path.write_bytes(content)
    status = main(["--no-progress", "-s", f"memory://bad-{name}", "insert", "X", str(path)])
    err = capsys.readouterr().err
    assert status == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert err.startswith("tickstore: error: ")
    for fragment in expected:
        assert fragment in err, err


def test_a_bad_time_in_a_parquet_file_names_its_row(tmp_path, capsys):
    path = tmp_path / "ticks.parquet"
    pd.DataFrame(
        {"time": ["2024-03-04T00:00:01Z", "2024-03-04T00:00:02Z", "yesterday"], "price": [1, 2, 3]}
    ).to_parquet(path)
    assert main(["-s", "memory://bad-parquet", "insert", "X", str(path)]) == 2
    assert "ticks.parquet row 3: time='yesterday' is not a time" in capsys.readouterr().err


def test_verbose_shows_the_traceback_of_a_user_error(tmp_path, capsys):
    (tmp_path / "empty.csv").write_bytes(b"")
    assert main(["-s", "memory://verbose", "insert", "X", str(tmp_path / "empty.csv"), "-v"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" in err and err.strip().splitlines()[-1].startswith("tickstore: error: ")


def test_select_into_a_missing_directory_is_a_one_line_error(run, tmp_path):
    with run.store() as store:
        store.insert("BTCUSD", make_ticks(DAY1, 5))
    status, _, err = run(
        "-s", run.url, "select", "BTCUSD", "2024-03-04", "2024-03-04", "-o", str(tmp_path / "no" / "x.csv")
    )
    assert status == 2 and err.startswith("tickstore: error: cannot write") and "does not exist" in err, err
    status, _, err = run("-s", run.url, "select", "BTCUSD", "2024-03-04", "2024-03-04", "-o", str(tmp_path / "x.txt"))
    assert status == 2 and "use a .parquet or .csv file name" in err


@pytest.mark.parametrize("unit, scale", [("s", 1), ("ms", 10**3), ("us", 10**6), ("ns", 10**9)])
def test_epoch_times_with_a_unit_and_any_case_suffix(run, tmp_path, unit, scale):
    times = pd.date_range("2024-03-04 09:30", periods=4, freq="1s", tz="UTC")
    epoch = pd.DataFrame({"time": [int(t.value // (10**9 // scale)) for t in times], "price": [1.0, 2.0, 3.0, 4.0]})
    epoch.to_csv(tmp_path / "EPOCH.CSV", index=False)
    epoch.to_parquet(tmp_path / "epoch.Parquet")
    for name, symbol in (("EPOCH.CSV", "A"), ("epoch.Parquet", "B")):
        status, out, err = run("-s", run.url, "insert", symbol, str(tmp_path / name), "--time-unit", unit)
        assert status == 0 and "2024-03-04 version 0: 4 rows" in out, err
    with run.store() as store:
        for symbol in ("A", "B"):
            assert list(store.select(symbol).index) == list(times)
    status, _, err = run("-s", run.url, "select", "A", "2024-03-04", "2024-03-04", "-o", str(tmp_path / "OUT.CSV"))
    assert status == 0 and len(pd.read_csv(tmp_path / "OUT.CSV")) == 4


# --- typos: a missing store, an unknown symbol ---------------------------------------------------------


def test_a_missing_store_is_an_error_not_an_empty_or_offline_store(run, tmp_path):
    parts = urlsplit(run.url)
    if parts.scheme == "memory":
        pytest.skip("a memory:// store is created when it is opened")
    typo = f"tickstore-typo-{uuid.uuid4().hex[:12]}"
    url = (tmp_path / typo).as_uri() if parts.scheme == "file" else urlunsplit(parts._replace(netloc=typo))
    for args in (["ls"], ["ls", "X"], ["history", "X"], ["select", "X", "2024", "2024"], ["fsck"], ["gc"]):
        status, out, err = run("-s", url, *args)
        assert status == 2 and "does not exist" in err and "check the name" in err, (args, out, err)
        assert "cannot be reached" not in err and "Traceback" not in err and "no symbols" not in out


def test_an_unknown_symbol_is_named_in_ls_history_select_and_fsck(run):
    with run.store() as store:
        store.insert("BTCUSD", make_ticks(DAY1, 5))
    typos = (
        ["ls", "BTCUSD", "BTCUDS"],
        ["history", "BTCUDS"],
        ["history", "BTCUDS", "2024-03-04"],
        ["select", "BTCUDS", "2024-03-04", "2024-03-04"],
        ["fsck", "BTCUDS"],
    )
    for args in typos:
        status, _, err = run("-s", run.url, *args)
        assert status == 2 and "unknown symbol BTCUDS in " in err and "tickstore ls" in err, (args, err)
    status, _, err = run("-s", run.url, "select", "BTCUSD", "2024-03-09", "2024-03-10")  # known, no ticks there
    assert status == 0 and err.strip().endswith("0 rows"), err
    for args in (["ls", "BTCUSD"], ["history", "BTCUSD"], ["fsck", "BTCUSD"]):
        status, out, err = run("-s", run.url, *args)
        assert status == 0 and "unknown" not in err, (args, out, err)


# --- ls on thousands of symbols ----------------------------------------------------------------------

MANY = 2000


def _store_with_many_symbols(url: str, options: dict, count: int) -> None:
    """``count`` symbols: one inserted for real, the others real index objects written through the backend."""
    from concurrent.futures import ThreadPoolExecutor

    from tickstore_core.index import SymbolIndex

    with open_store(url, **options) as store:
        store.insert("S0000", make_ticks(DAY1, 20))
        store.insert("S0000", make_ticks(DAY2, 10))
        key = store.layout.index_key("S0000")
        template = list(SymbolIndex.from_bytes(store.backend.get(key), where=key))

        def write(n: int) -> None:
            symbol = f"S{n:04d}"
            store.backend.put(store.layout.index_key(symbol), SymbolIndex(symbol, template).to_bytes())

        with ThreadPoolExecutor(16) as pool:
            list(pool.map(write, range(1, count)))


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["file", "s3"])
def test_ls_lists_2000_symbols_in_under_2_seconds(backend, request, tmp_path, capsys, monkeypatch):
    if backend == "file":
        url, options = (tmp_path / "many").as_uri(), {}
    else:
        emulated = request.getfixturevalue("s3_store")
        url, options = emulated.url, dict(emulated.options)
    _store_with_many_symbols(url + ("?fsync=false" if backend == "file" else ""), options, MANY)
    run = InProcess(lambda: (url, options), capsys, monkeypatch)
    timings = []
    for attempt in range(3):  # the first reads every index and stores the summary; the others read the summary
        monkeypatch.setenv("TICKSTORE_CACHE_DIR", str(tmp_path / f"cache-{attempt}"))  # as on another machine
        started = time.perf_counter()
        status, out, err = run("-s", run.url, "ls")
        timings.append(time.perf_counter() - started)
        listed = [line.split()[0] for line in out.splitlines()[3:]]
        assert status == 0 and listed == [f"S{n:04d}" for n in range(MANY)], (err, out[-500:])
        for line in out.splitlines()[3:6]:  # days, first and last day, rows, bytes, versions
            fields = line.split()
            assert fields[1:5] == ["2", "2024-03-04", "2024-03-05", "30"] and fields[6] == "2", line
    shown = ", ".join(f"{t:.2f}" for t in timings)
    print(f"tickstore ls, {MANY} symbols on {backend}: {shown} s (first with an empty summary)", file=sys.__stderr__)
    assert (max(timings) if backend == "file" else min(timings[1:])) < 2.0, timings


def test_ls_summary_follows_every_change(run):
    """The summary object is a shortcut only: after any commit, ls shows the new numbers."""
    with run.store() as store:
        store.insert("A", make_ticks(DAY1, 5))
        store.insert("B", make_ticks(DAY1, 7))
    assert run("-s", run.url, "ls")[1].split("\n")[3].split()[:2] == ["A", "1"]
    with run.store() as store:
        store.insert("A", make_ticks(DAY2, 3))
        store.delete("B", DAY1)
        store.insert("C", make_ticks(DAY2, 1))
        summary = store.summary()
    assert summary.loc["A", "days"] == 2 and summary.loc["A", "rows"] == 8 and summary.loc["A", "versions"] == 2
    assert summary.loc["B", "days"] == 0 and summary.loc["B", "first_day"] is None and summary.loc["B", "versions"] == 1
    assert list(summary.index) == ["A", "B", "C"] and summary.loc["C", "last_day"] == DAY2
    status, out, _ = run("-s", run.url, "ls", "C", "A")
    assert status == 0 and [line.split()[0] for line in out.splitlines()[3:]] == ["C", "A"]
    with run.store() as store:
        store.backend.put(summary_key("A"), b"{not json")  # damaged: ignored, then rewritten
        assert store.summary().equals(summary)


def test_ls_into_a_pipe_closed_early_is_quiet(tmp_path):
    url = (tmp_path / "piped").as_uri()
    _store_with_many_symbols(url + "?fsync=false", {}, 1500)  # more output than a pipe holds
    piped = subprocess.run(
        f"{TICKSTORE} -s {url} ls | head -5", shell=True, capture_output=True, text=True, timeout=120, check=False
    )
    assert piped.returncode == 0 and len(piped.stdout.splitlines()) == 5 and "S0000" in piped.stdout
    assert piped.stderr == "", piped.stderr


def test_sql_runs_duckdb_over_ticks_and_writes_files(run, tmp_path):
    pytest.importorskip("duckdb")
    with run.store() as store:
        store.insert("BTCUSD", pd.concat([make_ticks(DAY1, 30), make_ticks(DAY2, 20, seed=1)]))
        expected = store.select("BTCUSD", "2024-03-05", "2024-03-05")
    query = "SELECT count(*) AS n, max(price) AS top FROM ticks('BTCUSD', '2024-03-05', '2024-03-05')"
    status, out, err = run("-s", run.url, "sql", query)
    assert status == 0 and "1 rows" in err, err
    assert out.splitlines()[-1].split()[1] == str(len(expected)), out  # the row's index, then n
    path = tmp_path / "out.csv"
    status, _, err = run("-s", run.url, "sql", "SELECT * FROM ticks('BTCUSD') ORDER BY time", "-o", str(path))
    assert status == 0 and len(pd.read_csv(path)) == 50
    status, _, err = run("-s", run.url, "sql", "SELEC 1")
    assert status == 2 and err.startswith("tickstore: error: DuckDB could not run the query"), err
