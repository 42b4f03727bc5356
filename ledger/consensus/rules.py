"""The upon-rules of Algorithm 1 (lines 22-56), as a base class of the machine.

Split from :mod:`ledger.consensus.state_machine` so each file reads on its own: this one
holds only *when* something happens (the guards, with the paper's line numbers), the
machine holds the state and the actions (StartRound, signing, timeouts).
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from ledger.consensus.types import Decide, Output, Step, TimeoutKind, VoteKind
from ledger.consensus.validators import ValidatorSet
from ledger.consensus.votes import MessageLog
from ledger.typing import Hash32


class UponRules(ABC):
    """Evaluates the upon-rules against the message log after every input."""

    height: int
    round: int
    step: Step
    validators: ValidatorSet
    log: MessageLog
    locked_value: Hash32 | None
    locked_round: int
    valid_value: Hash32 | None
    valid_round: int
    decision: Decide | None
    _started: bool
    _prevote_timeout_rounds: set[int]
    _polka_rounds: set[int]
    _precommit_timeout_rounds: set[int]

    @abstractmethod
    def _valid(self, value: Hash32) -> bool:
        """``valid(v)``, cached."""

    @abstractmethod
    def _vote(self, kind: VoteKind, value: Hash32 | None, out: list[Output]) -> None:
        """Sign, record and broadcast a vote of the current round (if this node votes)."""

    @abstractmethod
    def _schedule(self, kind: TimeoutKind, out: list[Output]) -> None:
        """Schedule a timeout of the current round."""

    @abstractmethod
    def _start_round(self, round_: int, out: list[Output]) -> None:
        """``StartRound(round)``."""

    def _run(self, out: list[Output], message_round: int | None) -> None:
        """Fire enabled upon-rules until none is; a fired rule can enable another."""
        while self._started and self.step is not Step.DECIDED:
            if not self._fire_one(out, message_round):
                return

    def _fire_one(self, out: list[Output], message_round: int | None) -> bool:
        rounds = {self.round} if message_round is None else {self.round, message_round}
        for round_ in sorted(rounds):
            if self._try_decide(round_, out):
                return True
        if (
            message_round is not None
            and message_round > self.round
            and self.validators.is_one_third(self.log.sender_power(message_round))
        ):
            self._start_round(message_round, out)  # line 55: skip to a round f+1 are in
            return True
        if self.step is Step.PROPOSE and self._on_proposal_in_propose_step(out):
            return True
        quorum = self.validators.is_quorum
        r = self.round
        if (
            self.step is Step.PREVOTE
            and r not in self._prevote_timeout_rounds
            and quorum(self.log.power_any(r, VoteKind.PREVOTE))
        ):
            self._prevote_timeout_rounds.add(r)  # line 34
            self._schedule(TimeoutKind.PREVOTE, out)
            return True
        if self.step >= Step.PREVOTE and r not in self._polka_rounds and self._polka(out):
            return True
        if self.step is Step.PREVOTE and quorum(self.log.power_for(r, VoteKind.PREVOTE, None)):
            self._vote(VoteKind.PRECOMMIT, None, out)  # line 44
            self.step = Step.PRECOMMIT
            return True
        if r not in self._precommit_timeout_rounds and quorum(
            self.log.power_any(r, VoteKind.PRECOMMIT)
        ):
            self._precommit_timeout_rounds.add(r)  # line 47
            self._schedule(TimeoutKind.PRECOMMIT, out)
            return True
        return False

    def _on_proposal_in_propose_step(self, out: list[Output]) -> bool:
        """Lines 22 and 28: prevote on the round's proposal."""
        for proposal in self.log.proposals(self.round):
            v, vr = proposal.value, proposal.valid_round
            if vr == -1:  # line 22
                accept = self._valid(v) and (self.locked_round == -1 or self.locked_value == v)
            elif 0 <= vr < self.round and self.validators.is_quorum(
                self.log.power_for(vr, VoteKind.PREVOTE, v)
            ):  # line 28
                accept = self._valid(v) and (self.locked_round <= vr or self.locked_value == v)
            else:
                continue
            self._vote(VoteKind.PREVOTE, v if accept else None, out)
            self.step = Step.PREVOTE
            return True
        return False

    def _polka(self, out: list[Output]) -> bool:
        """Line 36: a proposal of this round with 2f+1 prevotes (a "polka") locks/updates."""
        r = self.round
        for value in self.log.values_with_votes(r, VoteKind.PREVOTE):
            if not self.validators.is_quorum(self.log.power_for(r, VoteKind.PREVOTE, value)):
                continue
            if self.log.proposal_for(r, value) is None or not self._valid(value):
                continue
            self._polka_rounds.add(r)
            if self.step is Step.PREVOTE:
                self.locked_value, self.locked_round = value, r
                self._vote(VoteKind.PRECOMMIT, value, out)
                self.step = Step.PRECOMMIT
            self.valid_value, self.valid_round = value, r
            return True
        return False

    def _try_decide(self, round_: int, out: list[Output]) -> bool:
        """Line 49: a proposal of any round with 2f+1 precommits for it is decided."""
        for value in self.log.values_with_votes(round_, VoteKind.PRECOMMIT):
            if not self.validators.is_quorum(self.log.power_for(round_, VoteKind.PRECOMMIT, value)):
                continue
            proposal = self.log.proposal_for(round_, value)
            if proposal is None or not self._valid(value):
                continue
            precommits = self.log.votes_for(round_, VoteKind.PRECOMMIT, value)
            self.decision = Decide(self.height, round_, value, proposal, precommits)
            self.step = Step.DECIDED
            out.append(self.decision)
            return True
        return False
