"""Which blocks this ledger executed: a block executed twice is a re-execution, counted.

Every validator executes every block; it must do so once. The proposer executes its block
while building it (``build_block``), the others while judging the proposal
(``execute_block``), and a block that comes by sync is executed by ``import_block``; the
decided block is then committed from that result (``commit_executed``), never executed
again. :class:`ExecutionLog` checks this in production and tests: every execution path
notes the block hash, and a hash noted twice increments :attr:`reexecutions` (and logs a
warning). Bounded: it remembers the last ``capacity`` hashes.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict

log = logging.getLogger(__name__)


class ExecutionLog:
    """Counts block executions and re-executions (same block hash executed again)."""

    def __init__(self, capacity: int = 4_096) -> None:
        self._capacity = capacity
        self._seen: OrderedDict[bytes, None] = OrderedDict()
        self._lock = threading.Lock()
        self.executions = 0
        self.reexecutions = 0

    def note(self, block_hash: bytes, *, number: int, how: str) -> None:
        """Record that the block ``block_hash`` was just executed (by ``how``)."""
        with self._lock:
            self.executions += 1
            if block_hash in self._seen:
                self.reexecutions += 1
                log.warning("block #%d 0x%s executed again (%s)", number, block_hash.hex(), how)
                return
            self._seen[block_hash] = None
            while len(self._seen) > self._capacity:
                self._seen.popitem(last=False)
