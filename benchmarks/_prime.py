"""Back the memory a case is about to touch, right before it is measured, in the case's own process.

On a virtual machine whose memory the host backs lazily and takes back (this project's
Firecracker VMs: virtio-balloon free page reporting), the first write to a guest page the host
does not back costs far more than any later one: 2.3-2.5 ms per MB against 0.18 ms, measured
here. The guest reports pages freed for about 3 seconds back to the host (0.18 ms/MB one second
after a process freed them, 1.5 three seconds after, 2.45 ten seconds after), so touching memory
once before the whole benchmark helps only the cases that run in the next seconds: whichever
case came after a pause paid for its pages and the next one did not. Each measured process now
writes one byte per page of ``nbytes`` of anonymous memory and unmaps it just before its first
measured call: the pages its call then faults in are the backed ones it freed, as on a machine
whose memory is simply there. ArcticDB's cases run through the same worker and are primed alike.
"""

from __future__ import annotations

import mmap

PAGE = mmap.PAGESIZE
BYTES_PER_ROW = 120
"""What a case touches per row of its days, at most: the frame (about 45 bytes a row), the bytes
read or written (about 15), the decoding's buffers and the page cache of a write."""


def prime(nbytes: int) -> None:
    """Write one byte per page of ``nbytes`` of fresh anonymous memory, then give it back."""
    if nbytes < PAGE:
        return
    block = mmap.mmap(-1, nbytes - nbytes % PAGE)
    try:
        for offset in range(0, len(block), PAGE):
            block[offset] = 1
    finally:
        block.close()


def available_bytes() -> int:
    """``MemAvailable`` in bytes (0 where /proc/meminfo is missing)."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def prime_bytes(rows: int, cap_gib: float) -> int:
    """How much a case over ``rows`` rows primes: :data:`BYTES_PER_ROW` a row, at most ``cap_gib`` GiB
    and half of what is available."""
    return int(min(rows * BYTES_PER_ROW, cap_gib * 2**30, available_bytes() / 2))
