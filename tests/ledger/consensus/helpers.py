"""Small builders for unit tests of the state machine (4 equal validators, real keys)."""

from __future__ import annotations

from collections.abc import Callable

from eth_hash.auto import keccak

from ledger.consensus import (
    Broadcast,
    Checkpoint,
    Output,
    Proposal,
    ScheduleTimeout,
    TendermintMachine,
    TimeoutConfig,
    ValidatorSet,
    Vote,
    VoteKind,
    sign_proposal,
    sign_vote,
)
from ledger.typing import Hash32
from tests.ledger.consensus.sim import CHAIN_ID, CachingSigner, signers

V = Hash32(keccak(b"value v"))
W = Hash32(keccak(b"value w"))
FRESH = Hash32(keccak(b"fresh value"))
HEIGHT = 1
KEYS = signers(4)
VALIDATORS = ValidatorSet.equal_power(k.address for k in KEYS)
TIMEOUTS = TimeoutConfig()


def index_of_proposer(round_: int, validators: ValidatorSet = VALIDATORS) -> int:
    address = validators.proposer(round_)
    return next(i for i, k in enumerate(KEYS) if k.address == address)


def not_proposer(round_: int) -> int:
    return (index_of_proposer(round_) + 1) % 4


def make(
    me: int | None,
    *,
    valid: Callable[[Hash32], bool] = lambda v: v != W,
    checkpoint: Checkpoint | None = None,
    validators: ValidatorSet = VALIDATORS,
    signer: CachingSigner | None = None,
) -> TendermintMachine:
    return TendermintMachine(
        chain_id=CHAIN_ID,
        height=HEIGHT,
        validators=validators,
        signer=signer if signer is not None else (None if me is None else KEYS[me]),
        get_value=lambda h, r: FRESH,
        is_valid=valid,
        timeouts=TIMEOUTS,
        checkpoint=checkpoint,
    )


def proposal(round_: int, value: Hash32, valid_round: int = -1, by: int | None = None) -> Proposal:
    signer = KEYS[index_of_proposer(round_) if by is None else by]
    return sign_proposal(
        signer,
        chain_id=CHAIN_ID,
        height=HEIGHT,
        round_=round_,
        value=value,
        valid_round=valid_round,
    )


def vote(kind: VoteKind, by: int, round_: int, value: Hash32 | None) -> Vote:
    return sign_vote(
        KEYS[by], chain_id=CHAIN_ID, kind=kind, height=HEIGHT, round_=round_, value=value
    )


def prevote(by: int, round_: int, value: Hash32 | None) -> Vote:
    return vote(VoteKind.PREVOTE, by, round_, value)


def precommit(by: int, round_: int, value: Hash32 | None) -> Vote:
    return vote(VoteKind.PRECOMMIT, by, round_, value)


def others(me: int) -> list[int]:
    return [i for i in range(4) if i != me]


def sent(outputs: list[Output]) -> list[Proposal | Vote]:
    return [o.message for o in outputs if isinstance(o, Broadcast)]


def sent_votes(outputs: list[Output]) -> list[tuple[VoteKind, int, Hash32 | None]]:
    return [(m.kind, m.round, m.value) for m in sent(outputs) if isinstance(m, Vote)]


def scheduled(outputs: list[Output]) -> list[ScheduleTimeout]:
    return [o for o in outputs if isinstance(o, ScheduleTimeout)]
