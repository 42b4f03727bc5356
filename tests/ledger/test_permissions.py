"""Permissions from genesis and from an on-chain contract, at admission and in blocks."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from eth_utils.address import to_checksum_address

from ledger.chain import Ledger
from ledger.config import AllocAccount
from ledger.exceptions import TransactionRejected
from ledger.permissions import ContractPermissions, StaticPermissions
from ledger.tools.permission_contract import RUNTIME, setter_calldata
from tests.ledger.helpers import (
    KEYS,
    OUTSIDER_KEY,
    VALIDATOR_KEY,
    address,
    address_bytes,
    make_genesis,
    sign,
)

CONTRACT = to_checksum_address("0x" + "c0" * 20)


@pytest.fixture
def contract_ledger(tmp_path: Path) -> Iterator[Ledger]:
    permitted = [KEYS[0], KEYS[1]]
    storage = {int(address(k), 16): 1 for k in permitted}
    genesis = make_genesis(
        consortium_contract=CONTRACT,
        alloc={CONTRACT: AllocAccount(code="0x" + RUNTIME.hex(), storage=storage)},
    )
    led = Ledger(tmp_path, genesis, validator_key=VALIDATOR_KEY)
    yield led
    led.close()


def test_genesis_permissions_are_its_accounts_and_validators() -> None:
    permissions = StaticPermissions(make_genesis().permitted_addresses())
    assert permissions.is_permitted(address_bytes(KEYS[0]))
    assert permissions.is_permitted(address_bytes(VALIDATOR_KEY))
    assert not permissions.is_permitted(address_bytes(OUTSIDER_KEY))


def test_contract_decides_who_may_send(contract_ledger: Ledger) -> None:
    assert isinstance(contract_ledger.permissions, ContractPermissions)
    contract_ledger.send_raw_transaction(sign(KEYS[0]))
    with pytest.raises(TransactionRejected) as info:
        contract_ledger.send_raw_transaction(sign(KEYS[2]))  # in genesis accounts, not in contract
    assert info.value.reason == "not-permitted"


def test_granting_on_chain_admits_the_sender_from_the_next_block(contract_ledger: Ledger) -> None:
    outsider = address_bytes(OUTSIDER_KEY)
    with pytest.raises(TransactionRejected):
        contract_ledger.send_raw_transaction(sign(OUTSIDER_KEY))
    contract_ledger.send_raw_transaction(
        sign(KEYS[0], to=CONTRACT, data=setter_calldata(outsider, True))
    )
    assert contract_ledger.produce_block() is not None
    contract_ledger.send_raw_transaction(sign(OUTSIDER_KEY))


def test_revoked_sender_is_left_out_of_the_block_it_was_queued_for(contract_ledger: Ledger) -> None:
    revoked = address_bytes(KEYS[1])
    contract_ledger.send_raw_transaction(sign(KEYS[1], nonce=0))
    contract_ledger.send_raw_transaction(
        sign(KEYS[0], to=CONTRACT, data=setter_calldata(revoked, False))
    )
    # Both are admitted now; make the revocation land first, alone.
    taken = contract_ledger.mempool.take(30_000_000, 10)
    revocation = [tx for tx in taken if tx.sender == address_bytes(KEYS[0])]
    with contract_ledger.lock:
        block, receipts, skipped = contract_ledger.build_block(revocation)
        assert skipped == ()
        contract_ledger.commit_block(block, receipts, contract_ledger.sign_commit(block))
    assert not contract_ledger.permissions.is_permitted(revoked)
    block = contract_ledger.produce_block()
    assert block is None  # the revoked sender's queued transaction is dropped, not mined
    assert len(contract_ledger.mempool) == 0
