from __future__ import annotations

import pytest
from coincurve import PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from ledger.abc import Commit, CommitSeal
from ledger.exceptions import (
    CommitMismatch,
    DuplicateSeal,
    InsufficientVotingPower,
    InvalidSeal,
    MalformedCommit,
    UnknownValidator,
)
from ledger.seal import address_of, decode_commit, encode_commit, sign_precommit, verify_commit
from ledger.typing import Address, BlockNumber, Hash32

CHAIN = 4242
KEYS = [bytes([i]) * 32 for i in range(1, 5)]
VALIDATORS = [address_of(PrivateKey(k).public_key) for k in KEYS]
BLOCK = Hash32(b"\xab" * 32)


def commit_by(keys: list[bytes], *, chain_id: int = CHAIN, block_hash: bytes = BLOCK) -> Commit:
    seals = tuple(
        sign_precommit(k, chain_id=chain_id, height=9, round=2, block_hash=block_hash) for k in keys
    )
    return Commit(height=BlockNumber(9), round=2, block_hash=Hash32(block_hash), seals=seals)


def test_three_of_four_validators_commit_a_block() -> None:
    verify_commit(commit_by(KEYS[:3]), VALIDATORS, CHAIN, height=9, block_hash=BLOCK)


def test_single_validator_commits_alone() -> None:
    verify_commit(commit_by(KEYS[:1]), VALIDATORS[:1], CHAIN)


def test_commit_survives_extradata_round_trip_and_verifies() -> None:
    commit = commit_by(KEYS)
    decoded = decode_commit(encode_commit(commit))
    assert decoded == commit
    verify_commit(decoded, VALIDATORS, CHAIN)


def test_two_of_four_is_not_enough_power() -> None:
    with pytest.raises(InsufficientVotingPower):
        verify_commit(commit_by(KEYS[:2]), VALIDATORS, CHAIN)


def test_weighted_power_counts_power_not_heads() -> None:
    power = {VALIDATORS[0]: 10, VALIDATORS[1]: 1, VALIDATORS[2]: 1, VALIDATORS[3]: 1}
    verify_commit(commit_by(KEYS[:1]), power, CHAIN)
    with pytest.raises(InsufficientVotingPower):
        verify_commit(commit_by(KEYS[1:]), power, CHAIN)


def test_commit_signed_for_another_chain_is_rejected() -> None:
    with pytest.raises(InvalidSeal):
        verify_commit(commit_by(KEYS[:3], chain_id=CHAIN + 1), VALIDATORS, CHAIN)


def test_duplicate_seal_cannot_double_count_power() -> None:
    commit = commit_by(KEYS[:2])
    doubled = Commit(
        commit.height, commit.round, commit.block_hash, (*commit.seals, commit.seals[0])
    )
    with pytest.raises(DuplicateSeal):
        verify_commit(doubled, VALIDATORS, CHAIN)


def test_seal_by_non_validator_is_rejected() -> None:
    with pytest.raises(UnknownValidator):
        verify_commit(commit_by([*KEYS[:3], b"\x09" * 32]), VALIDATORS, CHAIN)


def test_seal_claiming_another_validators_address_is_rejected() -> None:
    commit = commit_by(KEYS[:3])
    forged = CommitSeal(validator=VALIDATORS[3], signature=commit.seals[0].signature)
    with pytest.raises(InvalidSeal):
        verify_commit(
            Commit(commit.height, commit.round, commit.block_hash, (*commit.seals[1:], forged)),
            VALIDATORS,
            CHAIN,
        )


def test_garbage_signature_is_rejected() -> None:
    commit = commit_by(KEYS[:3])
    bad = CommitSeal(validator=VALIDATORS[0], signature=b"\x01" * 64 + b"\x05")
    with pytest.raises(InvalidSeal):
        verify_commit(Commit(9, 2, BLOCK, (bad, *commit.seals[1:])), VALIDATORS, CHAIN)


def test_high_s_signature_is_rejected() -> None:
    n = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
    seal = commit_by(KEYS[:1]).seals[0]
    s = int.from_bytes(seal.signature[32:64], "big")
    flipped = seal.signature[:32] + (n - s).to_bytes(32, "big") + bytes([seal.signature[64] ^ 1])
    with pytest.raises(InvalidSeal):
        verify_commit(
            Commit(9, 2, BLOCK, (CommitSeal(seal.validator, flipped),)), VALIDATORS[:1], CHAIN
        )


def test_commit_for_another_block_hash_is_rejected() -> None:
    commit = commit_by(KEYS[:3], block_hash=b"\xcd" * 32)
    with pytest.raises(CommitMismatch):
        verify_commit(commit, VALIDATORS, CHAIN, block_hash=BLOCK)
    with pytest.raises(CommitMismatch):
        verify_commit(commit_by(KEYS[:3]), VALIDATORS, CHAIN, height=10)


def test_commit_whose_hash_was_swapped_after_signing_is_rejected() -> None:
    commit = commit_by(KEYS[:3])
    swapped = Commit(commit.height, commit.round, Hash32(b"\xcd" * 32), commit.seals)
    with pytest.raises(InvalidSeal):
        verify_commit(swapped, VALIDATORS, CHAIN)


@pytest.mark.parametrize(
    "data",
    [b"", b"\xc0", b"\x80", bytes.fromhex("c50102038001"), encode_commit(commit_by(KEYS))[:-1]],
)
def test_malformed_commit_bytes_are_rejected(data: bytes) -> None:
    with pytest.raises(MalformedCommit):
        decode_commit(data)


def test_commit_with_wrong_version_is_rejected() -> None:
    import rlp

    with pytest.raises(MalformedCommit, match="version"):
        decode_commit(rlp.encode([2, 1, 0, BLOCK, []]))


@given(st.binary(max_size=200))
def test_decoding_arbitrary_bytes_fails_only_with_malformed_commit(data: bytes) -> None:
    try:
        decode_commit(data)
    except MalformedCommit:
        pass


def test_addresses_helper_matches_eth_account() -> None:
    from eth_account import Account

    assert VALIDATORS[0] == Address(bytes.fromhex(Account.from_key(KEYS[0]).address[2:]))
