"""Mapped files give their pages back once read; other buffers are never touched."""

from __future__ import annotations

import os
import sys

import numpy as np
import pyarrow as pa
import pytest

from tickstore_core.mapped import give_back, map_file

SIZE = 64 << 20


def _resident_mb() -> float:
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


@pytest.mark.skipif(sys.platform != "linux", reason="reads the resident set from /proc")
def test_pages_given_back_leave_the_process_and_read_the_same_again(tmp_path):
    data = np.random.default_rng(1).integers(0, 255, SIZE, dtype=np.uint8)
    path = tmp_path / "object"
    path.write_bytes(data.tobytes())
    buffer = map_file(str(path))
    before = _resident_mb()
    view = np.frombuffer(buffer, dtype=np.uint8)
    assert int(view.sum(dtype=np.int64)) == int(data.sum(dtype=np.int64))  # every page touched
    touched = _resident_mb()
    assert touched - before > 48
    give_back(buffer.slice(4096), 0, SIZE - 4096)  # a slice of the file, as an object inside an HDF5 file is
    assert touched - _resident_mb() > 48
    assert np.array_equal(np.frombuffer(buffer, dtype=np.uint8), data)  # read again from the page cache


def test_buffers_that_are_not_mapped_files_are_left_alone(tmp_path):
    heap = pa.py_buffer(bytearray(b"x" * (1 << 20)))
    give_back(heap, 0, heap.size)
    assert heap.to_pybytes() == b"x" * (1 << 20)
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    assert map_file(str(empty)).size == 0
    with pytest.raises(OSError):
        map_file(str(tmp_path / "missing"))


def test_a_file_mapped_and_dropped_is_forgotten(tmp_path):
    path = tmp_path / "small"
    path.write_bytes(os.urandom(10_000))
    buffer = map_file(str(path))
    address = buffer.address
    del buffer
    other = pa.py_buffer(bytearray(10_000))
    give_back(other, 0, other.size)  # whatever its address, no dead map is advised
    assert address and other.to_pybytes() == bytes(10_000)
