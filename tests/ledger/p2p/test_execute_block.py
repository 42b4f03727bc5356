"""``Ledger.execute_block`` judges another validator's block without committing it."""

from __future__ import annotations

from pathlib import Path

import pytest

from ledger.abc import Commit, CommitSeal
from ledger.chain import Ledger
from ledger.consensus import KeySigner, VoteKind, sign_vote
from ledger.exceptions import LedgerError
from ledger.typing import BlockNumber, Hash32
from tests.ledger.helpers import CHAIN_ID, KEYS, address, make_genesis, sign
from tests.ledger.p2p.cluster import VALIDATOR_KEYS


def _commit(block_hash: bytes, number: int) -> Commit:
    seals = []
    for key in VALIDATOR_KEYS:
        vote = sign_vote(
            KeySigner(key),
            chain_id=CHAIN_ID,
            kind=VoteKind.PRECOMMIT,
            height=number,
            round_=0,
            value=Hash32(block_hash),
        )
        seals.append(CommitSeal(vote.validator, vote.signature))
    seals.sort(key=lambda s: s.validator)
    return Commit(BlockNumber(number), 0, Hash32(block_hash), tuple(seals))


def test_a_proposed_block_executes_once_and_commits_from_the_cached_result(
    tmp_path: Path,
) -> None:
    genesis = make_genesis(validators=[address(k) for k in VALIDATOR_KEYS])
    proposer = Ledger(tmp_path / "a", genesis, validator_key=VALIDATOR_KEYS[0])
    judge = Ledger(tmp_path / "b", genesis, validator_key=VALIDATOR_KEYS[1])
    try:
        proposer.send_raw_transaction(sign(KEYS[0], nonce=0))
        pending = proposer.mempool.take(genesis.gas_limit, 10)
        block, _, _ = proposer.build_block(pending)
        tampered = block.copy(header=block.header.copy(state_root=b"\x11" * 32))
        with pytest.raises(LedgerError):
            judge.execute_block(tampered)
        assert judge.head().block_number == 0
        executed, receipts = judge.execute_block(block)
        assert executed.hash == block.hash and len(receipts) == 1
        assert judge.head().block_number == 0  # judged, not committed
        with pytest.raises(LedgerError):  # a commit for another block is refused
            judge.commit_executed(executed, receipts, _commit(b"\x22" * 32, 1))
        judge.commit_executed(executed, receipts, _commit(block.hash, 1))
        assert judge.head().hash == block.hash
        assert judge.get_commit(BlockNumber(1)).block_hash == block.hash
        # the tampered block and the genuine one, each once; the commit executed nothing
        assert (judge.executions.executions, judge.executions.reexecutions) == (2, 0)
        assert (proposer.executions.executions, proposer.executions.reexecutions) == (1, 0)
    finally:
        proposer.close()
        judge.close()


def test_judging_the_same_block_twice_counts_as_a_reexecution(tmp_path: Path) -> None:
    """The counter the multi-validator tests assert on does catch a second execution."""
    genesis = make_genesis(validators=[address(k) for k in VALIDATOR_KEYS])
    proposer = Ledger(tmp_path / "a", genesis, validator_key=VALIDATOR_KEYS[0])
    judge = Ledger(tmp_path / "b", genesis, validator_key=VALIDATOR_KEYS[1])
    try:
        proposer.send_raw_transaction(sign(KEYS[0], nonce=0))
        block, _, _ = proposer.build_block(proposer.mempool.take(genesis.gas_limit, 10))
        judge.execute_block(block)
        judge.execute_block(block)
        assert (judge.executions.executions, judge.executions.reexecutions) == (2, 1)
    finally:
        proposer.close()
        judge.close()
