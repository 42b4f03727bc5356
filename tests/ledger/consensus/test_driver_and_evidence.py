"""The driver's boundary (verification, buffering, height change) and portable evidence."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.consensus import (
    ConsensusDriver,
    Decide,
    Equivocation,
    KeySigner,
    Step,
    ValidatorSet,
    VoteKind,
    decode_equivocation,
    encode_equivocation,
    sign_vote,
    verify_equivocation,
)
from ledger.consensus.exceptions import (
    ConsensusError,
    InvalidMessage,
    InvalidSignature,
    UnknownSigner,
)
from ledger.typing import Hash32
from tests.ledger.consensus.helpers import (
    FRESH,
    KEYS,
    VALIDATORS,
    V,
    W,
    precommit,
    prevote,
    proposal,
)
from tests.ledger.consensus.sim import CHAIN_ID


def driver(me: int | None = 3) -> ConsensusDriver:
    return ConsensusDriver(
        chain_id=CHAIN_ID,
        height=1,
        validators=VALIDATORS,
        signer=None if me is None else KEYS[me],
        get_value=lambda h, r: FRESH,
        is_valid=lambda h, v: v != W,
    )


def decide_height_one(d: ConsensusDriver) -> list[object]:
    out: list[object] = list(d.receive(proposal(0, V)))
    for i in range(3):
        out += d.receive(precommit(i, 0, V))
    return out


def test_forged_and_foreign_messages_are_rejected_at_the_boundary() -> None:
    d = driver()
    d.start()
    forged = dataclasses.replace(prevote(0, 0, V), value=FRESH)
    with pytest.raises(InvalidSignature):
        d.receive(forged)
    outsider = KeySigner(b"\x0b" * 32)
    foreign = sign_vote(
        outsider, chain_id=CHAIN_ID, kind=VoteKind.PREVOTE, height=1, round_=0, value=V
    )
    with pytest.raises(UnknownSigner):
        d.receive(foreign)
    assert d.machine.log.power_any(0, VoteKind.PREVOTE) == 0


def test_messages_of_the_next_height_wait_for_its_machine() -> None:
    d = driver()
    d.start()
    early = [
        sign_vote(KEYS[i], chain_id=CHAIN_ID, kind=VoteKind.PRECOMMIT, height=2, round_=0, value=V)
        for i in range(3)
    ]
    for vote in early:
        assert d.receive(vote) == []
    assert [o.value for o in decide_height_one(d) if isinstance(o, Decide)] == [V]
    d.next_height(VALIDATORS.advance())
    assert d.height == 2
    assert d.machine.log.power_for(0, VoteKind.PRECOMMIT, V) == 3  # replayed


def test_next_height_only_after_a_decision_and_with_the_new_set() -> None:
    d = driver(me=None)
    d.start()
    with pytest.raises(ConsensusError, match="not decided"):
        d.next_height(VALIDATORS)
    decide_height_one(d)
    smaller = VALIDATORS.advance().update({KEYS[3].address: 0})
    d.next_height(smaller)
    assert (d.height, len(d.machine.validators), d.machine.step) == (2, 3, Step.PROPOSE)
    assert d.receive(proposal(0, V)) == []  # a height-1 message is simply old now


def test_equivocation_evidence_verifies_and_round_trips() -> None:
    a, b = prevote(2, 4, V), prevote(2, 4, None)
    evidence = Equivocation(a, b)
    verify_equivocation(evidence, chain_id=CHAIN_ID, validators=VALIDATORS)
    assert decode_equivocation(encode_equivocation(evidence)) == evidence
    p1, p2 = proposal(1, V), proposal(1, FRESH)
    proposals = Equivocation(p1, p2)
    verify_equivocation(proposals, chain_id=CHAIN_ID, validators=VALIDATORS)
    assert decode_equivocation(encode_equivocation(proposals)) == proposals


def test_evidence_that_proves_nothing_is_refused() -> None:
    with pytest.raises(InvalidMessage, match="same signer"):
        verify_equivocation(
            Equivocation(prevote(1, 0, V), prevote(2, 0, None)),
            chain_id=CHAIN_ID,
            validators=VALIDATORS,
        )
    with pytest.raises(InvalidMessage, match="same signer"):
        verify_equivocation(
            Equivocation(prevote(1, 0, V), precommit(1, 0, None)),
            chain_id=CHAIN_ID,
            validators=VALIDATORS,
        )
    with pytest.raises(InvalidMessage, match="do not conflict"):
        verify_equivocation(
            Equivocation(prevote(1, 0, V), prevote(1, 0, V)),
            chain_id=CHAIN_ID,
            validators=VALIDATORS,
        )
    forged = dataclasses.replace(prevote(1, 0, V), value=Hash32(FRESH))
    with pytest.raises(InvalidSignature):
        verify_equivocation(
            Equivocation(prevote(1, 0, None), forged), chain_id=CHAIN_ID, validators=VALIDATORS
        )
    with pytest.raises(UnknownSigner):
        verify_equivocation(
            Equivocation(prevote(1, 0, V), prevote(1, 0, None)),
            chain_id=CHAIN_ID,
            validators=ValidatorSet.equal_power([KEYS[0].address]),
        )


@given(st.binary(max_size=400))
def test_decoding_garbage_evidence_raises_only_invalid_message(data: bytes) -> None:
    try:
        decode_equivocation(data)
    except InvalidMessage:
        pass
