"""What a validator sends its peers: transactions, the height's consensus messages, status.

Transactions are sent to every peer (full mesh; the mempool dedups by hash), batched for
``TX_FLUSH_S``. Consensus messages are broadcast once (each encoded once, a proposal with
its block) and sent again to a peer whose link comes up. Links are TCP, so a message is
lost only with its link; as a safety net, a height that makes no progress for
``resend_after`` re-sends every message of it this node holds (its own, the proposal,
others' votes), then again at growing intervals. A height that is merely slow (a big
block executing on a shared CPU) must not flood its peers with copies.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping

from eth.abc import BlockAPI

from ledger.consensus import Message, Proposal
from ledger.p2p import codec
from ledger.p2p.framing import Kind
from ledger.p2p.transport import Transport
from ledger.typing import Address, Hash32

MAX_HEIGHT_MESSAGES = 2_000
TX_FLUSH_S = 0.01
#: A stalled height re-sends its messages after max(this, 4 gossip ticks), then backs off.
RESEND_AFTER_S = 1.0
RESEND_MAX_S = 16.0


class Gossip:
    """The messages of the current height held for re-sending, and the sending itself.

    ``blocks`` is the node's candidate blocks by hash: a proposal goes out with its block.
    """

    def __init__(
        self, transport: Transport, blocks: Mapping[Hash32, BlockAPI], *, gossip_s: float
    ) -> None:
        self._transport = transport
        self._blocks = blocks
        self._messages: dict[bytes, Message] = {}
        self._payloads: dict[bytes, bytes] = {}  # encoded frames of _messages, by signature
        self._pending_txs: list[bytes] = []
        self._resend_after = max(RESEND_AFTER_S, 4 * gossip_s)
        self._next_resend = 0.0
        self._position = (0, 0)
        self._progress = time.monotonic()

    # --- transactions -------------------------------------------------------------

    def queue_transaction(self, raw: bytes, loop: asyncio.AbstractEventLoop) -> None:
        """Send ``raw`` to every peer with the others queued in the next ``TX_FLUSH_S``."""
        if not self._pending_txs:
            loop.call_later(TX_FLUSH_S, self._flush_transactions)
        self._pending_txs.append(raw)

    def _flush_transactions(self) -> None:
        raws, self._pending_txs = self._pending_txs, []
        if raws:
            self._transport.broadcast(Kind.TRANSACTIONS, codec.encode_transactions(raws))

    # --- consensus messages -------------------------------------------------------

    def holds(self, signature: bytes) -> bool:
        return signature in self._messages

    def record(self, message: Message, height: int) -> None:
        """Hold ``message`` for re-sending if it is of ``height`` (the current one)."""
        if message.height == height and len(self._messages) < MAX_HEIGHT_MESSAGES:
            self._messages[message.signature] = message

    def forget(self) -> None:
        """A new height: the messages of the last one are no longer needed by anyone."""
        self._messages.clear()
        self._payloads.clear()

    def send(self, message: Message, peer: Address | None = None) -> None:
        """Send ``message`` to ``peer``, or to every peer; encoded once if held."""
        payload = self._payloads.get(message.signature)
        if payload is None:
            block = b""
            if isinstance(message, Proposal) and message.value in self._blocks:
                block = codec.encode_block(self._blocks[message.value])
            payload = codec.encode_consensus(message, block)
            if message.signature in self._messages:
                self._payloads[message.signature] = payload
        if peer is None:
            self._transport.broadcast(Kind.CONSENSUS, payload)
        else:
            self._transport.send(peer, Kind.CONSENSUS, payload)

    def status(self, head: int, peer: Address | None = None) -> None:
        """Tell ``peer`` (or every peer) our head; a peer behind asks for blocks."""
        if peer is None:
            self._transport.broadcast(Kind.STATUS, codec.encode_status(head))
        else:
            self._transport.send(peer, Kind.STATUS, codec.encode_status(head))

    def on_connect(self, peer: Address, head: int) -> None:
        """A link came up: our head, and every message of the height it may have missed."""
        self.status(head, peer)
        for message in list(self._messages.values()):
            self.send(message, peer)

    # --- the safety net -----------------------------------------------------------

    def progressed(self) -> None:
        """The height moved (started, decided): the stall clock restarts."""
        self._progress = time.monotonic()

    def tick(self, position: tuple[int, int], *, active: bool) -> None:
        """Each gossip tick: re-send the held messages if ``position`` is stalled."""
        now = time.monotonic()
        if position != self._position:
            self._position, self._progress = position, now
        stalled = now - self._progress
        if not active or stalled < self._resend_after:
            self._next_resend = 0.0
            return
        if now >= self._next_resend:
            # back off: the next re-send waits as long as the height has been stalled
            self._next_resend = now + min(max(stalled, self._resend_after), RESEND_MAX_S)
            for message in list(self._messages.values()):
                self.send(message)
