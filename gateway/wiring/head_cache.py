"""Chain reads cached per head: one ``eth_blockNumber`` per block interval, not per request.

Every authenticated request re-reads the physician's standing and every redeemed grant's
state (so a suspension or revocation stops reading at once). Those are ``eth_call`` reads of a
few milliseconds each; a session with many grants would pay them all on every request. The
answers cannot change within a block, so they are cached under the head they were read at,
and the head itself is re-read at most every ``max_age_s`` (the block interval): a change on
chain is seen within one block interval plus one block, as
:meth:`gateway.abc.ChainViewAPI.physician_status` allows.

When the head moves, ``changes(old, new)`` says which keys the blocks in between may have
changed (the chain view reads the contracts' event logs of those blocks, one indexed
``eth_getLogs``), and only those are dropped; without it, or when it fails, all are.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import TypeVar

T = TypeVar("T")
#: Which cached keys the blocks ``(old, new]`` may have changed.
Changes = Callable[[int, int], Callable[[Hashable], bool]]
#: Entries kept at most; the oldest head's entries go first (a new head empties the cache).
MAX_ENTRIES = 4096


class HeadCache:
    """Values keyed by ``(key)`` valid while the chain head stays the one they were read at."""

    def __init__(
        self,
        read_head: Callable[[], int],
        *,
        max_age_s: float = 0.1,
        changes: Changes | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._read_head = read_head
        self._changes = changes
        self._max_age = max_age_s
        self._clock = clock
        self._lock = threading.Lock()
        self._head = -1
        self._seen_at = float("-inf")
        self._values: dict[Hashable, object] = {}

    def head(self) -> int:
        """The chain head, re-read when the last reading is older than ``max_age_s``."""
        now = self._clock()
        with self._lock:
            if now - self._seen_at < self._max_age:
                return self._head
        head = self._read_head()  # outside the lock: a slow RPC must not serialize readers
        with self._lock:
            old = self._head
        stale = self._stale(old, head) if head != old else None
        with self._lock:
            if stale is not None and self._head == old:
                for key in [k for k in self._values if stale(k)]:
                    del self._values[key]
                self._head = head
            self._seen_at = now
            return self._head

    def _stale(self, old: int, new: int) -> Callable[[Hashable], bool]:
        if self._changes is None or old < 0:
            return lambda _key: True
        try:
            return self._changes(old, new)
        except Exception:  # any failure to tell: drop everything, stay correct
            return lambda _key: True

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        """The cached value of ``key`` at the current head, computing it if absent."""
        head = self.head()
        with self._lock:
            if key in self._values:
                return self._values[key]  # type: ignore[return-value]
        value = compute()
        with self._lock:
            if self._head == head and len(self._values) < MAX_ENTRIES:
                self._values[key] = value
        return value
