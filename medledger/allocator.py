"""Process-wide malloc setting of every ``medledger`` process (applied by ``cli.main``).

A node streams payloads through 1 MiB buffers (encryption output, UnixFS chunks, blocks
queued for the disk). With glibc's defaults, freeing such buffers shrinks the heap back to
the kernel as soon as more than ~2 MiB is free at its top, and the next buffers fault their
pages in again; on the VMs this project is measured on, first-touching a page costs more
than encrypting it (``encrypt_stream``: 0.40 ms of CPU per MiB with the defaults, 0.08 with
this setting; raw AES-256-GCM: 0.08). ``M_TOP_PAD`` keeps :data:`TOP_PAD` bytes of slack at
the top of the heap instead, so a streaming process's RSS stays flat but up to that much
higher. The benchmarks call :func:`tune` too, so they measure what a node runs with.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

#: glibc's ``M_TOP_PAD`` (``malloc.h``).
_M_TOP_PAD = -2
#: Heap slack kept instead of returned to the kernel: 16 buffers of 1 MiB.
TOP_PAD = 16 << 20


def tune() -> bool:
    """Apply the setting; returns False where there is no glibc ``mallopt`` (nothing done)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library("c") or None).mallopt
    except (OSError, AttributeError):
        return False  # musl and others: no mallopt, their allocator's defaults stand
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_TOP_PAD, TOP_PAD))
