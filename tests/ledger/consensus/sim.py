"""A deterministic, seeded network simulator that drives n real consensus machines.

Virtual time in milliseconds; one event queue; ``random.Random(seed)`` is the only source
of chance, so a schedule replays exactly (``Simulation.trace`` records every step).

What is modelled
----------------
- Validators have equal power or the schedule's ``powers`` (0: not a validator at
  genesis); ``changes`` add, re-weigh or remove validators at height boundaries. A node
  outside the set follows as an observer.
- Before GST: each send is lost with probability ``loss`` (plus ``prevote_loss`` or
  ``precommit_loss`` for that kind), delayed 1..``max_delay_ms``
  (so messages reorder), and duplicated with probability ``duplicate``. A partition drops
  every message between its groups until it heals. After GST: no loss, delays of at most
  ``post_gst_delay_ms``, duplicates still happen; the partition is healed by GST.
- Gossip: every ``gossip_ms`` each live node re-sends to each peer what that peer has not
  received yet: its own signed messages of the peer's height plus the proposals of its
  current round and the prevotes that justify their ``valid_round``, or, for a peer at a
  lower height, the decision certificate (proposal + precommits) of that height. Knowing
  the peer's height and which messages it already has models CometBFT's peer round state
  (NewRoundStep / HasVote messages); these re-sends go through the same lossy network.
  This gives the paper's gossip assumption (what a correct node received eventually
  reaches every correct node).
- Crash and restart: a crash loses everything in memory (machine, buffered messages,
  timers). A real node persists only its decided blocks with their commits and, before each
  send, the machine's :class:`Checkpoint` (round, step, locks, valid value and the messages
  it signed this height); no WAL of received messages. The restarted machine resumes in its
  round and step with its locks and re-sends what it signed, so it can neither double-sign
  nor abandon a lock nor withhold a vote a quorum needs; what it had received comes back by
  gossip.
- One Byzantine validator may equivocate: whenever its (otherwise honest) machine
  broadcasts, it also signs a conflicting twin (a different block, sometimes an invalid one,
  for proposals; a different value or nil for votes) and sends each peer the original, the
  twin, or both, in random order.

The simulator checks safety as it goes (no correct validator ever signs two different
messages for one height/round/kind; every commit verifies with ``verify_commit``) and
exposes the decisions for the agreement, validity and liveness checks of the tests.
"""

from __future__ import annotations

import heapq
import random
from dataclasses import dataclass, field

from eth_hash.auto import keccak

from ledger.consensus import (
    Broadcast,
    Checkpoint,
    ConsensusDriver,
    Decide,
    Equivocation,
    Message,
    Output,
    Proposal,
    ScheduleTimeout,
    SignerAPI,
    TendermintMachine,
    Timeout,
    Validator,
    ValidatorSet,
    Vote,
    VoteKind,
    build_commit,
    verify_commit,
)
from ledger.consensus.exceptions import ConsensusError
from ledger.exceptions import LedgerError
from ledger.typing import Address, Hash32
from tests.ledger.consensus.schedule import (
    CHAIN_ID,
    SIM_TIMEOUTS,
    CachingSigner,
    Crash,
    Partition,
    Schedule,
    cached_verify,
    signers,
    verified,
)


@dataclass(frozen=True)
class Block:
    height: int
    valid: bool


@dataclass
class Decided:
    value: Hash32
    round: int
    certificate: tuple[Message, ...]


@dataclass
class Node:
    index: int
    signer: CachingSigner
    alive: bool = True
    epoch: int = 0
    driver: ConsensusDriver | None = None
    chain: dict[int, Decided] = field(default_factory=dict)
    checkpoint: Checkpoint | None = None
    own: list[Message] = field(default_factory=list)
    evidence: list[Equivocation] = field(default_factory=list)
    received: set[Message] = field(default_factory=set)

    @property
    def height(self) -> int:
        return len(self.chain) + 1

    @property
    def machine(self) -> TendermintMachine | None:
        return None if self.driver is None else self.driver.machine


class SafetyViolation(AssertionError):
    """A correct validator double-signed, or a commit did not verify."""


_DELIVER, _TIMEOUT, _GOSSIP, _CRASH, _RESTART = range(5)


class Simulation:
    """Runs one :class:`Schedule`; ``run`` returns when every live correct node is done."""

    def __init__(self, schedule: Schedule) -> None:
        self.schedule = schedule
        self.rng = random.Random(schedule.seed)
        self.nodes = [Node(i, s) for i, s in enumerate(signers(schedule.n))]
        self.validator_sets: dict[int, ValidatorSet] = {
            1: ValidatorSet(
                Validator(x.signer.address, schedule.powers[x.index] if schedule.powers else 1)
                for x in self.nodes
                if not schedule.powers or schedule.powers[x.index] > 0
            )
        }
        self.blocks: dict[Hash32, Block] = {}
        self.signed: dict[tuple[Address, int, int, int], Hash32 | None] = {}
        self.decisions: dict[int, dict[int, Hash32]] = {}
        self.trace: list[tuple[int, int, int, str]] = []
        self.now = 0
        self.events_processed = 0
        self._queue: list[tuple[int, int, int, int, object]] = []
        self._seq = 0
        self._returning: set[int] = set()  # crashed nodes with a restart still to come
        self._booted = False

    # Helpers ----------------------------------------------------------------------------

    def validators(self, height: int) -> ValidatorSet:
        known = self.validator_sets.get(height)
        if known is None:
            # The set decided at the end of height - 1, with the schedule's changes for height.
            changes = {
                self.nodes[node].signer.address: power
                for at, node, power in self.schedule.changes
                if at == height
            }
            known = self.validators(height - 1).advance()
            if changes:
                known = known.update(changes)
            self.validator_sets[height] = known
        return known

    def correct(self) -> list[Node]:
        return [x for x in self.nodes if x.index != self.schedule.byzantine]

    def _push(self, at: int, kind: int, node: int, payload: object) -> None:
        self._seq += 1
        heapq.heappush(self._queue, (at, self._seq, kind, node, payload))

    def _new_block(self, height: int, tag: bytes, valid: bool) -> Hash32:
        value = Hash32(keccak(b"block/%d/" % height + tag))
        known = self.blocks.setdefault(value, Block(height, valid))
        assert known == Block(height, valid), "a block's validity must never change"
        return value

    def _driver(self, node: Node) -> ConsensusDriver:
        def get_value(h: int, r: int) -> Hash32:
            return self._new_block(h, b"%d/%d" % (r, node.index), True)

        def is_valid(height: int, value: Hash32) -> bool:
            block = self.blocks.get(value)
            return block is not None and block.valid and block.height == height

        return ConsensusDriver(
            chain_id=CHAIN_ID,
            height=node.height,
            validators=self.validators(node.height),
            signer=node.signer,
            get_value=get_value,
            is_valid=is_valid,
            timeouts=SIM_TIMEOUTS,
            checkpoint=node.checkpoint,
            verify=cached_verify,
        )

    # Network ----------------------------------------------------------------------------

    def send(self, src: int, dst: int, message: Message) -> None:
        s, now = self.schedule, self.now
        if s.partition is not None and s.partition.separates(src, dst, now):
            return
        before_gst = now < s.gst_ms
        if before_gst:
            loss = s.loss
            if isinstance(message, Vote):
                loss += s.precommit_loss if message.kind is VoteKind.PRECOMMIT else s.prevote_loss
            if self.rng.random() < loss:
                return
        copies = 2 if self.rng.random() < s.duplicate else 1
        for _ in range(copies):
            limit = s.max_delay_ms if before_gst else s.post_gst_delay_ms
            self._push(now + self.rng.randint(1, limit), _DELIVER, dst, message)

    def _broadcast(self, node: Node, message: Message) -> None:
        for peer in self.nodes:
            if peer is not node:
                self.send(node.index, peer.index, message)

    # Node behaviour ---------------------------------------------------------------------

    def _start_height(self, node: Node) -> None:
        if node.height > self.schedule.heights:
            node.driver = None
            return
        node.own = []
        if node.driver is None:  # boot or restart: resume from what was persisted
            node.driver = self._driver(node)
            self._handle(node, node.driver.start())
        else:
            self._handle(node, node.driver.next_height(self.validators(node.height)))

    def _record_signature(self, node: Node, message: Message) -> None:
        if isinstance(message, Proposal):
            key = (message.proposer, message.height, message.round, 0)
            value: Hash32 | None = message.value
        else:
            key = (message.validator, message.height, message.round, int(message.kind))
            value = message.value
        if key in self.signed and self.signed[key] != value:
            raise SafetyViolation(f"correct node {node.index} double-signed at {key[1:]}")
        self.signed[key] = value

    def _handle(self, node: Node, outputs: list[Output]) -> None:
        driver = node.driver
        assert driver is not None
        # A real node persists the checkpoint before anything it signed leaves the process.
        node.checkpoint = driver.checkpoint()
        decided: Decide | None = None
        for out in outputs:
            if isinstance(out, Broadcast):
                node.own.append(out.message)
                if node.index == self.schedule.byzantine:
                    self._equivocate(node, out.message)
                else:
                    self._record_signature(node, out.message)
                    self._broadcast(node, out.message)
            elif isinstance(out, ScheduleTimeout):
                self._push(self.now + out.duration_ms, _TIMEOUT, node.index, (node.epoch, out))
            elif isinstance(out, Decide):
                decided = out
            else:
                node.evidence.append(out)
        if decided is not None:
            self._decide(node, decided)

    def _decide(self, node: Node, decision: Decide) -> None:
        commit = build_commit(decision)
        try:
            verify_commit(commit, chain_id=CHAIN_ID, validators=self.validators(decision.height))
        except LedgerError as exc:
            raise SafetyViolation(f"node {node.index} decided without a valid commit") from exc
        node.chain[decision.height] = Decided(
            decision.value, decision.round, (decision.proposal, *decision.precommits)
        )
        self.trace.append((self.now, node.index, decision.height, decision.value.hex()))
        if node.index != self.schedule.byzantine:
            self.decisions.setdefault(decision.height, {})[node.index] = decision.value
        self._start_height(node)

    def _equivocate(self, node: Node, message: Message) -> None:
        twin: Message
        if isinstance(message, Proposal):
            good = self.rng.random() < 0.5
            tag = b"twin-proposal/%d/%s" % (message.round, b"good" if good else b"bad")
            value = self._new_block(message.height, tag, good)
            # Sometimes also claim a polka (valid_round) that may never have happened.
            valid_round = self.rng.randrange(-1, message.round) if message.round else -1
            twin = Proposal(
                message.height, message.round, value, valid_round, message.proposer, b""
            )
            twin = _resign(node.signer, twin)
        else:
            alternative = self._new_block(message.height, b"twin-vote/%d" % message.round, True)
            value2: Hash32 | None = None if message.value is not None else alternative
            twin = _resign(
                node.signer,
                Vote(message.kind, message.height, message.round, value2, message.validator, b""),
            )
        node.own.append(twin)
        for peer in self.nodes:
            if peer is node:
                continue
            pick = self.rng.randrange(4)
            if pick == 0:
                chosen = [message]
            elif pick == 1:
                chosen = [twin]
            else:
                chosen = [message, twin] if pick == 2 else [twin, message]
            for m in chosen:
                self.send(node.index, peer.index, m)

    def _deliver(self, node: Node, message: Message) -> None:
        if not node.alive:
            return
        node.received.add(message)
        if node.driver is not None and message.height >= node.height:
            try:
                outputs = node.driver.receive(message)
            except ConsensusError:
                return  # a transport would penalize the peer
            self._handle(node, outputs)

    def _gossip(self, node: Node) -> None:
        for peer in self.nodes:
            if peer is node or not peer.alive:
                continue
            if peer.height < node.height:
                wanted: tuple[Message, ...] = node.chain[peer.height].certificate
            elif peer.height == node.height and node.machine is not None:
                wanted = tuple(node.own) + self._current_proposals_and_polkas(node)
            else:
                continue
            for message in wanted:
                if message not in peer.received:
                    self.send(node.index, peer.index, message)

    def _current_proposals_and_polkas(self, node: Node) -> tuple[Message, ...]:
        """The current round's proposals and the prevotes justifying their ``valid_round``.

        Relaying these (not only one's own messages) is the paper's gossip assumption; it is
        what lets a validator that restarted, or missed a since-crashed validator's prevote,
        still accept a re-proposed locked value (CometBFT gossips the same "proposal POL").
        """
        machine = node.machine
        assert machine is not None
        extra: list[Message] = []
        for p in machine.log.proposals(machine.round):
            extra.append(p)
            if p.valid_round >= 0:
                extra.extend(machine.log.votes_for(p.valid_round, VoteKind.PREVOTE, p.value))
        return tuple(extra)

    def _crash(self, node: Node) -> None:
        node.alive = False
        node.epoch += 1
        node.driver = None
        node.own = []
        node.received = set()

    def _restart(self, node: Node) -> None:
        node.alive = True
        node.epoch += 1
        self._start_height(node)
        self._push(self.now + self.schedule.gossip_ms, _GOSSIP, node.index, node.epoch)

    # Main loop --------------------------------------------------------------------------

    def finished(self) -> bool:
        return all(
            len(x.chain) >= self.schedule.heights
            for x in self.correct()
            if x.alive or x.index in self._returning
        )

    def _boot(self) -> None:
        s = self.schedule
        for c in s.crashes:
            self._push(c.at_ms, _CRASH, c.node, None)
            if c.restart_ms is not None:
                self._push(c.restart_ms, _RESTART, c.node, None)
                self._returning.add(c.node)
        for node in self.nodes:
            self._start_height(node)
            self._push(s.gossip_ms + node.index, _GOSSIP, node.index, node.epoch)

    def run(self, *, until_ms: int, max_events: int = 200_000) -> None:
        """Process events up to virtual time ``until_ms``; may be called again to go on."""
        s = self.schedule
        if not self._booted:
            self._booted = True
            self._boot()
        while self._queue and not self.finished():
            if self._queue[0][0] > until_ms or self.events_processed >= max_events:
                break
            at, _, kind, index, payload = heapq.heappop(self._queue)
            self.now = at
            self.events_processed += 1
            node = self.nodes[index]
            if kind == _DELIVER:
                assert isinstance(payload, Proposal | Vote)
                self._deliver(node, payload)
            elif kind == _TIMEOUT:
                epoch, scheduled = payload  # type: ignore[misc]
                if node.alive and epoch == node.epoch and node.driver is not None:
                    timeout: Timeout = scheduled.timeout
                    self._handle(node, node.driver.on_timeout(timeout))
            elif kind == _GOSSIP:
                if node.alive and payload == node.epoch:
                    self._gossip(node)
                    self._push(at + s.gossip_ms, _GOSSIP, index, node.epoch)
            elif kind == _CRASH:
                self._crash(node)
            elif kind == _RESTART:
                self._returning.discard(index)
                self._restart(node)

    # Properties -------------------------------------------------------------------------

    def check_agreement(self) -> None:
        """No two correct nodes decided different blocks at one height."""
        for height, by_node in self.decisions.items():
            if len(set(by_node.values())) > 1:
                raise AssertionError(f"disagreement at height {height}: {by_node}")

    def check_validity(self) -> None:
        """Every block a correct node decided is a valid block of that height."""
        for height, by_node in self.decisions.items():
            for value in by_node.values():
                block = self.blocks.get(value)
                assert block is not None and block.valid and block.height == height

    def check_no_false_evidence(self) -> None:
        """Evidence only ever names the Byzantine validator, and each piece is genuine."""
        byzantine = self.schedule.byzantine
        for node in self.correct():
            for ev in node.evidence:
                assert byzantine is not None
                assert ev.offender == self.nodes[byzantine].signer.address
                assert ev.first != ev.second
                for m in (ev.first, ev.second):
                    assert verified(m, self.validators(m.height))


def _resign(signer: SignerAPI, message: Message) -> Message:
    from ledger.consensus import sign_proposal, sign_vote

    if isinstance(message, Proposal):
        return sign_proposal(
            signer,
            chain_id=CHAIN_ID,
            height=message.height,
            round_=message.round,
            value=message.value,
            valid_round=message.valid_round,
        )
    return sign_vote(
        signer,
        chain_id=CHAIN_ID,
        kind=message.kind,
        height=message.height,
        round_=message.round,
        value=message.value,
    )


__all__ = [
    "CHAIN_ID",
    "CachingSigner",
    "Crash",
    "Partition",
    "SafetyViolation",
    "Schedule",
    "Simulation",
    "signers",
]
