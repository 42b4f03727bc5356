"""Signers already recovered, by ``(digest, signature)``: never verify one signature twice.

A precommit's signature is checked when the vote arrives, again as a commit seal when the
decided block is committed (``verify_commit``), and again in the next block's extraData
(its parent's commit) by every validator that judges or imports that block. Recovery is a
pure function of the exact 32-byte digest and 65-byte signature, so remembering its result
is safe: a hit returns what recomputing would return. Only successful recoveries are
stored (a failing signature raises again, at the same cost it had). Bounded, LRU, and
shared by the threads of one process (the RPC thread verifies commits too).
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from ledger.typing import Address

CAPACITY = 65_536


class RecoveryCache:
    """An LRU map ``(digest, signature) -> signer address`` with hit/miss counters."""

    def __init__(self, capacity: int = CAPACITY) -> None:
        self._capacity = capacity
        self._entries: OrderedDict[bytes, Address] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, digest: bytes, signature: bytes) -> Address | None:
        key = digest + signature
        with self._lock:
            signer = self._entries.get(key)
            if signer is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return signer

    def put(self, digest: bytes, signature: bytes, signer: Address) -> None:
        with self._lock:
            self._entries[digest + signature] = signer
            self._entries.move_to_end(digest + signature)
            while len(self._entries) > self._capacity:
                self._entries.popitem(last=False)

    def __contains__(self, pair: object) -> bool:
        if not isinstance(pair, tuple) or len(pair) != 2:
            return False
        with self._lock:
            return bytes(pair[0]) + bytes(pair[1]) in self._entries

    def __len__(self) -> int:
        return len(self._entries)


#: The process-wide cache used by :func:`ledger.seal.recover_signer`.
SIGNERS = RecoveryCache()
