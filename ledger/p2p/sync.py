"""Block sync: a node behind asks a peer for the blocks after its head, trusting no one.

Peers' heads come from their STATUS frames (and from consensus messages of later heights).
A node behind asks one peer at a time for up to :data:`BATCH` blocks from its head + 1;
each block is imported only if its commit proves it final under the validator set and it
re-executes to the same roots (``Ledger.import_block``). A peer that sends a block that
fails is suspected for a while and another peer is asked; a request unanswered within
:data:`REQUEST_TIMEOUT` is abandoned likewise.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from eth.abc import BlockAPI

from ledger.abc import Commit
from ledger.chain import Ledger
from ledger.exceptions import LedgerError
from ledger.p2p import codec
from ledger.p2p.exceptions import FrameError
from ledger.p2p.framing import MAX_FRAME, Kind
from ledger.p2p.transport import Transport
from ledger.seal import decode_commit
from ledger.typing import Address, BlockNumber

log = logging.getLogger(__name__)

BATCH = 32
REQUEST_TIMEOUT = 3.0
SUSPECT_FOR = 10.0
SYNC_GRACE = 2.0
MAX_REPLY = MAX_FRAME // 2


class BlockSync:
    """Serve and request blocks with their commits."""

    def __init__(
        self,
        *,
        ledger: Ledger,
        transport: Transport,
        import_block: Callable[[BlockAPI, Commit], None],
        on_import: Callable[[], None],
    ) -> None:
        self._ledger = ledger
        self._transport = transport
        self._import = import_block
        self._on_import = on_import
        self._heads: dict[Address, int] = {}
        self._suspect: dict[Address, float] = {}
        self._inflight: tuple[Address, float] | None = None
        self._behind_since: tuple[int, float] | None = None

    def tick(self) -> None:
        """Re-check periodically (the grace period of a one-block lag may have passed)."""
        self._maybe_request()

    def on_status(self, peer: Address, head: int) -> None:
        self._heads[peer] = head
        self._maybe_request()

    def behind(self, peer: Address, head: int) -> None:
        """A consensus message shows ``peer`` has at least ``head``."""
        if head > self._heads.get(peer, 0):
            self._heads[peer] = head
        self._maybe_request()

    def _maybe_request(self) -> None:
        now = time.monotonic()
        if self._inflight is not None:
            peer, since = self._inflight
            if now - since < REQUEST_TIMEOUT:
                return
            self._suspect[peer] = now
            self._inflight = None
        ours = self._ledger.head().block_number
        best = max(self._heads.values(), default=0)
        if best <= ours:
            self._behind_since = None
            return
        # One block behind is the normal state of a validator whose peers committed first:
        # consensus is about to decide it here too. Sync only when further behind, or when
        # consensus has not caught up within the grace period.
        if self._behind_since is None or self._behind_since[0] != ours:
            self._behind_since = (ours, now)
        if best == ours + 1 and now - self._behind_since[1] < SYNC_GRACE:
            return
        candidates = [
            (head, peer)
            for peer, head in self._heads.items()
            if head > ours
            and now - self._suspect.get(peer, -SUSPECT_FOR) >= SUSPECT_FOR
            and peer in self._transport.connected
        ]
        if not candidates:
            return
        _, peer = max(candidates)
        self._inflight = (peer, now)
        self._transport.send(peer, Kind.GET_BLOCKS, codec.encode_get_blocks(ours + 1, BATCH))

    def on_get_blocks(self, peer: Address, first: int, count: int) -> None:
        head = self._ledger.head().block_number
        pairs: list[tuple[bytes, bytes]] = []
        size = 0
        for number in range(first, min(head, first + count - 1) + 1):
            block = self._ledger.get_block_by_number(BlockNumber(number))
            raw = codec.encode_block(block)
            commit = codec.encode_commit(self._ledger.get_commit(BlockNumber(number)))
            size += len(raw) + len(commit)
            if pairs and size > MAX_REPLY:
                break
            pairs.append((raw, commit))
        self._transport.send(peer, Kind.BLOCKS, codec.encode_blocks(pairs))

    def on_blocks(self, peer: Address, pairs: list[tuple[bytes, bytes]]) -> None:
        if self._inflight is None or self._inflight[0] != peer:
            return  # unsolicited (or late): ignored
        self._inflight = None
        imported = 0
        for raw, raw_commit in pairs:
            try:
                block = codec.decode_block(raw)
                commit = decode_commit(raw_commit)
                ours = self._ledger.head().block_number
                if block.number <= ours:
                    continue  # consensus committed it meanwhile
                if block.number != ours + 1:
                    raise FrameError(f"block #{block.number} is not the next one")
                self._import(block, commit)
            except (LedgerError, FrameError) as exc:
                log.warning("sync: block from 0x%s refused: %s", peer.hex(), exc)
                self._suspect[peer] = time.monotonic()
                break
            imported += 1
        if imported:
            log.info(
                "synced %d blocks from 0x%s, head #%d",
                imported,
                peer.hex(),
                self._ledger.head().block_number,
            )
            self._on_import()
        self._maybe_request()
