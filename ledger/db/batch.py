"""A write batch that buffers in memory and hands its diff to a commit function.

py-evm's contract for ``atomic_batch()`` (see ``eth/tools/db/atomic.py``): writes made
through the batch are visible to reads through the batch, writes made directly on the
database during the batch happen immediately, and at the end the batch's writes win. A
buffered diff gives exactly that; the store decides how to apply it atomically.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from eth.abc import AtomicWriteBatchAPI, DatabaseAPI
from eth.db.backends.base import BaseDB
from eth_utils.exceptions import ValidationError

#: key -> new value, or ``None`` for a deletion.
PendingWrites = dict[bytes, bytes | None]


class WriteBatch(BaseDB, AtomicWriteBatchAPI):
    """The view of a store inside ``atomic_batch()``: pending writes over the store."""

    def __init__(self, target: DatabaseAPI) -> None:
        self._target = target
        self._pending: PendingWrites | None = {}

    def _live(self) -> PendingWrites:
        if self._pending is None:
            raise ValidationError("write batch used outside of its context")
        return self._pending

    def __getitem__(self, key: bytes) -> bytes:
        pending = self._live()
        if key in pending:
            value = pending[key]
            if value is None:
                raise KeyError(key)
            return value
        return self._target[key]

    def __setitem__(self, key: bytes, value: bytes) -> None:
        self._live()[key] = value

    def __delitem__(self, key: bytes) -> None:
        if not self._exists(key):
            raise KeyError(key)
        self._live()[key] = None

    def _exists(self, key: bytes) -> bool:
        pending = self._live()
        if key in pending:
            return pending[key] is not None
        return key in self._target

    @classmethod
    @contextmanager
    def commit_unless_raises(
        cls, target: DatabaseAPI, commit: Callable[[PendingWrites], None]
    ) -> Iterator[AtomicWriteBatchAPI]:
        """Yield a batch; on normal exit pass its writes to ``commit``, on error drop them."""
        batch = cls(target)
        try:
            yield batch
            commit(batch._live())
        finally:
            batch._pending = None
