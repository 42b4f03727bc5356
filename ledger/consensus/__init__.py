"""Tendermint BFT consensus as a pure state machine (Buchman, Kwon, Milosevic 2018, Alg. 1).

Nothing in this package reads a clock, draws randomness or does I/O. A driver (the p2p layer
in production, ``tests/ledger/consensus/sim.py`` in tests) feeds a :class:`TendermintMachine`
with verified messages and fired timeouts and acts on what it returns: messages to broadcast,
timeouts to schedule (durations as data), decisions and equivocation evidence.

Boundary contract: every incoming message's signature is verified *before* the machine sees
it (:class:`ConsensusDriver` does this with :func:`verify_message`, raising for the transport
to penalize the peer); the machine trusts the ``proposer``/``validator`` field it is given.
The machine signs its own messages through an injected :class:`SignerAPI` (deterministic
RFC 6979 signatures keep it pure).
"""

from ledger.consensus.abc import SignerAPI
from ledger.consensus.commit import build_commit, decode_commit, encode_commit, verify_commit
from ledger.consensus.driver import ConsensusDriver, verify_message
from ledger.consensus.evidence import (
    decode_equivocation,
    encode_equivocation,
    verify_equivocation,
)
from ledger.consensus.exceptions import (
    ConsensusError,
    InvalidMessage,
    InvalidSignature,
    UnknownSigner,
)
from ledger.consensus.signing import (
    KeySigner,
    proposal_sign_bytes,
    recover_signer,
    sign_proposal,
    sign_vote,
    verify_proposal,
    verify_vote,
    vote_sign_bytes,
)
from ledger.consensus.state_machine import TendermintMachine
from ledger.consensus.types import (
    Broadcast,
    Checkpoint,
    Decide,
    Equivocation,
    Evidence,
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
from ledger.consensus.validators import Validator, ValidatorSet

__all__ = [
    "Broadcast",
    "Checkpoint",
    "ConsensusDriver",
    "ConsensusError",
    "Decide",
    "Equivocation",
    "Evidence",
    "InvalidMessage",
    "InvalidSignature",
    "KeySigner",
    "Message",
    "Output",
    "Proposal",
    "ScheduleTimeout",
    "SignerAPI",
    "Step",
    "TendermintMachine",
    "Timeout",
    "TimeoutConfig",
    "TimeoutKind",
    "UnknownSigner",
    "Validator",
    "ValidatorSet",
    "Vote",
    "VoteKind",
    "build_commit",
    "decode_commit",
    "decode_equivocation",
    "encode_commit",
    "encode_equivocation",
    "proposal_sign_bytes",
    "recover_signer",
    "sign_proposal",
    "sign_vote",
    "verify_commit",
    "verify_equivocation",
    "verify_message",
    "verify_proposal",
    "verify_vote",
    "vote_sign_bytes",
]
