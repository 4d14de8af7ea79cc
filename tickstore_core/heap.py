"""The C heap's free memory given back to the operating system once a fetched object is released.

A remote read fetches each object as one Python ``bytes`` of several MB, on whichever of the
engine's worker threads ran it. glibc's malloc serves blocks that large from the thread's arena
once its dynamic mmap threshold has risen above their size (it rises when the first such block is
freed), and keeps them there once freed, for that thread to reuse. With 16 workers each holding
two or three objects' worth of free memory, a cold 20-day select on Azurite peaked at 1.6x its
frame, 270 MB of it free memory. ``malloc_trim(0)`` returns such memory to the system; Dask's
workers call it for the same reason. Where the C library has no ``malloc_trim`` (musl, macOS,
Windows) this does nothing.
"""

from __future__ import annotations

import ctypes
import functools
import sys
from collections.abc import Callable

__all__ = ["release_free_heap"]


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim``, or None where there is none."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        trim = ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


def release_free_heap() -> None:
    """Give the free memory of every malloc arena back to the system (a few hundred microseconds)."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
