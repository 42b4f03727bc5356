"""Append-only pack files: claiming one, appending blocks to it, reading blocks back.

A pack is ``packs/<id>.pack``: blocks one after another (a block of a multiple of
:data:`~node.blobstore.direct.ALIGN` bytes starts on an aligned offset, so it can be written
with ``O_DIRECT`` from a reused buffer, which this VM writes 2-3x faster than through fresh
page-cache pages; see :mod:`node.blobstore.direct`). Bytes only count once the index names
them: the committed size of a pack (``packs.size``) is where its durable, named content
ends, and anything past it is a torn tail of a writer that died, cut off by the next writer
that claims the pack (or by opening the store).

One writer per pack at a time, across threads and processes: a writer holds an exclusive,
non-blocking ``flock`` on the pack file; a pack that is busy is skipped and another (or a
new) one is used, so concurrent puts never wait for each other.
"""

from __future__ import annotations

import errno
import fcntl
import os
import threading
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from node.blobstore import direct
from node.blobstore.packindex import Location, PackIndex
from node.exceptions import BlobNotFound
from node.typing import CID

#: A pack is rolled (a new one started) once it would grow past this many bytes.
ROLL_BYTES = 256 << 20
_O_DIRECT: int = getattr(os, "O_DIRECT", 0)
#: Fresh pack ids a writer allocates before giving up (see :meth:`PackAppender._claim`).
_FRESH_TRIES = 64


def pack_path(directory: Path, pack: int) -> Path:
    """File of pack ``pack``."""
    return directory / f"{pack:08d}.pack"


def fsync_dir(directory: Path) -> None:
    """Make the names in ``directory`` durable."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def try_claim(path: Path) -> int | None:
    """Open ``path`` (created if missing) locked for appending, or None if a writer has it."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def cut_torn_tail(fd: int, committed: int) -> bool:
    """Truncate a claimed pack to its committed size; True if there was a tail to cut."""
    if os.fstat(fd).st_size > committed:
        os.ftruncate(fd, committed)
        return True
    return False


@dataclass(slots=True)
class _Claimed:
    pack: int
    fd: int
    direct_fd: int | None
    end: int


class PackAppender:
    """Append blocks to claimed packs on worker threads; :meth:`finish` makes them durable.

    Parameters
    ----------
    directory, index
        Where packs live, and the index giving their committed sizes.
    durable
        ``fsync`` in :meth:`finish` (turn off only for throwaway stores).
    workers, max_pending
        Writer threads (the disk's queue depth for direct writes) and blocks queued to them
        at most (bounds memory).
    avoid
        Packs never to append to (compaction's sources).
    """

    def __init__(
        self,
        directory: Path,
        index: PackIndex,
        *,
        durable: bool = True,
        roll_bytes: int | None = None,
        workers: int = 4,
        max_pending: int = 8,
        avoid: frozenset[int] = frozenset(),
    ) -> None:
        self._dir = directory
        self._index = index
        self._durable = durable
        self._roll = ROLL_BYTES if roll_bytes is None else roll_bytes
        self._max_pending = max_pending
        self._claims: list[_Claimed] = []
        self._pending: deque[Future[None]] = deque()
        self._pool: ThreadPoolExecutor | None = None
        self._workers = workers
        self._direct = _O_DIRECT != 0 and durable
        self._device = _DeviceState()
        self._avoid = avoid

    # -- claiming ------------------------------------------------------------------------

    def _current(self, size: int) -> _Claimed:
        if self._claims:
            cur = self._claims[-1]
            if cur.end == 0 or cur.end + size <= self._roll:
                return cur
        return self._claim(size)

    def _claim(self, size: int) -> _Claimed:
        mine = {c.pack for c in self._claims} | self._avoid
        for pack, committed in sorted(self._index.packs().items(), reverse=True):
            if pack in mine or committed + size > self._roll:
                continue
            fd = try_claim(pack_path(self._dir, pack))
            if fd is not None:
                # re-read under the lock: the previous holder may have committed meanwhile
                committed = self._index.packs().get(pack, committed)
                cut_torn_tail(fd, committed)
                return self._adopt(pack, fd, committed)
        for _ in range(_FRESH_TRIES):
            pack = self._index.new_pack()
            fd = try_claim(pack_path(self._dir, pack))
            if fd is not None:
                break
            # the new row is committed, so a writer claiming at the same moment can see the
            # empty pack and take it first: it is that writer's now; allocate another
        else:
            raise RuntimeError(f"{_FRESH_TRIES} fresh packs in a row were taken by other writers")
        if self._durable:
            fsync_dir(self._dir)  # the pack's name, before any index entry points into it
        return self._adopt(pack, fd, 0)

    def _adopt(self, pack: int, fd: int, end: int) -> _Claimed:
        direct_fd = None
        if self._direct:
            try:
                direct_fd = os.open(pack_path(self._dir, pack), os.O_WRONLY | _O_DIRECT)
            except OSError as exc:
                if exc.errno != errno.EINVAL:
                    os.close(fd)
                    raise
                self._direct = False  # this filesystem has no O_DIRECT (tmpfs...)
        claimed = _Claimed(pack, fd, direct_fd, end)
        self._claims.append(claimed)
        return claimed

    # -- appending -----------------------------------------------------------------------

    def append(self, data: bytes) -> Location:
        """Queue ``data`` for writing at the end of the current pack; return its location."""
        size = len(data)
        aligned = self._direct and self._device.direct_ok and size > 0 and size % direct.ALIGN == 0
        cur = self._current(size + (direct.ALIGN if aligned else 0))
        offset = cur.end + (-cur.end % direct.ALIGN if aligned else 0)
        cur.end = offset + size
        while len(self._pending) >= self._max_pending:
            self._pending.popleft().result()  # back-pressure; errors surface early
        if size < 64 * 1024 and not aligned:
            _pwrite_all(cur.fd, data, offset)  # a thread hand-off costs more than this write
        else:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self._workers, thread_name_prefix="pack-write")
            target = cur.direct_fd if aligned else None
            job = self._pool.submit(_write, self._device, cur.fd, target, data, offset)
            self._pending.append(job)
        return Location(cur.pack, offset, size)

    def append_group(self, blocks: list[bytes]) -> list[Location]:
        """Write ``blocks`` contiguously with one ``pwrite`` (small blobs: one append)."""
        total = sum(len(b) for b in blocks)
        cur = self._current(total)
        locations, offset = [], cur.end
        for block in blocks:
            locations.append(Location(cur.pack, offset, len(block)))
            offset += len(block)
        _pwrite_all(cur.fd, b"".join(blocks), cur.end)
        cur.end = offset
        return locations

    def finish(self) -> dict[int, int]:
        """Wait for every write and ``fsync`` each pack touched; return their new ends."""
        while self._pending:
            self._pending.popleft().result()
        if self._durable:
            for claimed in self._claims:
                os.fsync(claimed.fd)
        return {c.pack: c.end for c in self._claims}

    def close(self) -> None:
        """Stop the writers and release every claimed pack."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
        for claimed in self._claims:
            if claimed.direct_fd is not None:
                os.close(claimed.direct_fd)
            os.close(claimed.fd)  # releases the flock
        self._claims = []

    def __enter__(self) -> PackAppender:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _pwrite_all(fd: int, data: bytes | memoryview, offset: int) -> None:
    view = memoryview(data)
    while view:
        done = os.pwrite(fd, view, offset)
        view, offset = view[done:], offset + done


class _DeviceState:
    """Whether the device still takes direct writes (shared by an appender's threads)."""

    direct_ok = True


def _write(device: _DeviceState, fd: int, direct_fd: int | None, data: bytes, offset: int) -> None:
    """One block: direct from an aligned buffer when possible, else through the page cache."""
    if direct_fd is not None and device.direct_ok:
        size = len(data)
        buf = direct.take(size)
        try:
            buf[:size] = data
            with memoryview(buf)[:size] as view:
                _pwrite_all(direct_fd, view, offset)
            return
        except OSError as exc:
            if exc.errno != errno.EINVAL:
                raise
            device.direct_ok = False  # the device wants a larger alignment: go buffered
        finally:
            direct.give(buf)
    _pwrite_all(fd, data, offset)


class PackReader:
    """Reads blocks with one ``pread`` each, keeping one read-only descriptor per pack."""

    def __init__(self, directory: Path) -> None:
        self._dir = directory
        self._fds: dict[int, int] = {}
        self._lock = threading.Lock()

    def _fd(self, pack: int) -> int:
        fd = self._fds.get(pack)
        if fd is None:
            with self._lock:
                fd = self._fds.get(pack)
                if fd is None:
                    fd = os.open(pack_path(self._dir, pack), os.O_RDONLY)
                    self._fds[pack] = fd
        return fd

    def read(self, cid: CID, where: Location) -> bytes:
        """The bytes at ``where`` (unverified: the caller hashes them), short if cut."""
        try:
            fd = self._fd(where.pack)
        except FileNotFoundError:
            raise BlobNotFound(f"block {cid}: its pack is gone") from None
        data = os.pread(fd, where.length, where.offset)  # reads straight into the result
        if len(data) < where.length:
            more = os.pread(fd, where.length - len(data), where.offset + len(data))
            data += more  # regular files return short reads only at the end of file
        return data

    def forget(self, pack: int) -> None:
        """Close the descriptor of a deleted pack, so its space is freed."""
        with self._lock:
            fd = self._fds.pop(pack, None)
        if fd is not None:
            os.close(fd)

    def close(self) -> None:
        """Close every descriptor."""
        with self._lock:
            fds, self._fds = list(self._fds.values()), {}
        for fd in fds:
            os.close(fd)
