"""Write blocks on a few threads while the caller keeps hashing and encrypting.

Writing a block (allocating page cache, ``fsync``, ``rename``) spends its time in the kernel
with the GIL released, so overlapping it with the CPU-bound import roughly hides it. At most
``max_pending`` blocks are in flight, which bounds memory; the first error is re-raised.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from types import TracebackType


class BlockWriter:
    """Run ``write(*args)`` calls on worker threads, in bounded number."""

    def __init__(self, *, workers: int = 3, max_pending: int = 6) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="blob-write")
        self._pending: deque[Future[None]] = deque()
        self._max = max_pending

    def submit(self, write: Callable[..., None], *args: object) -> None:
        """Queue one write, first waiting for the oldest one if too many are in flight."""
        while len(self._pending) >= self._max:
            self._pending.popleft().result()
        self._pending.append(self._pool.submit(write, *args))

    def drain(self) -> None:
        """Wait for every queued write; raise the first failure."""
        while self._pending:
            self._pending.popleft().result()

    def __enter__(self) -> BlockWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if exc_type is None:
                self.drain()
        finally:
            for future in self._pending:
                future.cancel()
            self._pool.shutdown(wait=True)
