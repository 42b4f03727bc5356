"""The glue between a transport and the per-height machines, still without I/O or clock.

:class:`ConsensusDriver` is what the p2p layer (and the simulator) talks to. It checks every
incoming message's signature at the boundary (raising, so the transport can penalize the
peer), routes it to the current height's :class:`TendermintMachine`, keeps messages of the
next few heights until their machine exists, and, once the caller has applied a decided
block, starts the next height with the validator set decided at the end of this one.
"""

from __future__ import annotations

from collections.abc import Callable

from ledger.consensus.abc import SignerAPI
from ledger.consensus.exceptions import ConsensusError
from ledger.consensus.signing import verify_proposal, verify_vote
from ledger.consensus.state_machine import GetValue, TendermintMachine
from ledger.consensus.types import Checkpoint, Message, Output, Proposal, Timeout, TimeoutConfig
from ledger.consensus.validators import ValidatorSet
from ledger.typing import Hash32

IsValidAt = Callable[[int, Hash32], bool]
Verifier = Callable[[Message, int, ValidatorSet], None]

MAX_BUFFERED_HEIGHTS = 2
MAX_BUFFERED_MESSAGES = 10_000


def verify_message(message: Message, chain_id: int, validators: ValidatorSet) -> None:
    """The default boundary check: a genuine signature by a validator of the height."""
    if isinstance(message, Proposal):
        verify_proposal(message, chain_id=chain_id, validators=validators)
    else:
        verify_vote(message, chain_id=chain_id, validators=validators)


class ConsensusDriver:
    """Successive heights of one validator (or observer).

    Parameters
    ----------
    chain_id, height, validators
        Where to start: the first undecided height and its validator set.
    signer
        This node's key, or ``None`` for an observer.
    get_value
        Builds the block to propose at ``(height, round)`` and returns its hash.
    is_valid
        ``valid(v)`` at a height: whether the block named by the hash is valid there.
    timeouts, checkpoint
        As for :class:`TendermintMachine` (the checkpoint is used if for ``height``).
    verify
        The boundary check; injectable so a caller that already verified (or caches
        verifications) need not pay twice. It must raise ``ConsensusError`` on rejection.
    """

    def __init__(
        self,
        *,
        chain_id: int,
        height: int,
        validators: ValidatorSet,
        signer: SignerAPI | None,
        get_value: GetValue,
        is_valid: IsValidAt,
        timeouts: TimeoutConfig | None = None,
        checkpoint: Checkpoint | None = None,
        verify: Verifier = verify_message,
    ) -> None:
        self.chain_id = chain_id
        self._signer = signer
        self._get_value = get_value
        self._is_valid = is_valid
        self._timeouts = timeouts
        self._verify = verify
        self._future: dict[int, list[Message]] = {}
        self._buffered = 0
        self.machine = self._machine(height, validators, checkpoint)

    @property
    def height(self) -> int:
        return self.machine.height

    def _machine(
        self, height: int, validators: ValidatorSet, checkpoint: Checkpoint | None
    ) -> TendermintMachine:
        def is_valid(value: Hash32) -> bool:
            return self._is_valid(height, value)

        return TendermintMachine(
            chain_id=self.chain_id,
            height=height,
            validators=validators,
            signer=self._signer,
            get_value=self._get_value,
            is_valid=is_valid,
            timeouts=self._timeouts,
            checkpoint=checkpoint,
        )

    def start(self) -> list[Output]:
        """Start the current height (and replay what was buffered for it)."""
        out = self.machine.start()
        pending = self._future.pop(self.height, [])
        self._buffered -= len(pending)
        for message in pending:
            try:
                out += self.receive(message)
            except ConsensusError:
                continue  # a forged message buffered for later: dropped now
        return out

    def receive(self, message: Message) -> list[Output]:
        """Verify and route a message from the network.

        Messages of past heights are ignored (returns ``[]``); those of the next
        ``MAX_BUFFERED_HEIGHTS`` heights are kept (their validator set is not known yet, so
        they are verified when replayed); farther ones are dropped (gossip resends them).

        Raises
        ------
        ConsensusError
            ``InvalidSignature``/``UnknownSigner``/``InvalidMessage`` from the boundary check.
        """
        height = message.height
        if height == self.height:
            self._verify(message, self.chain_id, self.machine.validators)
            if isinstance(message, Proposal):
                return self.machine.on_proposal(message)
            return self.machine.on_vote(message)
        if (
            self.height < height <= self.height + MAX_BUFFERED_HEIGHTS
            and self._buffered < MAX_BUFFERED_MESSAGES
        ):
            self._future.setdefault(height, []).append(message)
            self._buffered += 1
        return []

    def on_timeout(self, timeout: Timeout) -> list[Output]:
        """A scheduled timeout fired (stale ones are ignored by the machine)."""
        return self.machine.on_timeout(timeout)

    def checkpoint(self) -> Checkpoint:
        """Persist this before sending the broadcasts of the last call."""
        return self.machine.checkpoint()

    def next_height(self, validators: ValidatorSet) -> list[Output]:
        """After the caller applied the decided block: start ``height + 1``.

        ``validators`` is the set decided at the end of this height (``advance()`` of this
        one, or its ``update(...)`` from the ``Consortium`` state after the block).
        """
        if self.machine.decision is None:
            raise ConsensusError(f"height {self.height} is not decided yet")
        self.machine = self._machine(self.height + 1, validators, None)
        return self.start()
