"""Catching up a validator that was down: blocks by sync, their commit seals in bulk.

:class:`ledger.p2p.sync.BlockSync` asks a peer ahead for blocks and imports them; this is
the validator's side of it. A reply's commit seals are all recovered in one call off the
event loop (:mod:`ledger.p2p.bulk_verify`) before the import verifies each commit
(``Ledger.import_block``: > 2/3 of the height's validators, the same check as for a
decision). A block this node already executed as a consensus candidate is committed from
that execution instead of being executed again.
"""

from __future__ import annotations

from collections.abc import Callable

from eth.abc import BlockAPI

from ledger.abc import Commit
from ledger.bft.candidates import Executed
from ledger.chain import Ledger
from ledger.exceptions import LedgerError
from ledger.p2p.bulk_verify import BulkRecovery, Pair, commit_pairs
from ledger.p2p.sync import BlockSync
from ledger.p2p.transport import Transport
from ledger.seal import decode_commit
from ledger.typing import Address, Hash32


class CatchUp:
    """Block sync for a validator; ``executed`` is its (shared) cache of candidates."""

    def __init__(
        self,
        *,
        ledger: Ledger,
        transport: Transport,
        recovery: BulkRecovery,
        executed: Executed,
        on_import: Callable[[], None],
    ) -> None:
        self._ledger = ledger
        self._chain_id = int(ledger.chain_id)
        self._recovery = recovery
        self._executed = executed
        self.blocks = BlockSync(
            ledger=ledger, transport=transport, import_block=self._import, on_import=on_import
        )

    def _import(self, block: BlockAPI, commit: Commit) -> None:
        executed = self._executed.pop(Hash32(block.hash), None)
        if executed is not None:
            self._ledger.commit_executed(executed[0], executed[1], commit)
            return
        try:
            self._ledger.import_block(block, commit)
        except BaseException:
            # a failed import discards the ledger's pending writes, and with them the
            # state of the candidates executed meanwhile: they must be judged again
            self._executed.clear()
            raise

    async def on_blocks(self, peer: Address, pairs: list[tuple[bytes, bytes]]) -> None:
        """A sync reply: recover all its commit seals in one call, then import."""
        seals: list[Pair] = []
        for _, raw_commit in pairs:
            try:
                seals += commit_pairs(decode_commit(raw_commit), self._chain_id)
            except LedgerError:
                break  # the import reports the bad commit
        await self._recovery.prefetch(seals)
        self.blocks.on_blocks(peer, pairs)
