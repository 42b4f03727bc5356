"""``BftNode``: one validator's consensus loop over the p2p links (see :mod:`ledger.bft`).

What remains here once gossip, sync, candidates, evidence and the proposed blocks' store
are apart: the lifecycle (when a height starts, restarting after a sync), acting on the
:class:`ConsensusDriver`'s outputs (checkpoint first) and routing inbound frames.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Coroutine
from pathlib import Path

from ledger.bft.candidates import Candidates
from ledger.bft.evidence import EvidenceLog
from ledger.bft.gossip import MAX_HEIGHT_MESSAGES, Gossip
from ledger.bft.proposals import ProposedBlocks
from ledger.bft.sync import CatchUp
from ledger.chain import Ledger
from ledger.consensus import (
    Broadcast,
    ConsensusDriver,
    ConsensusError,
    Decide,
    Equivocation,
    KeySigner,
    Message,
    Output,
    Proposal,
    ScheduleTimeout,
    Timeout,
    TimeoutConfig,
    build_commit,
)
from ledger.exceptions import LedgerError, TransactionRejected
from ledger.p2p import codec
from ledger.p2p.bulk_verify import BulkRecovery, message_pair
from ledger.p2p.checkpoint import CheckpointFile
from ledger.p2p.exceptions import FrameError
from ledger.p2p.framing import Kind
from ledger.p2p.keys import NodeKey
from ledger.p2p.peers import allowed_peers
from ledger.p2p.transport import Endpoint, Transport
from ledger.typing import Address
from ledger.validator_sets import ValidatorSets

log = logging.getLogger(__name__)


class BftNode:
    """One validator's consensus loop; :meth:`run` until the stop event is set."""

    def __init__(
        self,
        *,
        ledger: Ledger,
        key: bytes,
        listen: tuple[str, int],
        peers: dict[Address, Endpoint],
        data_dir: Path,
        timeouts: TimeoutConfig,
        gossip_s: float = 0.5,
        announce: str = "",
    ) -> None:
        self.ledger = ledger
        self._configured = frozenset(peers)
        self._signer = KeySigner(key)
        self._node_key = NodeKey(key)
        self._listen = listen
        self._chain_id = int(ledger.chain_id)
        self._sets = ValidatorSets(ledger.validators_at)
        self._timeouts = timeouts
        self._gossip_s = gossip_s
        self._checkpoints = CheckpointFile(data_dir / "consensus-checkpoint.rlp")
        self._proposed = ProposedBlocks(data_dir / "proposed-blocks")
        self._evidence = EvidenceLog(data_dir / "evidence.jsonl")
        self.candidates = Candidates(ledger, timeouts)
        self._inbox: list[tuple[Address, Message, bytes]] = []
        self._drainer: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.recovery = BulkRecovery()
        self._ahead: set[bytes] = set()  # signatures of next-height messages buffered
        self._active = False
        self._resume = False
        self._seen_height = 0  # highest height of a valid-looking peer consensus message
        self._loop: asyncio.AbstractEventLoop | None = None
        self.listening = threading.Event()
        self.transport = Transport(
            key=self._node_key,
            chain_id=self._chain_id,
            peers=peers,
            handler=self._on_frame,
            on_connect=self._on_connect,
            announce=announce,
        )
        self._gossip = Gossip(self.transport, self.candidates.blocks, gossip_s=gossip_s)
        self._catch_up = CatchUp(
            ledger=ledger,
            transport=self.transport,
            recovery=self.recovery,
            executed=self.candidates.executed,
            on_import=self._on_synced,
        )
        self.sync = self._catch_up.blocks
        self.driver = self._new_driver()

    @property
    def evidence(self) -> list[dict[str, object]]:
        """Equivocation records seen so far (also in ``evidence.jsonl``)."""
        return self._evidence.records

    # --- lifecycle ----------------------------------------------------------------

    def _new_driver(self) -> ConsensusDriver:
        height = self.ledger.head().block_number + 1
        checkpoint = self._checkpoints.load()
        if checkpoint is not None and checkpoint.height != height:
            checkpoint = None
        if checkpoint is not None:
            for block in self._proposed.load(height):
                self.candidates.remember(block)
        self._active = False
        self._gossip.forget()
        self._ahead.clear()
        driver = ConsensusDriver(
            chain_id=self._chain_id,
            height=height,
            validators=self._sets.at(height),
            signer=self._signer,
            get_value=self.candidates.build,
            is_valid=self.candidates.is_valid,
            timeouts=self._timeouts,
            checkpoint=checkpoint,
        )
        # Had we signed at this height, resume and re-send at once (peers may need it).
        self._resume = checkpoint is not None
        return driver

    async def run(self, stop: asyncio.Event) -> None:
        self._loop = asyncio.get_running_loop()
        self._refresh_peers()
        await self.transport.start(*self._listen)
        self.listening.set()
        log.info(
            "validator 0x%s: p2p listening on %s:%d, head #%d",
            self._node_key.address.hex(),
            *self._listen,
            self.ledger.head().block_number,
        )
        if self._resume or self._has_work():
            self._activate()
        try:
            while not stop.is_set():
                try:
                    await asyncio.wait_for(stop.wait(), self._gossip_s)
                except TimeoutError:
                    self._gossip_tick()
        finally:
            for task in [self._drainer, *self._tasks]:
                if task is not None:
                    task.cancel()
            await self.transport.close()
            self.recovery.close()

    def submit(self, raw: bytes) -> None:
        """A transaction admitted through RPC (any thread): gossip it, start a height."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._on_local_transaction, raw)

    # --- transactions -------------------------------------------------------------

    def _on_local_transaction(self, raw: bytes) -> None:
        if self._loop is not None:
            self._gossip.queue_transaction(raw, self._loop)
        if self._has_work():
            self._activate()

    def _on_transactions(self, raws: list[bytes]) -> None:
        admitted = 0
        for raw in raws:
            try:
                self.ledger.send_raw_transaction(raw)
                admitted += 1
            except TransactionRejected:
                continue  # known already, mined, or invalid: gossip is not trusted
        if admitted and self._has_work():
            self._activate()

    # --- consensus ----------------------------------------------------------------

    def _has_work(self) -> bool:
        """A transaction a block could include now, or a peer already at the next height."""
        if self._active:
            return False
        if self._seen_height >= self._current_height():
            return True
        if not len(self.ledger.mempool):
            return False
        return bool(self.ledger.mempool.take(self.ledger.gas_limit, 1))

    def _activate(self) -> None:
        """Start the next height (if not started): there is something to decide."""
        if self._active:
            return
        self._active = True
        self._gossip.progressed()
        if self.driver.machine.decision is not None:
            height = self.driver.height + 1
            self._act(self.driver.next_height(self._sets.at(height)))
        else:
            self._act(self.driver.start())

    def _current_height(self) -> int:
        if self.driver.machine.decision is not None:
            return self.driver.height + 1
        return self.driver.height

    def _act(self, outputs: list[Output]) -> None:
        if any(isinstance(o, Broadcast) for o in outputs):
            # checkpoint first: nothing this validator signed leaves before it is on disk
            checkpoint = self.driver.checkpoint()
            self._proposed.save(checkpoint, self.candidates.blocks)
            self._checkpoints.save(checkpoint)
        for out in outputs:
            if isinstance(out, Broadcast):
                self._gossip.record(out.message, self.driver.height)
                self._gossip.send(out.message)
            elif isinstance(out, ScheduleTimeout):
                self._schedule(out.timeout, out.duration_ms)
            elif isinstance(out, Decide):
                self._decide(out)
            elif isinstance(out, Equivocation):
                self._evidence.report(out)

    def _schedule(self, timeout: Timeout, duration_ms: int) -> None:
        assert self._loop is not None

        def fire() -> None:
            if timeout.height == self.driver.height:
                self._act(self.driver.on_timeout(timeout))

        self._loop.call_later(duration_ms / 1000, fire)

    def _decide(self, decision: Decide) -> None:
        if self.ledger.head().block_number >= decision.height:
            return  # synced meanwhile
        executed = self.candidates.decided(decision.value, decision.height)
        if executed is None:
            return
        block, receipts = executed
        try:
            self.ledger.commit_executed(block, receipts, build_commit(decision))
        except LedgerError:
            log.exception("cannot commit decided block #%d; will sync it", decision.height)
            return
        log.info(
            "committed block #%d 0x%s round %d, %d txs",
            block.number,
            block.hash.hex()[:16],
            decision.round,
            len(block.transactions),
        )
        self._after_commit()
        self._gossip.status(block.number)

    def _refresh_peers(self) -> None:
        """Link with the validators of the next height (:mod:`ledger.p2p.peers`)."""
        self.transport.allow(
            allowed_peers(
                history=self.ledger.validator_changes(),
                height=self.ledger.head().block_number + 1,
                configured=self._configured,
            )
        )

    def _after_commit(self) -> None:
        self._refresh_peers()
        self._proposed.forget(self.ledger.head().block_number)
        self._ahead.clear()
        self.candidates.committed()
        self._gossip.forget()
        self._active = False
        self._gossip.progressed()
        if self._has_work():
            self._activate()

    def _on_synced(self) -> None:
        """Blocks came by sync: consensus restarts at the new head."""
        self._refresh_peers()
        self.candidates.synced(self.ledger.head().block_number)
        self.driver = self._new_driver()
        if self._resume or self._has_work():
            self._activate()

    # --- network ------------------------------------------------------------------

    def _on_connect(self, peer: Address) -> None:
        self._gossip.on_connect(peer, self.ledger.head().block_number)

    def _gossip_tick(self) -> None:
        self._gossip.status(self.ledger.head().block_number)
        self.sync.tick()
        position = (self.driver.height, self.driver.machine.round)
        self._gossip.tick(position, active=self._active)

    def _on_frame(self, peer: Address, kind: Kind, payload: bytes) -> None:
        if kind is Kind.CONSENSUS:
            message, raw_block = codec.decode_consensus(payload)
            self._inbox.append((peer, message, raw_block))
            if self._drainer is None or self._drainer.done():
                self._drainer = asyncio.ensure_future(self._drain())
        elif kind is Kind.TRANSACTIONS:
            self._on_transactions(codec.decode_transactions(payload))
        elif kind is Kind.STATUS:
            self.sync.on_status(peer, codec.decode_status(payload))
        elif kind is Kind.GET_BLOCKS:
            self.sync.on_get_blocks(peer, *codec.decode_get_blocks(payload))
        elif kind is Kind.BLOCKS:
            self._spawn(self._catch_up.on_blocks(peer, codec.decode_blocks(payload)))

    def _spawn(self, coroutine: Coroutine[None, None, None]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _drain(self) -> None:
        """Handle queued consensus messages in arrival order, a batch at a time.

        The signatures of a batch that a boundary check will need (messages of the
        current height) are recovered first, in one call off the loop; frames that
        arrive meanwhile form the next batch.
        """
        while self._inbox:
            batch, self._inbox = self._inbox, []
            height = self._current_height()
            pairs = [
                pair
                for _, message, _ in batch
                if message.height == height
                and not self._gossip.holds(message.signature)
                and (pair := message_pair(message, self._chain_id)) is not None
            ]
            await self.recovery.prefetch(pairs)
            for peer, message, raw_block in batch:
                try:
                    self._on_consensus(peer, message, raw_block)
                except FrameError as exc:
                    log.warning("consensus message from 0x%s refused: %s", peer.hex(), exc)
                except Exception:  # a bug must not lose the rest of the batch
                    log.exception("consensus message from 0x%s failed", peer.hex())

    def _on_consensus(self, peer: Address, message: Message, raw_block: bytes) -> None:
        height = self._current_height()
        if message.height > height:
            self.sync.behind(peer, message.height - 1)
        if message.height == height + 1:
            self._seen_height = max(self._seen_height, message.height)
        if message.height != height and message.height != height + 1:
            return
        if self._gossip.holds(message.signature) or message.signature in self._ahead:
            return  # replayed or re-sent: the machine has it
        if message.height == height + 1 and len(self._ahead) < MAX_HEIGHT_MESSAGES:
            self._ahead.add(message.signature)
        if isinstance(message, Proposal):
            self.candidates.receive(message, raw_block)
        if message.height == height and not self._active:
            self._activate()
        try:
            outputs = self.driver.receive(message)
        except ConsensusError as exc:
            raise FrameError(f"consensus message refused: {exc}") from exc
        self._gossip.record(message, self.driver.height)
        self._act(outputs)
