"""A size-bounded memo for facts that never change once known (immutable or final).

Shared by the gateway (a content-addressed package, the data key in it, a batch root
anchored at a final block, a verified header) and the ledger (the signer a signature
recovers to): a stale entry cannot exist, so eviction only costs a recomputation. The bound
keeps a long-running process's memory flat; the least recently used entry goes first.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")

#: Entries per cache unless told otherwise (a package, key or header is at most a few KB).
DEFAULT_ENTRIES = 4096


class BoundedMemo(Generic[K, V]):
    """``get``/``put`` with least-recently-used eviction beyond ``max_entries``; thread-safe."""

    def __init__(self, max_entries: int = DEFAULT_ENTRIES) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self._max = max_entries
        self._items: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: K, value: V) -> V:
        """Remember ``value`` (evicting the least recently used beyond the bound)."""
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self._max:
                self._items.popitem(last=False)
        return value

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._items

    def __len__(self) -> int:
        return len(self._items)
