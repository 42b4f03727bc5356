"""Sign bytes follow the shared spec, and the boundary check rejects forged messages."""

from __future__ import annotations

import dataclasses

import pytest
import rlp
from eth_hash.auto import keccak

from ledger.consensus import (
    KeySigner,
    VoteKind,
    proposal_sign_bytes,
    recover_signer,
    sign_proposal,
    sign_vote,
    verify_proposal,
    verify_vote,
    vote_sign_bytes,
)
from ledger.consensus.exceptions import InvalidMessage, InvalidSignature, UnknownSigner
from tests.ledger.consensus.helpers import KEYS, VALIDATORS, V

CHAIN = 1337
N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def test_precommit_sign_bytes_match_the_spec_shared_with_seal_py() -> None:
    expected = keccak(rlp.encode([b"medledger/precommit/v1", CHAIN, 5, 2, V]))
    assert (
        vote_sign_bytes(chain_id=CHAIN, kind=VoteKind.PRECOMMIT, height=5, round_=2, value=V)
        == expected
    )


def test_prevote_nil_and_proposal_sign_bytes_are_domain_separated() -> None:
    nil = vote_sign_bytes(chain_id=CHAIN, kind=VoteKind.PREVOTE, height=5, round_=2, value=None)
    assert nil == keccak(rlp.encode([b"medledger/prevote/v1", CHAIN, 5, 2, b""]))
    prop = proposal_sign_bytes(chain_id=CHAIN, height=5, round_=2, value=V, valid_round=-1)
    assert prop == keccak(rlp.encode([b"medledger/proposal/v1", CHAIN, 5, 2, V, 0]))
    prop0 = proposal_sign_bytes(chain_id=CHAIN, height=5, round_=2, value=V, valid_round=0)
    assert prop0 != prop  # valid_round -1 and 0 must not collide
    pc = vote_sign_bytes(chain_id=CHAIN, kind=VoteKind.PRECOMMIT, height=5, round_=2, value=V)
    pv = vote_sign_bytes(chain_id=CHAIN, kind=VoteKind.PREVOTE, height=5, round_=2, value=V)
    assert pc != pv


def test_signatures_are_65_bytes_low_s_and_recover_to_the_signer() -> None:
    signer = KeySigner(b"\x07" * 32)
    digest = keccak(b"anything")
    signature = signer.sign(digest)
    assert len(signature) == 65 and signature[64] in (0, 1)
    assert recover_signer(digest, signature) == signer.address
    high_s = signature[:32] + (N - int.from_bytes(signature[32:64], "big")).to_bytes(32, "big")
    with pytest.raises(InvalidSignature, match="lower half"):
        recover_signer(digest, high_s + bytes([signature[64] ^ 1]))
    with pytest.raises(InvalidSignature):
        recover_signer(digest, signature[:64] + b"\x1b")
    with pytest.raises(InvalidSignature):
        recover_signer(digest, signature[:-1])


def test_verify_accepts_genuine_and_rejects_forged_or_foreign_messages() -> None:
    vote = sign_vote(KEYS[0], chain_id=CHAIN, kind=VoteKind.PREVOTE, height=1, round_=0, value=V)
    verify_vote(vote, chain_id=CHAIN, validators=VALIDATORS)
    with pytest.raises(InvalidSignature):
        verify_vote(dataclasses.replace(vote, value=None), chain_id=CHAIN, validators=VALIDATORS)
    with pytest.raises(InvalidSignature):
        verify_vote(vote, chain_id=CHAIN + 1, validators=VALIDATORS)
    with pytest.raises(InvalidSignature):  # claims to be by someone else
        verify_vote(
            dataclasses.replace(vote, validator=KEYS[1].address),
            chain_id=CHAIN,
            validators=VALIDATORS,
        )
    outsider = KeySigner(b"\x09" * 32)
    foreign = sign_vote(
        outsider, chain_id=CHAIN, kind=VoteKind.PREVOTE, height=1, round_=0, value=V
    )
    with pytest.raises(UnknownSigner):
        verify_vote(foreign, chain_id=CHAIN, validators=VALIDATORS)
    proposal = sign_proposal(KEYS[2], chain_id=CHAIN, height=1, round_=3, value=V, valid_round=1)
    verify_proposal(proposal, chain_id=CHAIN, validators=VALIDATORS)
    with pytest.raises(InvalidSignature):
        verify_proposal(
            dataclasses.replace(proposal, valid_round=0), chain_id=CHAIN, validators=VALIDATORS
        )


def test_out_of_range_fields_are_clear_errors() -> None:
    with pytest.raises(InvalidMessage, match="valid_round"):
        proposal_sign_bytes(chain_id=CHAIN, height=1, round_=1, value=V, valid_round=1)
    with pytest.raises(InvalidMessage, match="32 bytes"):
        vote_sign_bytes(chain_id=CHAIN, kind=VoteKind.PREVOTE, height=1, round_=0, value=V[:31])
    with pytest.raises(InvalidMessage):
        vote_sign_bytes(chain_id=CHAIN, kind=VoteKind.PREVOTE, height=-1, round_=0, value=None)
    with pytest.raises(InvalidSignature):
        KeySigner(b"\x00" * 32)
