"""glibc ``malloc`` settings of ``medledger`` processes, applied through ``mallopt``.

:func:`tune` is process-wide (applied by ``cli.main`` before any command). A node streams
payloads through 1 MiB buffers (encryption output, UnixFS chunks, blocks queued for the
disk). With glibc's defaults, freeing such buffers shrinks the heap back to the kernel as
soon as more than ~2 MiB is free at its top, and the next buffers fault their pages in
again; on the VMs this project is measured on, first-touching a page costs more than
encrypting it (``encrypt_stream``: 0.40 ms of CPU per MiB with the defaults, 0.08 with this
setting; raw AES-256-GCM: 0.08). ``M_TOP_PAD`` keeps :data:`TOP_PAD` bytes of slack at the
top of the heap instead, so a streaming process's RSS stays flat but up to that much
higher. The benchmarks call :func:`tune` too, so they measure what a node runs with.

:func:`tune_for_large_buffers` is the gateway's addition (``gateway run``). Every record
fetch allocates a few buffers of the record's size; glibc serves allocations above its
mmap threshold (128 KiB, raised dynamically only in some patterns) with a fresh ``mmap``
and returns them with ``munmap``, so each 1 MiB buffer costs ~256 page faults on every
request: on the gateway's decrypt-and-re-hash path a 1 MiB record took 2.8-6 ms with the
default and 1.3-1.4 ms with the threshold raised to :data:`MMAP_THRESHOLD` (trim threshold
:data:`TRIM_THRESHOLD`), so freed buffers are reused; memory returned to the system then
lags by at most that much per arena.

Where there is no glibc ``mallopt`` (musl, macOS) both do nothing and return False.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

#: ``mallopt`` parameters of glibc's ``malloc.h``.
_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_THRESHOLD = -1, -2, -3
#: Heap slack kept instead of returned to the kernel: 16 buffers of 1 MiB.
TOP_PAD = 16 << 20
#: Allocations below this come from the heap (and are reused), not from a fresh mmap.
MMAP_THRESHOLD = 16 << 20
#: Free memory at the top of the heap kept before trimming it back to the kernel.
TRIM_THRESHOLD = 64 << 20


def tune() -> bool:
    """Apply the process-wide setting (``M_TOP_PAD``); False where there is no ``mallopt``."""
    return _mallopt((_M_TOP_PAD, TOP_PAD))


def tune_for_large_buffers() -> bool:
    """Raise the mmap and trim thresholds; True when both were accepted."""
    return _mallopt((_M_MMAP_THRESHOLD, MMAP_THRESHOLD), (_M_TRIM_THRESHOLD, TRIM_THRESHOLD))


def _mallopt(*settings: tuple[int, int]) -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library("c") or None).mallopt
    except (OSError, AttributeError):
        return False  # musl and others: no mallopt, their allocator's defaults stand
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return all([bool(mallopt(param, value)) for param, value in settings])
