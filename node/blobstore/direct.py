"""Write whole, aligned blocks with ``O_DIRECT``: straight from a reused buffer to the disk.

A buffered write copies the block into freshly allocated page-cache pages. On the VM this
project is measured on, first-touching fresh memory is the most expensive part of a write
(the hypervisor backs guest pages lazily), so a 256 MiB put through the page cache ran at
75-115 MB/s where the same files written with ``O_DIRECT`` from reused, page-aligned
buffers ran at 230-370 MB/s (same run, same disk). ``O_DIRECT`` needs the buffer
address, file offset and length aligned to the device's block size; blocks that are not a
multiple of :data:`ALIGN` (a file's last leaf, dag-pb nodes) take the buffered path. The
durability protocol does not change: the data is on the device when ``write`` returns, and
the caller's ``fsync`` still persists the file's metadata and flushes the device cache.

Filesystems without ``O_DIRECT`` (tmpfs, some network filesystems) refuse it at ``open``
with ``EINVAL``, devices needing a larger alignment refuse the ``write``; either way the
writer stops trying and everything goes buffered.
"""

from __future__ import annotations

import errno
import mmap
import os
import threading
from pathlib import Path

#: Alignment of buffer address and length; 4096 covers 512- and 4096-byte devices.
ALIGN = 4096
_O_DIRECT: int = getattr(os, "O_DIRECT", 0)
#: Aligned buffers kept for the next writes (and the next puts): a fresh buffer costs a page
#: fault per 4 KiB on first touch, 1 MiB of them about as much as writing the block.
MAX_POOLED = 8
_pool: list[mmap.mmap] = []
_pool_lock = threading.Lock()


def take(size: int) -> mmap.mmap:
    with _pool_lock:
        for i, buf in enumerate(_pool):
            if len(buf) >= size:
                return _pool.pop(i)
    return mmap.mmap(-1, size)  # anonymous mappings are page-aligned


def give(buf: mmap.mmap) -> None:
    with _pool_lock:
        if len(_pool) < MAX_POOLED:
            _pool.append(buf)
            return
    buf.close()


class DirectWriter:
    """``O_DIRECT`` writes from page-aligned ``mmap`` buffers, reused across writes."""

    def __init__(self) -> None:
        self._enabled = _O_DIRECT != 0

    def usable(self, size: int) -> bool:
        """Whether a block of ``size`` bytes can be written directly."""
        return self._enabled and size > 0 and size % ALIGN == 0

    def open(self, path: Path) -> int | None:
        """Create ``path`` for direct writing, or None if this filesystem refuses it."""
        try:
            return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_DIRECT, 0o644)
        except OSError as exc:
            if exc.errno != errno.EINVAL:
                raise
            self._enabled = False
            return None

    def write(self, fd: int, data: bytes) -> bool:
        """Copy ``data`` into an aligned buffer and write all of it to ``fd``.

        Returns False, and stops using direct I/O, if the device refuses the write
        (``EINVAL``: its alignment needs are larger than :data:`ALIGN`); the caller then
        writes the block again through the page cache.
        """
        size = len(data)
        buf = take(size)
        try:
            buf[:size] = data
            with memoryview(buf)[:size] as view:
                done = 0
                while done < size:
                    done += os.write(fd, view[done:])  # direct I/O writes whole blocks
        except OSError as exc:
            if exc.errno != errno.EINVAL:
                raise
            self._enabled = False
            return False
        finally:
            give(buf)
        return True
