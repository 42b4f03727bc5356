"""Consensus drives real ledgers: four validators, each with its own LMDB-backed ``Ledger``.

In one process, with messages passed by hand (no network), the proposer builds a real
py-evm block, the others judge it with ``valid(v)`` (a block they hold, extending their
head), and on ``Decide`` every node imports the block with the commit built from the
decision. ``Ledger.import_block`` verifies that commit with ``ledger.seal`` and checks that
the block's extraData carries its parent's commit: the consensus core and the chain agree
on sign bytes, seals and finality.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from eth.abc import BlockAPI
from eth_hash.auto import keccak
from eth_utils import to_checksum_address

from ledger.chain import Ledger
from ledger.config import Genesis
from ledger.consensus import (
    Broadcast,
    ConsensusDriver,
    Decide,
    KeySigner,
    Message,
    Output,
    ValidatorSet,
    build_commit,
)
from ledger.seal import decode_commit, verify_commit
from ledger.typing import BlockNumber, Hash32

HEIGHTS = 3


def test_four_ledgers_build_the_same_chain_through_consensus(tmp_path: Path) -> None:
    keys = [bytes(keccak(b"ledger-validator-%d" % i)) for i in range(4)]
    signers = [KeySigner(k) for k in keys]
    genesis = Genesis(chain_id=1337, validators=[to_checksum_address(s.address) for s in signers])
    ledgers = [Ledger(tmp_path / f"node{i}", genesis, validator_key=k) for i, k in enumerate(keys)]
    blocks: dict[Hash32, BlockAPI] = {}
    try:

        def proposer_of(i: int) -> Callable[[int, int], Hash32]:
            def get_value(height: int, round_: int) -> Hash32:
                ledger = ledgers[i]
                block, _, _ = ledger.build_block([], timestamp=1_700_000_000 + height)
                ledger.abandon_block()  # every node, this one included, imports it once final
                blocks[Hash32(block.hash)] = block
                return Hash32(block.hash)

            return get_value

        def valid_for(i: int) -> Callable[[int, Hash32], bool]:
            def is_valid(height: int, value: Hash32) -> bool:
                block = blocks.get(value)
                head = ledgers[i].head()
                return (
                    block is not None
                    and block.number == height
                    and block.header.parent_hash == head.hash
                )

            return is_valid

        validators = ValidatorSet.equal_power(s.address for s in signers)
        drivers = [
            ConsensusDriver(
                chain_id=1337,
                height=1,
                validators=validators,
                signer=signers[i],
                get_value=proposer_of(i),
                is_valid=valid_for(i),
            )
            for i in range(4)
        ]
        queue: list[tuple[int, Message]] = []

        def act(i: int, outputs: list[Output]) -> None:
            for out in outputs:
                if isinstance(out, Broadcast):
                    queue.extend((j, out.message) for j in range(4) if j != i)
                elif isinstance(out, Decide):
                    ledgers[i].import_block(blocks[out.value], build_commit(out))
                    if out.height < HEIGHTS:
                        act(i, drivers[i].next_height(drivers[i].machine.validators.advance()))

        for i in range(4):
            act(i, drivers[i].start())
        for _ in range(10_000):
            if not queue:
                break
            j, message = queue.pop(0)
            act(j, drivers[j].receive(message))

        heads = {ledger.head().hash for ledger in ledgers}
        assert len(heads) == 1 and all(ledger.head().block_number == HEIGHTS for ledger in ledgers)
        # Finality from headers alone: block n+1's extraData carries block n's commit.
        ledger = ledgers[0]
        for n in range(1, HEIGHTS):
            parent = ledger.get_block_by_number(BlockNumber(n))
            child = ledger.get_block_by_number(BlockNumber(n + 1))
            commit = decode_commit(child.header.extra_data)
            verify_commit(
                commit,
                list(genesis.validator_addresses()),
                1337,
                height=n,
                block_hash=parent.hash,
            )
    finally:
        for ledger in ledgers:
            ledger.close()
