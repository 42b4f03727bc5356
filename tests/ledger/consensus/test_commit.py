"""Commits built from a decision verify from the header data alone, forgeries do not."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.abc import Commit, CommitSeal
from ledger.consensus import (
    Decide,
    KeySigner,
    VoteKind,
    build_commit,
    decode_commit,
    encode_commit,
    sign_vote,
    verify_commit,
)
from ledger.exceptions import (
    CommitMismatch,
    DuplicateSeal,
    InsufficientVotingPower,
    InvalidSeal,
    MalformedCommit,
    SealError,
    UnknownValidator,
)
from tests.ledger.consensus.helpers import FRESH, KEYS, VALIDATORS, V, precommit, proposal
from tests.ledger.consensus.sim import CHAIN_ID


def decided(voters: list[int], round_: int = 0) -> Commit:
    votes = tuple(precommit(i, round_, V) for i in voters)
    return build_commit(Decide(1, round_, V, proposal(round_, V), votes))


def test_a_quorum_commit_verifies_with_only_the_validator_set() -> None:
    commit = decided([3, 0, 2])
    assert [s.validator for s in commit.seals] == sorted(s.validator for s in commit.seals)
    verify_commit(commit, chain_id=CHAIN_ID, validators=VALIDATORS, block_hash=V, height=1)


def test_two_of_four_seals_are_not_final() -> None:
    with pytest.raises(InsufficientVotingPower):
        verify_commit(decided([0, 1]), chain_id=CHAIN_ID, validators=VALIDATORS)


def test_a_seal_counted_twice_is_rejected() -> None:
    commit = decided([0, 1])
    doubled = dataclasses.replace(commit, seals=(*commit.seals, commit.seals[0]))
    with pytest.raises(DuplicateSeal):
        verify_commit(doubled, chain_id=CHAIN_ID, validators=VALIDATORS)


def test_seals_over_another_block_round_or_chain_are_rejected() -> None:
    commit = decided([0, 1, 2])
    for forged in (
        dataclasses.replace(commit, block_hash=FRESH),
        dataclasses.replace(commit, round=1),
        dataclasses.replace(commit, height=2),
    ):
        with pytest.raises(InvalidSeal):
            verify_commit(forged, chain_id=CHAIN_ID, validators=VALIDATORS)
    with pytest.raises(InvalidSeal):
        verify_commit(commit, chain_id=CHAIN_ID + 1, validators=VALIDATORS)
    with pytest.raises(CommitMismatch):
        verify_commit(commit, chain_id=CHAIN_ID, validators=VALIDATORS, block_hash=FRESH)


def test_a_prevote_signature_is_not_a_seal() -> None:
    commit = decided([0, 1])
    prevote = sign_vote(
        KEYS[2], chain_id=CHAIN_ID, kind=VoteKind.PREVOTE, height=1, round_=0, value=V
    )
    forged = dataclasses.replace(
        commit, seals=(*commit.seals, CommitSeal(KEYS[2].address, prevote.signature))
    )
    with pytest.raises(InvalidSeal):
        verify_commit(forged, chain_id=CHAIN_ID, validators=VALIDATORS)


def test_an_outsiders_seal_is_rejected() -> None:
    outsider = KeySigner(b"\x05" * 32)
    seal = sign_vote(
        outsider, chain_id=CHAIN_ID, kind=VoteKind.PRECOMMIT, height=1, round_=0, value=V
    )
    commit = decided([0, 1, 2])
    forged = dataclasses.replace(
        commit, seals=(*commit.seals, CommitSeal(outsider.address, seal.signature))
    )
    with pytest.raises(UnknownValidator):
        verify_commit(forged, chain_id=CHAIN_ID, validators=VALIDATORS)


def test_a_decided_commit_survives_the_header_encoding_and_still_verifies() -> None:
    commit = decided([0, 1, 2, 3], round_=2)
    decoded = decode_commit(encode_commit(commit))
    assert decoded == commit
    verify_commit(decoded, chain_id=CHAIN_ID, validators=VALIDATORS, block_hash=V, height=1)
    with pytest.raises(MalformedCommit):
        decode_commit(encode_commit(commit) + b"\x00")


@given(st.binary(max_size=300))
def test_decoding_garbage_raises_only_seal_errors(data: bytes) -> None:
    try:
        decode_commit(data)
    except SealError:
        pass
