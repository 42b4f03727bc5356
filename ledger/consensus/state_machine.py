"""Algorithm 1 of "The latest gossip on BFT consensus" for one height, as a pure machine.

Inputs: :meth:`start`, :meth:`on_proposal`, :meth:`on_vote`, :meth:`on_timeout`. Each returns
the outputs of the step: :class:`Broadcast` (already applied locally: the driver sends it to
the others and should persist :meth:`checkpoint` first), :class:`ScheduleTimeout`,
:class:`Decide` (once) and :class:`Equivocation` evidence. Messages must be signature-checked
by the driver (``verify_proposal``/``verify_vote``) before they are fed in; messages of other
heights are ignored (the driver buffers future heights and builds the next machine, with the
validator set decided at the end of this height, after :class:`Decide`).

The upon-rules themselves (with the paper's line numbers) are in :mod:`.rules`. Thresholds
are by voting power: ``2f + 1`` is "more than 2/3 of the total power", ``f + 1`` is "more
than 1/3". After a crash, a machine built with the persisted :class:`Checkpoint` resumes in
its round and step and re-sends what it had signed (see ``Checkpoint`` for why).
"""

from __future__ import annotations

from collections.abc import Callable

from ledger.consensus.abc import SignerAPI
from ledger.consensus.exceptions import ConsensusError
from ledger.consensus.rules import UponRules
from ledger.consensus.signing import sign_proposal, sign_vote
from ledger.consensus.types import (
    Broadcast,
    Checkpoint,
    Decide,
    Equivocation,
    Message,
    Output,
    Proposal,
    ScheduleTimeout,
    Step,
    Timeout,
    TimeoutConfig,
    TimeoutKind,
    Vote,
    VoteKind,
)
from ledger.consensus.validators import ValidatorSet
from ledger.consensus.votes import MessageLog
from ledger.typing import Hash32

GetValue = Callable[[int, int], Hash32]
IsValid = Callable[[Hash32], bool]


class TendermintMachine(UponRules):
    """One validator's consensus instance for one height.

    Parameters
    ----------
    chain_id, height
        What every signed message binds to.
    validators
        The height's validator set (weights, proposer rotation).
    signer
        This node's key; ``None`` (or a key outside the set) makes a non-voting observer
        that still decides from the proposals and precommits it sees.
    get_value
        ``getValue()``: the block hash to propose at ``(height, round)``; the driver builds
        the block and keeps its payload.
    is_valid
        ``valid(v)``: a pure predicate over a proposed block hash (the driver validates the
        block it names). Results are cached per value.
    timeouts
        Durations returned with :class:`ScheduleTimeout`.
    checkpoint
        Restore after a crash (see :class:`Checkpoint`); ignored if for another height.
    """

    def __init__(
        self,
        *,
        chain_id: int,
        height: int,
        validators: ValidatorSet,
        signer: SignerAPI | None,
        get_value: GetValue,
        is_valid: IsValid,
        timeouts: TimeoutConfig | None = None,
        checkpoint: Checkpoint | None = None,
    ) -> None:
        self.chain_id = chain_id
        self.height = height
        self.validators = validators
        self._signer = signer if signer is not None and signer.address in validators else None
        self._get_value = get_value
        self._is_valid = is_valid
        self.timeouts = timeouts or TimeoutConfig()
        self.log = MessageLog(height, validators)
        self.round = 0
        self.step = Step.PROPOSE
        self.locked_value: Hash32 | None = None
        self.locked_round = -1
        self.valid_value: Hash32 | None = None
        self.valid_round = -1
        # What this node signed in the current round, by kind (0: proposal): the
        # double-sign guard. Everything signed this height is persisted in the checkpoint,
        # because after a restart it must be re-sent: peers may still need it for a quorum.
        self._signed: dict[int, Message] = {}
        self._signed_height: list[Message] = []
        self._restore = (
            checkpoint if checkpoint is not None and checkpoint.height == height else None
        )
        if self._restore is not None:
            cp = self._restore
            self.locked_value, self.locked_round = cp.locked_value, cp.locked_round
            self.valid_value, self.valid_round = cp.valid_value, cp.valid_round
        self.decision: Decide | None = None
        self._started = False
        self._validity: dict[Hash32, bool] = {}
        # "for the first time" guards of lines 34, 36 and 47, per round
        self._prevote_timeout_rounds: set[int] = set()
        self._polka_rounds: set[int] = set()
        self._precommit_timeout_rounds: set[int] = set()

    # Inputs -----------------------------------------------------------------------------

    def start(self) -> list[Output]:
        """``upon start do StartRound(0)``, or resume from the checkpoint after a restart."""
        out: list[Output] = []
        if self._started:
            return out
        self._started = True
        cp = self._restore
        if cp is None:
            self._start_round(0, out)
        else:
            self.round = cp.round
            # A decided step means the block may not have been stored: decide again.
            self.step = min(cp.step, Step.PRECOMMIT)
            for message in cp.signed:
                if message.round == cp.round:
                    key = 0 if isinstance(message, Proposal) else int(message.kind)
                    self._signed[key] = message
                self._signed_height.append(message)
                if isinstance(message, Proposal):
                    self.log.add_proposal(message)
                else:
                    self.log.add_vote(message)
                out.append(Broadcast(message))  # it may never have left before the crash
            if self.step is Step.PROPOSE:
                self._schedule(TimeoutKind.PROPOSE, out)
        self._run(out, None)
        return out

    def on_proposal(self, proposal: Proposal) -> list[Output]:
        """A verified proposal arrived (from anyone; non-proposers are ignored)."""
        added, evidence = self.log.add_proposal(proposal)
        out: list[Output] = [evidence] if evidence is not None else []
        if added:
            self._run(out, proposal.round)
        return out

    def on_vote(self, vote: Vote) -> list[Output]:
        """A verified prevote or precommit arrived."""
        added, evidence = self.log.add_vote(vote)
        out: list[Output] = [evidence] if evidence is not None else []
        if added:
            self._run(out, vote.round)
        return out

    def on_timeout(self, timeout: Timeout) -> list[Output]:
        """A timeout the machine scheduled has expired (lines 57-66)."""
        out: list[Output] = []
        if timeout.height != self.height or self.step is Step.DECIDED or not self._started:
            return out
        if timeout.round != self.round:
            return out
        if timeout.kind is TimeoutKind.PROPOSE and self.step is Step.PROPOSE:
            self._vote(VoteKind.PREVOTE, None, out)  # line 59
            self.step = Step.PREVOTE
        elif timeout.kind is TimeoutKind.PREVOTE and self.step is Step.PREVOTE:
            self._vote(VoteKind.PRECOMMIT, None, out)  # line 63
            self.step = Step.PRECOMMIT
        elif timeout.kind is TimeoutKind.PRECOMMIT:
            self._start_round(self.round + 1, out)  # line 67
        self._run(out, None)
        return out

    def checkpoint(self) -> Checkpoint:
        """The state to persist before sending this step's broadcasts."""
        return Checkpoint(
            self.height,
            self.round,
            self.step,
            self.locked_value,
            self.locked_round,
            self.valid_value,
            self.valid_round,
            tuple(self._signed_height),
        )

    def _guard(self, key: int, message: Message) -> None:
        """Refuse to sign a second, different message for this round and kind."""
        previous = self._signed.get(key)
        if previous is not None and previous != message:
            raise ConsensusError(f"refusing to double-sign in round {self.round} (kind {key})")
        if previous is None:
            self._signed[key] = message
            self._signed_height.append(message)

    # Actions ----------------------------------------------------------------------------

    def _valid(self, value: Hash32) -> bool:
        known = self._validity.get(value)
        if known is None:
            known = self._validity[value] = bool(self._is_valid(value))
        return known

    def _vote(self, kind: VoteKind, value: Hash32 | None, out: list[Output]) -> None:
        if self._signer is None:
            return
        vote = sign_vote(
            self._signer,
            chain_id=self.chain_id,
            kind=kind,
            height=self.height,
            round_=self.round,
            value=value,
        )
        self._guard(int(kind), vote)
        self.log.add_vote(vote)
        out.append(Broadcast(vote))

    def _schedule(self, kind: TimeoutKind, out: list[Output]) -> None:
        timeout = Timeout(kind, self.height, self.round)
        out.append(ScheduleTimeout(timeout, self.timeouts.duration(kind, self.round)))

    def _start_round(self, round_: int, out: list[Output]) -> None:
        """``StartRound(round)`` (lines 11-21)."""
        if round_ != self.round:
            self._signed = {}
        self.round = round_
        self.step = Step.PROPOSE
        signer = self._signer
        if signer is not None and self.validators.proposer(round_) == signer.address:
            value = self.valid_value
            if value is None:
                value = self._get_value(self.height, round_)
            proposal = sign_proposal(
                signer,
                chain_id=self.chain_id,
                height=self.height,
                round_=round_,
                value=value,
                valid_round=self.valid_round,
            )
            self._guard(0, proposal)
            self.log.add_proposal(proposal)
            out.append(Broadcast(proposal))
        # The paper schedules this for non-proposers only (line 21); the proposer's own
        # proposal normally moves it on at once. We schedule it always, as CometBFT does: a
        # proposer that re-proposes its valid value after a restart may no longer hold the
        # polka that justifies it, and must not wait forever (a nil prevote is always safe).
        self._schedule(TimeoutKind.PROPOSE, out)


__all__ = ["Equivocation", "GetValue", "IsValid", "TendermintMachine"]
