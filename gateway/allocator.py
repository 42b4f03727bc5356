"""Keep large response-sized buffers in the heap instead of a fresh ``mmap`` each time.

Every record fetch allocates a few buffers of the record's size (the blob's bytes, the
decrypted plaintext). glibc serves allocations above its mmap threshold (128 KiB, raised
dynamically only in some patterns) with a new ``mmap`` and returns them with ``munmap``,
so each 1 MiB buffer costs ~256 page faults and zeroed pages on every request: measured
on the gateway's decrypt-and-re-hash path, a 1 MiB record took 2.8-6 ms with the default
and 1.3-1.4 ms with the threshold raised (see the session-3 report of bench/gateway.py).

``tune_allocator`` raises the threshold to 16 MiB and the trim threshold to 64 MiB, so
freed buffers are reused; memory returned to the system then lags by at most that much
per arena. On a libc without ``mallopt`` (musl, macOS) it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util

#: ``mallopt`` parameters of glibc's ``malloc.h``.
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
MMAP_THRESHOLD = 16 << 20
TRIM_THRESHOLD = 64 << 20


def tune_allocator() -> bool:
    """Raise glibc's mmap and trim thresholds; ``True`` when both were accepted."""
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
        mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    )
