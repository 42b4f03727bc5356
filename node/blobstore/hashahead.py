"""Hash leaves on a helper thread while the caller's thread produces the next ones.

Encrypt-then-address does two passes over every byte: AES-GCM (in the source iterator) and
SHA-256 (for the CID). ``hashlib`` releases the GIL while it hashes a large buffer, so with
the hash of leaf ``i`` running on a second core while leaf ``i + 1`` is encrypted and cut,
the two passes overlap instead of adding up. Small inputs (one short leaf: most records)
are hashed inline: a thread hand-off would cost more than the hash. At most ``depth``
leaves are held beyond the caller's current one, so memory stays flat.
"""

from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from types import TracebackType

#: Leaves shorter than this are hashed on the caller's thread.
MIN_THREADED = 64 * 1024


def _sha256(chunk: bytes) -> bytes:
    return hashlib.sha256(chunk).digest()


class HashAhead:
    """Pairs each chunk with its SHA-256 digest, computing up to ``depth`` of them ahead."""

    def __init__(self, *, depth: int = 2) -> None:
        self._depth = depth
        self._pool: ThreadPoolExecutor | None = None

    def hashed(self, chunks: Iterable[bytes]) -> Iterator[tuple[bytes, bytes]]:
        """Yield ``(chunk, sha256(chunk))`` in the order of ``chunks``."""
        pending: deque[tuple[bytes, Future[bytes] | bytes]] = deque()
        for chunk in chunks:
            if len(chunk) >= MIN_THREADED:
                if self._pool is None:
                    self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="blob-hash")
                pending.append((chunk, self._pool.submit(_sha256, chunk)))
            else:
                pending.append((chunk, _sha256(chunk)))
            while len(pending) > self._depth:
                yield _resolved(pending.popleft())
        while pending:
            yield _resolved(pending.popleft())

    def __enter__(self) -> HashAhead:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)


def _resolved(item: tuple[bytes, Future[bytes] | bytes]) -> tuple[bytes, bytes]:
    chunk, digest = item
    return chunk, digest if isinstance(digest, bytes) else digest.result()
