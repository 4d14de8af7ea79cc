"""Touch the machine's memory once before the benchmark, so that no case pays for it first.

On a virtual machine whose memory the host backs lazily (this project's Firecracker VMs), the
first write to a guest page costs far more than any later one: 2.5 ms per MB against 0.13 ms,
measured here. The kernel hands out such never-touched pages to the processes and the page cache
of the cases that run first (ours, in `run.py`'s order), and pages that earlier processes freed
to the cases that run later (ArcticDB's): a 12 MB file written 27 ms or 2.5 ms depending on it.
Touching ``gib`` GiB once, in a child process that then exits, puts backed pages on the kernel's
free lists for every case alike. On a machine whose memory is backed already it costs about a
second.
"""

from __future__ import annotations

import subprocess
import sys
import time

_TOUCH = """
import sys
import numpy as np
blocks, size = [], 256 * 2**20
for _ in range(int(float(sys.argv[1]) * 2**30) // size):
    block = np.empty(size, dtype=np.uint8)
    block[::4096] = 1  # one write per page is what makes the host back it
    blocks.append(block)
"""


def available_gib() -> float:
    """``MemAvailable`` in GiB (0 where /proc/meminfo is missing)."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) / 2**20
    except OSError:
        pass
    return 0.0


def warm_memory(gib: float) -> str:
    """Touch ``gib`` GiB (at most half of what is available) in a child process; say what was done."""
    wanted = min(gib, available_gib() / 2)
    if wanted < 0.25:
        return "memory not warmed"
    began = time.perf_counter()
    subprocess.run([sys.executable, "-c", _TOUCH, str(wanted)], check=True)
    seconds = time.perf_counter() - began
    return f"{wanted:.0f} GiB of memory touched first in {seconds:.1f} s ({seconds * 1e3 / (wanted * 1024):.2f} ms/MB)"
