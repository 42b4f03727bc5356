"""A single validator decides through the consensus driver, with seals as before it did."""

from __future__ import annotations

from pathlib import Path

import pytest

from ledger.abc import Commit
from ledger.chain import Ledger
from ledger.consensus import KeySigner, ValidatorSet
from ledger.exceptions import InsufficientVotingPower
from ledger.seal import decode_commit, encode_commit, sign_precommit
from ledger.solo import commit_alone
from ledger.typing import BlockNumber, Hash32
from tests.ledger.helpers import KEYS, VALIDATOR_KEY, address_bytes, make_genesis, sign


def _sealed_the_old_way(ledger: Ledger, nonce: int) -> None:
    """A block committed with the one-seal commit signed directly (before the driver)."""
    ledger.send_raw_transaction(sign(KEYS[0], nonce=nonce, value=1, gas=21_000))
    with ledger.lock:
        block, receipts, _ = ledger.build_block(ledger.mempool.take(ledger.gas_limit, 10))
        seal = sign_precommit(
            VALIDATOR_KEY,
            chain_id=ledger.chain_id,
            height=block.number,
            round=0,
            block_hash=block.hash,
        )
        commit = Commit(BlockNumber(block.number), 0, Hash32(block.hash), (seal,))
        ledger.commit_block(block, receipts, commit)


def test_the_lone_validator_decides_in_round_zero_with_its_one_precommit(
    ledger: Ledger,
) -> None:
    ledger.send_raw_transaction(sign(KEYS[0], nonce=0, value=1, gas=21_000))
    block = ledger.produce_block()
    assert block is not None
    commit = ledger.get_commit(BlockNumber(block.number))
    assert (commit.height, commit.round, commit.block_hash) == (1, 0, block.hash)
    assert [s.validator for s in commit.seals] == [address_bytes(VALIDATOR_KEY)]
    # byte for byte the seal a lone producer signed before it went through consensus
    before = sign_precommit(
        VALIDATOR_KEY, chain_id=ledger.chain_id, height=1, round=0, block_hash=block.hash
    )
    assert commit.seals == (before,)


def test_a_second_validator_means_no_decision_alone(ledger: Ledger) -> None:
    ledger.send_raw_transaction(sign(KEYS[0], nonce=0, value=1, gas=21_000))
    with ledger.lock:
        block, _, _ = ledger.build_block(ledger.mempool.take(ledger.gas_limit, 10))
        ledger.abandon_block()
    pair = ValidatorSet.equal_power([address_bytes(VALIDATOR_KEY), address_bytes(KEYS[1])])
    signer = KeySigner(VALIDATOR_KEY)
    with pytest.raises(InsufficientVotingPower):
        commit_alone(block, chain_id=ledger.chain_id, validators=pair, signer=signer)


def test_a_chain_sealed_before_the_driver_reopens_extends_and_a_follower_verifies_it(
    tmp_path: Path,
) -> None:
    genesis = make_genesis()
    old = Ledger(tmp_path / "old", genesis, validator_key=VALIDATOR_KEY)
    for nonce in range(2):
        _sealed_the_old_way(old, nonce)
    old.close()
    reopened = Ledger(tmp_path / "old", genesis, validator_key=VALIDATOR_KEY)
    follower = Ledger(tmp_path / "follower", genesis)
    try:
        for nonce in range(2, 4):
            reopened.send_raw_transaction(sign(KEYS[0], nonce=nonce, value=1, gas=21_000))
            assert reopened.produce_block() is not None
        assert reopened.head().block_number == 4
        # block 3 carries the old-style commit of block 2 in its extraData
        three = reopened.get_block_by_number(BlockNumber(3))
        assert decode_commit(three.header.extra_data) == reopened.get_commit(BlockNumber(2))
        for number in range(1, 5):
            block = reopened.get_block_by_number(BlockNumber(number))
            follower.import_block(block, reopened.get_commit(BlockNumber(number)))
        assert follower.head().hash == reopened.head().hash
        assert encode_commit(follower.get_commit(BlockNumber(4))) == encode_commit(
            reopened.get_commit(BlockNumber(4))
        )
    finally:
        reopened.close()
        follower.close()
