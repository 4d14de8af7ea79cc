"""The local disk backend (tickstore-hdf5): the contract, plus what only real processes can show."""

from __future__ import annotations

import multiprocessing
import os
import pickle
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

import tickstore_core as ts
from emulators.raw import raw_access
from tickstore_core.backend import IfMatch
from tickstore_core.errors import (
    BackendError,
    InvalidInputError,
    InvalidKeyError,
    InvalidOptionError,
    InvalidURLError,
    ObjectExistsError,
    ObjectNotFoundError,
    PreconditionFailedError,
)
from tickstore_core.plugins import get_registry
from tickstore_core.testing import BackendConformance

HDF5Backend = pytest.importorskip("tickstore_hdf5._backend").HDF5Backend
SPAWN = multiprocessing.get_context("spawn")


class TestHDF5Backend(BackendConformance):
    @pytest.fixture
    def backend(self, tmp_path):
        with HDF5Backend.from_url((tmp_path / "store").as_uri()) as backend:
            yield backend

    @pytest.fixture
    def raw_get(self, tmp_path):
        return raw_access((tmp_path / "store").as_uri(), {})[0]  # the file under the root

    @pytest.fixture
    def raw_put(self, tmp_path):
        return raw_access((tmp_path / "store").as_uri(), {})[1]


@pytest.fixture
def root(tmp_path) -> Path:
    return tmp_path / "db"


# --- opening -------------------------------------------------------------------------------------


def test_the_entry_point_is_discoverable():
    assert get_registry().backend_class("file") is HDF5Backend
    assert (HDF5Backend.encoding, HDF5Backend.layout, HDF5Backend.is_local) == ("hdf5", "behemoth", True)


def test_options_come_typed_from_keywords_or_as_strings_from_the_url(root):
    by_keyword = HDF5Backend.from_url(root.as_uri(), fsync=False, lock_timeout=2)
    by_query = HDF5Backend.from_url(f"{root.as_uri()}?fsync=no&lock_timeout=2.0")
    assert by_keyword.options == by_query.options
    assert (by_query.options.fsync, by_query.options.lock_timeout) == (False, 2.0)
    assert by_query.url == root.as_uri() and by_query == by_keyword
    clone = pickle.loads(pickle.dumps(by_query))
    assert clone == by_query and clone.options == by_query.options
    assert HDF5Backend.from_url(root.as_uri()).options.lock_timeout is None


@pytest.mark.parametrize(
    "options",
    [{"fsnyc": True}, {"fsync": "maybe"}, {"lock_timeout": "soon"}, {"lock_timeout": -1}, {"fsync": 2}],
)
def test_bad_options_are_refused_listing_the_valid_ones(root, options):
    with pytest.raises(InvalidOptionError) as info:  # keywords: not the URL's fault
        HDF5Backend.from_url(root.as_uri(), **options)
    if "fsnyc" in options:
        assert "fsync" in str(info.value) and "lock_timeout" in str(info.value)
    query = "&".join(f"{name}={value}" for name, value in options.items())
    with pytest.raises(InvalidURLError) as in_url:
        HDF5Backend.from_url(f"{root.as_uri()}?{query}")
    assert not isinstance(in_url.value, InvalidOptionError)


def test_one_name_across_distribution_entry_point_class_options_and_scheme(tmp_path):
    spec = get_registry().spec_for("hdf5")
    assert spec.name == "hdf5" and spec.distribution == "tickstore-hdf5" and spec.schemes == ("file", "hdf5")
    assert (
        HDF5Backend.name == "hdf5" and type(HDF5Backend.from_url(tmp_path.as_uri()).options).__name__ == "HDF5Options"
    )
    with ts.open_store(f"hdf5://{tmp_path / 'db'}") as store:
        assert isinstance(store.backend, HDF5Backend) and store.backend.url == (tmp_path / "db").as_uri()


@pytest.mark.parametrize("url", ["file://otherhost/db", "file:relative/db", "s3://bucket/db"])
def test_urls_that_are_not_local_absolute_paths_are_refused(url):
    with pytest.raises(InvalidURLError, match="file:///"):
        HDF5Backend.from_url(url)


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("afile", "afile is a file, so no store can live at"),
        ("afile/db", "afile is a file, so no store can live at"),
        ("d%00b", "cannot contain a NUL character"),
        ("x" * 300 + "/db", "has a name of 300 bytes"),
    ],
)
def test_paths_where_no_store_can_live_are_refused_when_opened(tmp_path, path, message):
    (tmp_path / "afile").write_bytes(b"not a store")
    with pytest.raises(InvalidURLError, match=message):
        ts.open_store(f"{tmp_path.as_uri()}/{path}")  # before: a raw ValueError, or "cannot be reached"
    assert (tmp_path / "afile").read_bytes() == b"not a store"


def test_paths_with_spaces_round_trip_through_the_url(tmp_path):
    backend = HDF5Backend.from_url((tmp_path / "my ticks" / "db").as_uri())
    backend.put("k", b"x")
    assert (tmp_path / "my ticks" / "db" / "k").read_bytes() == b"x"
    assert HDF5Backend.from_url(backend.url).get("k") == b"x"


# --- files on disk -------------------------------------------------------------------------------


def test_objects_are_plain_files_at_their_keys_and_the_root_is_created_on_first_write(root):
    backend = HDF5Backend.from_url(root.as_uri())
    with pytest.raises(ObjectNotFoundError):
        backend.get("2024/03/04/BTCUSD_0000.h5")
    assert list(backend.list()) == [] and not root.exists()
    backend.put("2024/03/04/BTCUSD_0000.h5", b"ticks")
    assert (root / "2024/03/04/BTCUSD_0000.h5").read_bytes() == b"ticks"
    (root / "_index").mkdir()
    (root / "_index" / "ETHUSD.json").write_bytes(b"{}")  # a file put there by hand is an object too
    assert [m.key for m in backend.list()] == ["2024/03/04/BTCUSD_0000.h5", "_index/ETHUSD.json"]


def test_listing_is_in_plain_string_order_of_the_full_keys(root):
    backend = HDF5Backend.from_url(root.as_uri())
    keys = ["a-b", "a/x", "a.c", "a0", "a/b/c", "b", "A", "a#", "_index/X.json", "_tickstore.json"]
    for key in keys:
        backend.put(key, b"")
    assert [m.key for m in backend.list()] == sorted(keys)
    assert [m.key for m in backend.list("a/")] == ["a/b/c", "a/x"]
    assert [m.key for m in backend.list("a")] == sorted(k for k in keys if k.startswith("a"))


def test_the_reserved_area_is_never_listed_nor_addressable(root):
    backend = HDF5Backend.from_url(root.as_uri())
    backend.put("k", b"x")
    with backend.lock("symbol-X"):
        pass
    (root / ".tickstore" / "tmp" / "123-stray.tmp").write_bytes(b"half a write")
    assert sorted(p.name for p in (root / ".tickstore").iterdir()) == ["locks", "tmp"]
    assert [m.key for m in backend.list()] == ["k"]
    assert list(backend.list(".tickstore/")) == [] and list(backend.list(".tickstore/tmp/")) == []
    for key in (".tickstore/tmp/123-stray.tmp", ".tickstore", ".tickstore/locks/x"):
        with pytest.raises(InvalidKeyError):
            backend.put(key, b"")
        with pytest.raises(InvalidKeyError):
            backend.get(key)
    for name in ("a/b", "../x", ".hidden", ""):
        with pytest.raises(InvalidKeyError):
            backend.lock(name).__enter__()


def test_stray_files_and_directories_are_not_objects(root):
    backend = HDF5Backend.from_url(root.as_uri())
    backend.put("dir/k", b"x")
    (root / "dir" / "with space").write_bytes(b"not a valid key")
    (root / "empty").mkdir()
    assert [m.key for m in backend.list()] == ["dir/k"]
    with pytest.raises(ObjectNotFoundError):
        backend.get("dir")
    with pytest.raises(ObjectNotFoundError):
        backend.head("dir")
    backend.delete("dir")  # a directory is no object: nothing to delete
    with pytest.raises(ObjectNotFoundError):
        backend.get("dir/k/deeper")  # 'dir/k' is a file
    with pytest.raises(InvalidInputError, match="unknown put mode"):
        backend.put("x", b"", mode="crate")
    with pytest.raises(BackendError, match="'a' and 'a/b'"):
        backend.put("dir", b"x")
    with pytest.raises(BackendError, match="'a' and 'a/b'"):
        backend.put("dir/k/deeper", b"x")


def test_listing_follows_directory_links_but_not_loops(root, tmp_path):
    backend = HDF5Backend.from_url(root.as_uri())
    backend.put("2024/01/02/X_0000.h5", b"a")
    archive = tmp_path / "archive-2023"
    (archive / "12" / "31").mkdir(parents=True)
    (archive / "12" / "31" / "X_0000.h5").write_bytes(b"b")
    (root / "2023").symlink_to(archive)
    (root / "2024" / "loop").symlink_to(root)
    assert [m.key for m in backend.list()] == ["2023/12/31/X_0000.h5", "2024/01/02/X_0000.h5"]


def test_listing_skips_links_to_nothing_and_to_themselves(root):
    backend = HDF5Backend.from_url(root.as_uri())
    backend.put("a/b", b"x")
    (root / "a" / "dangling").symlink_to(root / "nowhere")
    (root / "a" / "itself").symlink_to(root / "a" / "itself")
    assert [m.key for m in backend.list()] == ["a/b"]


def test_listing_tolerates_files_vanishing_during_the_walk(root):
    backend = HDF5Backend.from_url(root.as_uri())
    keys = [f"{d}/{i}" for d in ("a", "b", "c") for i in range(3)]
    for key in keys:
        backend.put(key, b"x")
    listing = backend.list()
    assert next(listing).key == "a/0"
    backend.delete("a/1")
    for directory in ("b", "c"):
        for i in range(3):
            backend.delete(f"{directory}/{i}")
        (root / directory).rmdir()
    assert [m.key for m in listing] == ["a/2"]


def test_every_write_has_a_new_etag_even_with_the_same_bytes(root):
    backend = HDF5Backend.from_url(root.as_uri(), fsync=False)
    etags = {backend.put("k", b"same").etag for _ in range(200)}
    assert len(etags) == 200
    assert backend.head("k").etag in etags
    assert backend.head("k").last_modified.tzinfo is not None


def test_files_are_created_with_the_usual_permissions(root):
    backend = HDF5Backend.from_url(root.as_uri())
    backend.put("k", b"x")
    umask = os.umask(0)
    os.umask(umask)
    assert (root / "k").stat().st_mode & 0o777 == 0o666 & ~umask


def test_a_lock_times_out_when_asked_to(root):
    holder = HDF5Backend.from_url(root.as_uri())
    waiter = HDF5Backend.from_url(root.as_uri(), lock_timeout=0.05)
    with holder.lock("symbol-X"), pytest.raises(BackendError, match="lock_timeout"):
        waiter.lock("symbol-X").__enter__()
    with waiter.lock("symbol-X"):
        pass


def test_temporary_files_of_dead_writers_are_swept_once_a_day_old(root):
    tmp = root / ".tickstore" / "tmp"
    tmp.mkdir(parents=True)
    old, recent = tmp / "1-old.tmp", tmp / "2-recent.tmp"
    old.write_bytes(b"x")
    recent.write_bytes(b"y")
    os.utime(old, (time.time() - 2 * 86_400,) * 2)
    HDF5Backend.from_url(root.as_uri())
    assert not old.exists() and recent.exists()


# --- permissions ---------------------------------------------------------------------------------


_PERMISSION_DENIED = """
import os, sys
from tickstore_core.errors import BackendPermissionError
from tickstore_hdf5._backend import HDF5Backend
backend = HDF5Backend.from_url(sys.argv[1])
if os.geteuid() == 0:  # root ignores file modes: become 'nobody' (imports are done, /root may be closed to it)
    try:
        os.setgroups([])
        os.setgid(65534)
        os.setuid(65534)
    except PermissionError:
        raise SystemExit("cannot drop root")
for attempt in (lambda: backend.put("locked/k", b"x"), lambda: backend.get("secret"),
                lambda: backend.put("k", b"x"), lambda: backend.delete("locked/old"),
                lambda: list(backend.list("peek"))):
    try:
        attempt()
    except BackendPermissionError as exc:
        assert isinstance(exc, PermissionError) and "check the owner and mode" in str(exc), exc
    else:
        raise SystemExit("no BackendPermissionError")
print("ok")
"""


def test_permission_errors_become_backend_permission_errors():
    """Root ignores file modes, so the checks run in a child process that makes itself 'nobody'."""
    base = Path(tempfile.mkdtemp(prefix="tickstore-permissions-"))  # not under tmp_path: 'nobody' must reach it
    root = base / "db"
    try:
        (root / ".tickstore" / "tmp").mkdir(parents=True)
        (root / "locked").mkdir()
        (root / "locked" / "old").write_bytes(b"x")
        (root / "secret").write_bytes(b"x")
        (base / "private").mkdir()
        (base / "private" / "f").write_bytes(b"x")
        (root / "peek").symlink_to(base / "private" / "f")  # a link to what 'nobody' may not stat
        os.chmod(base / "private", 0o700)
        if os.geteuid() == 0:
            os.chown(root / ".tickstore" / "tmp", 65534, -1)  # temporary files may be written, nothing else
        os.chmod(base, 0o755)
        os.chmod(root / "secret", 0o000)
        os.chmod(root / "locked", 0o555)
        os.chmod(root, 0o555)
        result = subprocess.run(
            [sys.executable, "-c", _PERMISSION_DENIED, root.as_uri()], capture_output=True, text=True
        )
        if "cannot drop root" in result.stderr:
            pytest.skip("running as root without the right to become another user, so file modes cannot be tested")
        assert result.stdout.strip() == "ok", result.stderr
    finally:
        for directory in (root, root / "locked", base / "private"):
            os.chmod(directory, 0o755)
        shutil.rmtree(base)


# --- real processes ------------------------------------------------------------------------------


def _race_create(url: str, i: int, start, results) -> None:
    backend = HDF5Backend.from_url(url)
    start.wait()
    try:
        backend.put("race", f"writer {i}".encode(), mode="create")
        results.put((i, "won"))
    except ObjectExistsError:
        results.put((i, "exists"))


def _race_if_match(url: str, i: int, etag: str, start, results) -> None:
    backend = HDF5Backend.from_url(url)
    start.wait()
    try:
        backend.put("index", f"v{i}".encode(), mode=IfMatch(etag))
        results.put((i, "won"))
    except PreconditionFailedError:
        results.put((i, "stale"))


def _run(target, args_of, n: int) -> list[tuple[int, str]]:
    start, results = SPAWN.Barrier(n), SPAWN.Queue()
    processes = [SPAWN.Process(target=target, args=(*args_of(i), start, results)) for i in range(n)]
    for process in processes:
        process.start()
    outcomes = sorted(results.get(timeout=60) for _ in processes)
    for process in processes:
        process.join(timeout=60)
        assert process.exitcode == 0
    return outcomes


def test_processes_racing_to_create_and_to_compare_and_swap_have_one_winner_each(root):
    url, n = root.as_uri(), 4
    created = _run(_race_create, lambda i: (url, i), n)
    (winner,) = [i for i, outcome in created if outcome == "won"]
    assert [outcome for _, outcome in created].count("exists") == n - 1
    backend = HDF5Backend.from_url(url)
    assert backend.get("race") == f"writer {winner}".encode()

    etag = backend.put("index", b"v").etag
    swapped = _run(_race_if_match, lambda i: (url, i, etag), n)
    (winner,) = [i for i, outcome in swapped if outcome == "won"]
    assert [outcome for _, outcome in swapped].count("stale") == n - 1
    assert backend.get("index") == f"v{winner}".encode()


def _count_under_lock(url: str, rounds: int, start, results) -> None:
    """Read-modify-write a counter file under the lock: any overlap would lose increments."""
    backend = HDF5Backend.from_url(url, fsync=False)
    start.wait()
    for _ in range(rounds):
        with backend.lock("counter"):
            value = int(backend.get("counter"))
            time.sleep(0.001)
            backend.put("counter", str(value + 1).encode())
    results.put((0, "done"))


def test_the_lock_excludes_other_processes(root):
    backend = HDF5Backend.from_url(root.as_uri())
    backend.put("counter", b"0")
    _run(_count_under_lock, lambda i: (root.as_uri(), 25), 3)
    assert backend.get("counter") == b"75"


_HOLD = """
import sys, time
from tickstore_hdf5._backend import HDF5Backend
with HDF5Backend.from_url(sys.argv[1]).lock("symbol-BTCUSD"):
    print("locked", flush=True)
    time.sleep(600)
"""


def test_a_lock_is_released_when_its_holder_is_killed(root):
    holder = subprocess.Popen([sys.executable, "-c", _HOLD, root.as_uri()], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        impatient = HDF5Backend.from_url(root.as_uri(), lock_timeout=0.2)
        with pytest.raises(BackendError, match="locked by another writer"):
            impatient.lock("symbol-BTCUSD").__enter__()
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(timeout=30)
        with HDF5Backend.from_url(root.as_uri(), lock_timeout=10).lock("symbol-BTCUSD"):
            pass
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()


_WRITE_FOREVER = """
import sys
from tickstore_hdf5._backend import HDF5Backend
backend = HDF5Backend.from_url(sys.argv[1])
print("writing", flush=True)
for i in range(1, 10**6):
    backend.put("big", bytes([i % 256]) * (16 << 20))
"""


def test_writers_killed_mid_write_leave_the_old_object_or_a_whole_new_one(root):
    """Kill a writer of 16 MiB objects at several moments, and while a temporary file is being written."""
    backend, size = HDF5Backend.from_url(root.as_uri()), 16 << 20
    backend.put("big", bytes(size))
    temporary = root / ".tickstore" / "tmp"

    def left_behind() -> set[str]:
        return {p.name for p in temporary.iterdir()} if temporary.exists() else set()

    interrupted = 0
    for delay in (0.02, 0.1, 0.25, None, None, None):  # None: as soon as a new temporary file appears
        before = left_behind()
        writer = subprocess.Popen(
            [sys.executable, "-c", _WRITE_FOREVER, root.as_uri()], stdout=subprocess.PIPE, text=True
        )
        try:
            assert writer.stdout.readline().strip() == "writing"
            deadline = time.monotonic() + (delay if delay is not None else 10)
            while time.monotonic() < deadline and (delay is not None or left_behind() <= before):
                time.sleep(0.0005)
        finally:
            writer.send_signal(signal.SIGKILL)
            writer.wait()
            writer.stdout.close()
        interrupted += bool(left_behind() - before)
        data = backend.get("big")
        assert len(data) == size and data == data[:1] * size
        assert [m.key for m in backend.list()] == ["big"] and backend.head("big").size == size
    assert interrupted, "no kill interrupted a write; the test proved nothing"
