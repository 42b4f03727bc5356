"""The message log of one height: proposals and votes per round, tallies, equivocation.

Counting follows the paper: "2f+1 <PRECOMMIT, h, r, id(v)>" is the power of *distinct
validators that signed that message*. A Byzantine validator that signed two different votes
for one (round, kind) is therefore counted once for each value it signed (the safety proof
only needs quorum intersection in a correct validator), and the pair is returned as
:class:`Equivocation` evidence. Counting it for both matters for liveness: a node that saw
the liar's nil precommit first can still decide from a certificate carrying its precommit
for the decided block. ``*`` thresholds (any value) count each validator once. A validator
contributes at most ``MAX_VALUES_PER_SIGNER`` values per (round, kind), and a round keeps at
most ``MAX_PROPOSALS_PER_ROUND`` proposals: beyond that a liar only wastes our memory.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ledger.consensus.types import Equivocation, Proposal, Vote, VoteKind
from ledger.consensus.validators import ValidatorSet
from ledger.typing import Address, Hash32

MAX_PROPOSALS_PER_ROUND = 4
MAX_VALUES_PER_SIGNER = 4


@dataclass(slots=True)
class _Tally:
    votes: dict[Address, list[Vote]] = field(default_factory=dict)
    power_by_value: dict[Hash32 | None, int] = field(default_factory=dict)
    power: int = 0


@dataclass(slots=True)
class _Round:
    proposals: list[Proposal] = field(default_factory=list)
    tallies: dict[VoteKind, _Tally] = field(
        default_factory=lambda: {VoteKind.PREVOTE: _Tally(), VoteKind.PRECOMMIT: _Tally()}
    )
    senders: set[Address] = field(default_factory=set)
    sender_power: int = 0


class MessageLog:
    """Everything received (and sent) for one height, indexed for the upon-rules."""

    def __init__(self, height: int, validators: ValidatorSet) -> None:
        self.height = height
        self.validators = validators
        self._rounds: dict[int, _Round] = {}

    def _round(self, round_: int) -> _Round:
        entry = self._rounds.get(round_)
        if entry is None:
            entry = self._rounds[round_] = _Round()
        return entry

    def _note_sender(self, entry: _Round, sender: Address) -> None:
        if sender not in entry.senders:
            entry.senders.add(sender)
            entry.sender_power += self.validators.power_of(sender)

    def add_vote(self, vote: Vote) -> tuple[bool, Equivocation | None]:
        """Record ``vote``; return (whether it was new and counted, evidence if any)."""
        if vote.height != self.height or vote.validator not in self.validators:
            return False, None
        entry = self._round(vote.round)
        tally = entry.tallies[vote.kind]
        signed = tally.votes.get(vote.validator)
        power = self.validators.power_of(vote.validator)
        if signed is None:
            tally.votes[vote.validator] = [vote]
            tally.power += power
            self._note_sender(entry, vote.validator)
            evidence = None
        else:
            if any(known.value == vote.value for known in signed):
                return False, None
            evidence = Equivocation(signed[0], vote)
            if len(signed) >= MAX_VALUES_PER_SIGNER:
                return False, evidence
            signed.append(vote)
        tally.power_by_value[vote.value] = tally.power_by_value.get(vote.value, 0) + power
        return True, evidence

    def add_proposal(self, proposal: Proposal) -> tuple[bool, Equivocation | None]:
        """Record a proposal from the round's proposer; others are ignored."""
        if proposal.height != self.height:
            return False, None
        if proposal.proposer != self.validators.proposer(proposal.round):
            return False, None
        entry = self._round(proposal.round)
        for known in entry.proposals:
            if (known.value, known.valid_round) == (proposal.value, proposal.valid_round):
                return False, None
        evidence = Equivocation(entry.proposals[0], proposal) if entry.proposals else None
        if len(entry.proposals) >= MAX_PROPOSALS_PER_ROUND:
            return False, evidence
        entry.proposals.append(proposal)
        self._note_sender(entry, proposal.proposer)
        return True, evidence

    # Queries used by the upon-rules -----------------------------------------------------

    def proposals(self, round_: int) -> tuple[Proposal, ...]:
        """Proposals of ``round_`` in arrival order."""
        entry = self._rounds.get(round_)
        return () if entry is None else tuple(entry.proposals)

    def proposal_for(self, round_: int, value: Hash32) -> Proposal | None:
        for proposal in self.proposals(round_):
            if proposal.value == value:
                return proposal
        return None

    def power_for(self, round_: int, kind: VoteKind, value: Hash32 | None) -> int:
        """Power of ``kind`` votes for ``value`` (``None``: nil) in ``round_``."""
        entry = self._rounds.get(round_)
        return 0 if entry is None else entry.tallies[kind].power_by_value.get(value, 0)

    def power_any(self, round_: int, kind: VoteKind) -> int:
        """Power of all ``kind`` votes in ``round_`` whatever their value (``*``)."""
        entry = self._rounds.get(round_)
        return 0 if entry is None else entry.tallies[kind].power

    def values_with_votes(self, round_: int, kind: VoteKind) -> tuple[Hash32, ...]:
        """Non-nil values that received ``kind`` votes in ``round_``."""
        entry = self._rounds.get(round_)
        if entry is None:
            return ()
        return tuple(v for v in entry.tallies[kind].power_by_value if v is not None)

    def votes_for(self, round_: int, kind: VoteKind, value: Hash32 | None) -> tuple[Vote, ...]:
        entry = self._rounds.get(round_)
        if entry is None:
            return ()
        signed = entry.tallies[kind].votes.values()
        return tuple(v for votes in signed for v in votes if v.value == value)

    def sender_power(self, round_: int) -> int:
        """Power of distinct validators that sent any message in ``round_`` (rule 55)."""
        entry = self._rounds.get(round_)
        return 0 if entry is None else entry.sender_power
