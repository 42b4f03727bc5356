"""Vote signatures are recovered in bulk (one call per batch) and never twice.

Real secp256k1 keys and signatures; the process-wide cache is shared, so each test signs
a value of its own (nothing another test recovered can make it pass).
"""

from __future__ import annotations

import os

import pytest

from ledger.abc import Commit, CommitSeal
from ledger.consensus import KeySigner, ValidatorSet, Vote, VoteKind, sign_vote, verify_vote
from ledger.consensus.exceptions import InvalidSignature
from ledger.p2p.bulk_verify import BulkRecovery, commit_pairs, message_pair, recover_all
from ledger.seal import verify_commit
from ledger.sigcache import SIGNERS, RecoveryCache
from ledger.typing import BlockNumber, Hash32
from tests.ledger.helpers import CHAIN_ID
from tests.ledger.p2p.cluster import VALIDATOR_KEYS

SIGNERS_4 = [KeySigner(k) for k in VALIDATOR_KEYS]
VALIDATORS = ValidatorSet.equal_power(s.address for s in SIGNERS_4)


def _precommits(height: int) -> tuple[Hash32, list[Vote]]:
    value = Hash32(os.urandom(32))  # fresh: never seen by the process-wide cache
    votes = [
        sign_vote(
            s, chain_id=CHAIN_ID, kind=VoteKind.PRECOMMIT, height=height, round_=0, value=value
        )
        for s in SIGNERS_4
    ]
    return value, votes


def test_a_precommit_checked_as_a_vote_is_not_recovered_again_as_a_commit_seal() -> None:
    value, votes = _precommits(7)
    misses = SIGNERS.misses
    for vote in votes:
        verify_vote(vote, chain_id=CHAIN_ID, validators=VALIDATORS)
    assert SIGNERS.misses == misses + 4  # each vote recovered once
    commit = Commit(
        BlockNumber(7),
        0,
        value,
        tuple(
            sorted((CommitSeal(v.validator, v.signature) for v in votes), key=lambda s: s.validator)
        ),
    )
    hits = SIGNERS.hits
    for _ in range(2):  # committed, then checked again in the next block's extraData
        verify_commit(commit, list(VALIDATORS.addresses), CHAIN_ID, height=7, block_hash=value)
    assert SIGNERS.misses == misses + 4  # no recovery at all: every seal was a cache hit
    assert SIGNERS.hits == hits + 8


def test_a_cached_signature_still_fails_for_another_signer() -> None:
    _, votes = _precommits(8)
    verify_vote(votes[0], chain_id=CHAIN_ID, validators=VALIDATORS)
    forged = Vote(
        votes[0].kind, 8, 0, votes[0].value, votes[1].validator, votes[0].signature
    )  # validator 1 claims validator 0's (cached) signature
    with pytest.raises(InvalidSignature):
        verify_vote(forged, chain_id=CHAIN_ID, validators=VALIDATORS)


@pytest.mark.asyncio
async def test_a_batch_of_votes_is_recovered_in_one_call_off_the_loop_then_checks_hit() -> None:
    value, precommits = _precommits(9)
    prevotes = [
        sign_vote(s, chain_id=CHAIN_ID, kind=VoteKind.PREVOTE, height=9, round_=0, value=value)
        for s in SIGNERS_4
    ]
    pairs = [message_pair(m, CHAIN_ID) for m in [*prevotes, *precommits]]
    recovery = BulkRecovery()
    try:
        await recovery.prefetch([p for p in pairs if p is not None] * 2)  # duplicates too
        assert (recovery.batches, recovery.signatures) == (1, 8)
        misses = SIGNERS.misses
        for vote in [*prevotes, *precommits]:
            verify_vote(vote, chain_id=CHAIN_ID, validators=VALIDATORS)
        assert SIGNERS.misses == misses
        await recovery.prefetch([p for p in pairs if p is not None])
        assert recovery.batches == 1  # all cached: no second call
    finally:
        recovery.close()


def test_commit_seals_of_a_sync_reply_are_recovered_together_and_bad_ones_skipped() -> None:
    value, votes = _precommits(10)
    commit = Commit(
        BlockNumber(10), 0, value, tuple(CommitSeal(v.validator, v.signature) for v in votes)
    )
    pairs = commit_pairs(commit, CHAIN_ID)
    junk = (pairs[0][0], b"\x00" * 65)  # does not recover: left out, reported later
    assert recover_all([*pairs, junk]) == 4
    assert all(pair in SIGNERS for pair in pairs) and junk not in SIGNERS
    assert recover_all(pairs) == 0


def test_the_cache_is_bounded_and_evicts_the_least_recent() -> None:
    cache = RecoveryCache(capacity=2)
    a, b, c = (bytes([i]) * 32 for i in (1, 2, 3))
    cache.put(a, b"s", SIGNERS_4[0].address)
    cache.put(b, b"s", SIGNERS_4[1].address)
    assert cache.get(a, b"s") == SIGNERS_4[0].address  # a is now the most recent
    cache.put(c, b"s", SIGNERS_4[2].address)
    assert len(cache) == 2 and cache.get(b, b"s") is None and (a, b"s") in cache
