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

from common.lru import BoundedMemo
from ledger.typing import Address

CAPACITY = 65_536


class RecoveryCache:
    """An LRU map ``(digest, signature) -> signer address`` with hit/miss counters."""

    def __init__(self, capacity: int = CAPACITY) -> None:
        self._entries: BoundedMemo[bytes, Address] = BoundedMemo(capacity)
        self._counting = threading.Lock()  # exact counters across the process's threads
        self.hits = 0
        self.misses = 0

    def get(self, digest: bytes, signature: bytes) -> Address | None:
        signer = self._entries.get(digest + signature)
        with self._counting:
            if signer is None:
                self.misses += 1
            else:
                self.hits += 1
        return signer

    def put(self, digest: bytes, signature: bytes, signer: Address) -> None:
        self._entries.put(digest + signature, signer)

    def __contains__(self, pair: object) -> bool:
        if not isinstance(pair, tuple) or len(pair) != 2:
            return False
        return bytes(pair[0]) + bytes(pair[1]) in self._entries

    def __len__(self) -> int:
        return len(self._entries)


#: The process-wide cache used by :func:`ledger.seal.recover_signer`.
SIGNERS = RecoveryCache()
