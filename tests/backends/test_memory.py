"""The in-process backend meets the backend contract and the store contract."""

import uuid

import pytest

from tickstore_core.memory import MemoryBackend
from tickstore_core.testing import BackendConformance, StoreConformance


class TestMemoryBackend(BackendConformance):
    @pytest.fixture
    def backend(self):
        name = f"conformance-{uuid.uuid4().hex}"
        with MemoryBackend(name) as backend:
            yield backend
        MemoryBackend.clear(name)


class TestMemoryStore(StoreConformance):
    property_examples = 150

    @pytest.fixture
    def new_store_location(self):
        return lambda: (f"memory://store-{uuid.uuid4().hex}", {})


_RUN_OF_A_SCRIPT = """
import sys
import tickstore_core as ts
from tickstore_core.testing import make_ticks
import datetime as dt
rows = int(sys.argv[2])
with ts.open_store("memory://ticks") as store:
    store.insert("S", make_ticks(dt.date(2024, 3, 4), rows, seed=rows))
with ts.open_store("memory://ticks", cache=True, cache_dir=sys.argv[1]) as store:
    print(len(store.select("S")))
"""


def test_two_runs_sharing_a_disk_cache_do_not_mistake_each_other_s_objects(tmp_path):
    """A memory store lives in one process, but the disk cache outlives it: ETags differ between runs."""
    import subprocess
    import sys

    script = tmp_path / "run.py"
    script.write_text(_RUN_OF_A_SCRIPT)
    for rows in (50, 100):
        done = subprocess.run(
            [sys.executable, str(script), str(tmp_path / "cache"), str(rows)], capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.split()[-1] == str(rows)


def test_a_forked_child_makes_etags_of_its_own():
    import os

    backend = MemoryBackend(f"fork-{uuid.uuid4().hex}")
    reader, writer = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child reports through the pipe
        os.write(writer, backend.put("a", b"x").etag.encode())
        os._exit(0)
    os.waitpid(child, 0)
    assert os.read(reader, 200).decode() != backend.put("a", b"x").etag


def test_a_memory_store_sent_to_a_fresh_process_is_refused_there_not_emptied(tmp_path):
    import datetime as dt
    import pickle
    import subprocess
    import sys

    import tickstore_core as ts
    from tickstore_core.testing import make_ticks

    store = ts.open_store(f"memory://spawn-{uuid.uuid4().hex}")
    store.insert("S", make_ticks(dt.date(2024, 3, 4), 5))
    assert len(pickle.loads(pickle.dumps(store)).select("S")) == 5  # in this process: the same store
    (tmp_path / "store.pickle").write_bytes(pickle.dumps(store))
    loading = "import pickle, sys; pickle.loads(open(sys.argv[1], 'rb').read())"
    done = subprocess.run(
        [sys.executable, "-c", loading, str(tmp_path / "store.pickle")], capture_output=True, text=True
    )
    assert done.returncode != 0
    assert "BackendError" in done.stderr and "lives in the process that made it" in done.stderr
