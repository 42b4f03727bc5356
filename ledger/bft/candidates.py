"""The candidate blocks of the current height: built, received, judged, each executed once.

A proposer builds its block from the mempool (``Ledger.build_block``); the others judge a
proposed block by executing it (``Ledger.execute_block``: every ``import_block`` check,
nothing committed). The executed result is cached by block hash and the decided block is
committed from that cache (``Ledger.commit_executed``), so each node executes a block
once. Block size follows the measured execution speed (:mod:`ledger.p2p.block_budget`).
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict

from eth.abc import BlockAPI, ReceiptAPI

from ledger.chain import MAX_TRANSACTIONS_PER_BLOCK, Ledger
from ledger.consensus import Proposal, TimeoutConfig
from ledger.exceptions import LedgerError
from ledger.p2p import codec
from ledger.p2p.block_budget import BlockBudget
from ledger.p2p.exceptions import FrameError
from ledger.typing import Hash32

log = logging.getLogger(__name__)

#: block hash -> the executed block and its receipts (committed from here on decision)
Executed = dict[Hash32, tuple[BlockAPI, tuple[ReceiptAPI, ...]]]

MAX_CANDIDATES = 64  # blocks held per height (proposals of every round, a liar's extras)


class Candidates:
    """The blocks by hash (``blocks``), their executions (``executed``), the invalid ones."""

    def __init__(self, ledger: Ledger, timeouts: TimeoutConfig) -> None:
        self._ledger = ledger
        self._budget = BlockBudget(timeouts, ceiling=MAX_TRANSACTIONS_PER_BLOCK)
        self.blocks: OrderedDict[Hash32, BlockAPI] = OrderedDict()
        self.executed: Executed = {}
        self._invalid: set[Hash32] = set()

    def build(self, height: int, round_: int) -> Hash32:
        """``getValue``: a block from the mempool, sized to arrive in time; its hash."""
        t0 = time.perf_counter()
        mempool = self._ledger.mempool
        pending = mempool.take(self._ledger.gas_limit, self._budget.limit(round_))
        block, receipts, skipped = self._ledger.build_block(pending)
        elapsed = time.perf_counter() - t0
        self._budget.observe(len(pending), elapsed)
        log.debug("built block #%d (%d txs) in %.0f ms", height, len(pending), elapsed * 1000)
        mempool.drop(skipped)
        value = Hash32(block.hash)
        self.remember(block)
        self.executed[value] = (block, receipts)
        log.debug("proposing block #%d round %d with %d txs", height, round_, len(pending))
        return value

    def is_valid(self, height: int, value: Hash32) -> bool:
        """``valid(v)``: the block named by ``value`` executes on our head at ``height``."""
        if value in self.executed:
            return True
        block = self.blocks.get(value)
        if block is None or value in self._invalid or block.number != height:
            return False
        try:
            t0 = time.perf_counter()
            self.executed[value] = self._ledger.execute_block(block)
            elapsed = time.perf_counter() - t0
            self._budget.observe(len(block.transactions), elapsed)
            log.debug(
                "executed block #%d (%d txs) in %.0f ms",
                height,
                len(block.transactions),
                elapsed * 1000,
            )
        except LedgerError as exc:
            log.warning("proposed block #%d 0x%s is invalid: %s", height, value.hex(), exc)
            self._invalid.add(value)
            return False
        return True

    def receive(self, proposal: Proposal, raw_block: bytes) -> None:
        """Hold the block a peer's proposal carries; raises ``FrameError`` if it lies."""
        if not raw_block or proposal.value in self.blocks:
            return
        block = codec.decode_block(raw_block)
        if block.hash != proposal.value or block.number != proposal.height:
            raise FrameError("proposal carries another block than it names")
        self.remember(self._with_known_senders(block))

    def decided(self, value: Hash32, height: int) -> tuple[BlockAPI, tuple[ReceiptAPI, ...]] | None:
        """The executed decided block; ``None`` if not held or not executable (sync it)."""
        executed = self.executed.get(value)
        if executed is not None:
            return executed
        block = self.blocks.get(value)
        if block is None:
            log.warning("decided block #%d not held; will sync it", height)
            return None
        try:
            return self._ledger.execute_block(block)
        except LedgerError:
            log.exception("decided block #%d does not execute; will sync", height)
            return None

    def remember(self, block: BlockAPI) -> None:
        self.blocks[Hash32(block.hash)] = block
        while len(self.blocks) > MAX_CANDIDATES:
            self.blocks.popitem(last=False)

    def committed(self) -> None:
        """A block was committed: no execution of this height is of use any more."""
        self.executed.clear()
        self._invalid.clear()

    def synced(self, head: int) -> None:
        """Blocks came by sync up to ``head``.

        Candidates executed for a height above the new head stay executed (their parent
        is the block just imported, or they will never be decided); the others go.
        """
        for value in [v for v, (block, _) in self.executed.items() if block.number <= head]:
            del self.executed[value]
        self._invalid.clear()

    def _with_known_senders(self, block: BlockAPI) -> BlockAPI:
        """The block with its transactions replaced by our mempool's copies of them.

        Same hash, same bytes; but the mempool's copies already carry their recovered
        sender (admission recovered it), so executing the block does not recover every
        sender a second time.
        """
        mempool = self._ledger.mempool
        known = [mempool.get(Hash32(tx.hash)) for tx in block.transactions]
        if not any(known):
            return block
        transactions = [
            k if k is not None else tx for k, tx in zip(known, block.transactions, strict=True)
        ]
        return block.copy(transactions=transactions)
