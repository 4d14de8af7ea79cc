"""Files memory-mapped for reading, whose pages a reader gives back once it has decoded them.

A select of a local store, or from the cache, maps each day's file and decodes it chunk by chunk.
Every page it touches would stay in the process's resident memory until the whole file is
unmapped, though the decoded chunk no longer needs it. `give_back` tells the kernel so
(``MADV_DONTNEED``): the pages leave the process but stay in the page cache, and a later read of
them maps them again with the file's bytes unchanged. A read then holds the pages of the chunks
it is decoding, not of its days. Buffers that are not mapped files (fetched bytes) are left alone.
"""

from __future__ import annotations

import mmap
import os
import threading
import weakref

import pyarrow as pa

__all__ = ["give_back", "map_file"]

_PAGE = mmap.PAGESIZE
_lock = threading.Lock()
_maps: list[tuple[weakref.ref[mmap.mmap], int, int]] = []  # (the map, its address, its size)


def map_file(path: str) -> pa.Buffer:
    """The file's bytes, memory-mapped read-only (an empty file: no bytes); OSError as ``open`` raises it."""
    with open(path, "rb") as file:
        size = os.fstat(file.fileno()).st_size
        if size == 0:
            return pa.py_buffer(b"")
        mapped = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)
    buffer = pa.py_buffer(mapped)
    if hasattr(mapped, "madvise") and hasattr(mmap, "MADV_DONTNEED"):
        with _lock:
            _maps[:] = [entry for entry in _maps if entry[0]() is not None]
            _maps.append((weakref.ref(mapped), buffer.address, size))
    return buffer


def give_back(buffer: pa.Buffer, offset: int, length: int) -> None:
    """Let go of the pages of ``buffer[offset : offset + length]`` if ``buffer`` lies in a file of
    `map_file` (whole pages, rounded outwards: a page shared with bytes still wanted is mapped again
    when they are read)."""
    start = buffer.address + offset
    with _lock:
        found = [(ref(), base, size) for ref, base, size in _maps if base <= start < base + size]
    mapped, base, size = found[0] if found else (None, 0, 0)
    if mapped is None:  # not a mapped file, or one already unmapped
        return
    first = (start - base) // _PAGE * _PAGE
    end = min(size, start - base + length)
    if end > first:
        mapped.madvise(mmap.MADV_DONTNEED, first, end - first)
