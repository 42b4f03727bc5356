"""Chain reads cached per head: one ``eth_blockNumber`` per block interval, not per request.

Every authenticated request re-reads the physician's standing and every redeemed grant's
state (so a suspension or revocation stops reading at once). Those are ``eth_call`` reads of a
few milliseconds each; a session with many grants would pay them all on every request. The
answers cannot change within a block, so they are cached under the head they were read at,
and the head itself is re-read at most every ``max_age_s`` (the block interval): a change on
chain is seen within one block interval plus one block, as
:meth:`gateway.abc.ChainViewAPI.physician_status` allows.

When the head moves, ``changes(old, new)`` says what the blocks in between did to each
cached value (the chain view reads the contracts' event logs of those blocks, one indexed
``eth_getLogs``): unchanged values are kept, values the logs fully account for are updated
(a grant's redemption only counts one use), every other value the blocks may have touched
is dropped; without ``changes``, or when it fails, all are.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import TypeVar

T = TypeVar("T")


class _Stale:
    """The marker a :data:`Changes` answer returns for a value to drop."""


#: Returned by an ``Update`` for a value the new blocks may have changed in unknown ways.
STALE = _Stale()
#: The value of a key valid after the blocks ``(old, new]`` (the cached one, an updated
#: one, or :data:`STALE`).
Update = Callable[[Hashable, object], object]
#: What the blocks ``(old, new]`` did to cached values.
Changes = Callable[[int, int], Update]
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
        update = self._update(old, head) if head != old else None
        with self._lock:
            if update is not None and self._head == old:
                try:
                    kept = {k: update(k, v) for k, v in self._values.items()}
                except Exception:  # an update that cannot tell: drop everything
                    kept = {}
                self._values = {k: v for k, v in kept.items() if v is not STALE}
                self._head = head
            self._seen_at = now
            return self._head

    def _update(self, old: int, new: int) -> Update:
        if self._changes is None or old < 0:
            return _drop
        try:
            return self._changes(old, new)
        except Exception:  # any failure to tell: drop everything, stay correct
            return _drop

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


def _drop(_key: Hashable, _value: object) -> object:
    return STALE
