"""An in-memory overlay that collects every write py-evm makes while building one block.

py-evm writes a block in many small steps (trie nodes as the state is persisted, the
transaction and receipt tries, the header, the canonical-head pointer, each inside its own
``atomic_batch``). A crash between two of those steps must not leave a half-written block,
and the block must land together with our own records (commit seals, log index). So the
chain runs over this overlay; the ledger takes the overlay's writes once the block is
complete and commits them, with its own records, in one LMDB write transaction.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from eth.abc import AtomicWriteBatchAPI, DatabaseAPI
from eth.db.backends.base import BaseAtomicDB

from ledger.db.batch import PendingWrites, WriteBatch


class OverlayDB(BaseAtomicDB):
    """Reads fall through to ``base``; writes stay here until :meth:`take_writes`."""

    def __init__(self, base: DatabaseAPI) -> None:
        self._base = base
        self._pending: PendingWrites = {}

    def __getitem__(self, key: bytes) -> bytes:
        if key in self._pending:
            value = self._pending[key]
            if value is None:
                raise KeyError(key)
            return value
        return self._base[key]

    def __setitem__(self, key: bytes, value: bytes) -> None:
        self._pending[key] = value

    def __delitem__(self, key: bytes) -> None:
        if not self._exists(key):
            raise KeyError(key)
        self._pending[key] = None

    def _exists(self, key: bytes) -> bool:
        if key in self._pending:
            return self._pending[key] is not None
        return key in self._base

    @contextmanager
    def atomic_batch(self) -> Iterator[AtomicWriteBatchAPI]:
        with WriteBatch.commit_unless_raises(self, self._pending.update) as batch:
            yield batch

    def take_writes(self) -> PendingWrites:
        """Return the collected writes and start empty (the caller commits them)."""
        writes, self._pending = self._pending, {}
        return writes

    def discard(self) -> None:
        """Forget every collected write (the block being built is abandoned)."""
        self._pending = {}
