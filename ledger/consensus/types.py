"""Messages, timeout events and outputs of the Tendermint state machine.

A *value* is a block hash (``Hash32``); the driver keeps the block payload it names and
judges it through the injected validity predicate. ``None`` is the paper's ``nil``.
Rounds are plain ``int``; ``-1`` is the paper's "no round" for ``valid_round``/``locked_round``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from ledger.typing import Address, Hash32


class VoteKind(IntEnum):
    PREVOTE = 1
    PRECOMMIT = 2


class Step(IntEnum):
    """``step_p``; the order matters (rule 36 fires while ``step >= PREVOTE``)."""

    PROPOSE = 0
    PREVOTE = 1
    PRECOMMIT = 2
    DECIDED = 3


class TimeoutKind(IntEnum):
    PROPOSE = 0
    PREVOTE = 1
    PRECOMMIT = 2


@dataclass(frozen=True, slots=True)
class Proposal:
    """``<PROPOSAL, h, r, v, vr>`` signed by ``proposer``."""

    height: int
    round: int
    value: Hash32
    valid_round: int
    proposer: Address
    signature: bytes


@dataclass(frozen=True, slots=True)
class Vote:
    """``<PREVOTE|PRECOMMIT, h, r, id(v)>`` signed by ``validator``; ``value=None`` is nil."""

    kind: VoteKind
    height: int
    round: int
    value: Hash32 | None
    validator: Address
    signature: bytes


Message = Proposal | Vote


@dataclass(frozen=True, slots=True)
class Timeout:
    """A timeout event the driver feeds back after the scheduled duration."""

    kind: TimeoutKind
    height: int
    round: int


@dataclass(frozen=True, slots=True)
class TimeoutConfig:
    """Timeout durations in milliseconds: ``base + delta * round`` (grows with the round).

    Defaults follow CometBFT's. The machine only *returns* durations; the driver measures.
    """

    propose_ms: int = 3000
    propose_delta_ms: int = 500
    prevote_ms: int = 1000
    prevote_delta_ms: int = 500
    precommit_ms: int = 1000
    precommit_delta_ms: int = 500

    def duration(self, kind: TimeoutKind, round_: int) -> int:
        """The duration of ``timeoutPropose/Prevote/Precommit(round)``."""
        if kind is TimeoutKind.PROPOSE:
            return self.propose_ms + self.propose_delta_ms * round_
        if kind is TimeoutKind.PREVOTE:
            return self.prevote_ms + self.prevote_delta_ms * round_
        return self.precommit_ms + self.precommit_delta_ms * round_


@dataclass(frozen=True, slots=True)
class Broadcast:
    """Send ``message`` to every validator (the machine already applied it to itself)."""

    message: Message


@dataclass(frozen=True, slots=True)
class ScheduleTimeout:
    """Feed ``timeout`` back to the machine after ``duration_ms``."""

    timeout: Timeout
    duration_ms: int


@dataclass(frozen=True, slots=True)
class Decide:
    """``decision_p[h] = value``: the proposal and the > 2/3 precommits that prove it."""

    height: int
    round: int
    value: Hash32
    proposal: Proposal
    precommits: tuple[Vote, ...]


@dataclass(frozen=True, slots=True)
class Equivocation:
    """Evidence: one signer signed two different messages for the same (h, r, kind).

    Both messages carry valid signatures (the driver verified them), so the pair proves the
    misbehaviour to anyone; the consortium acts on it (suspension vote), not the core.
    """

    first: Message
    second: Message

    @property
    def offender(self) -> Address:
        if isinstance(self.first, Proposal):
            return self.first.proposer
        return self.first.validator


Evidence = Equivocation  # the only kind of evidence the core produces

Output = Broadcast | ScheduleTimeout | Decide | Equivocation


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """What a node persists before sending what it signed, to restart without a WAL.

    No received message is logged; only this node's own position (``round``/``step``), its
    locks and valid value, and the messages it signed at this height (at most three per
    round). A restarted machine resumes in that round and step, re-broadcasts what it had
    signed (peers may still need it for a quorum: forgetting it would make the node an
    omission fault), never signs a different message for a (round, kind) it signed already
    (equivocation), and never abandons a lock (which could break safety). What it had
    received comes back by gossip.
    """

    height: int
    round: int = 0
    step: Step = Step.PROPOSE
    locked_value: Hash32 | None = None
    locked_round: int = -1
    valid_value: Hash32 | None = None
    valid_round: int = -1
    signed: tuple[Message, ...] = ()
