"""Our Prague variant: what it changes (fees, timestamps, extraData) and what it must not."""

from __future__ import annotations

import pytest
from eth.abc import BlockHeaderAPI, SignedTransactionAPI
from eth.chains.base import Chain
from eth.db.atomic import AtomicDB
from eth.vm.forks.prague import PragueVM
from eth.vm.forks.prague.transactions import PragueTransactionBuilder
from eth_utils.exceptions import ValidationError

from ledger.genesis import genesis_params
from ledger.vm import EXTRA_DATA_MAX_BYTES, MedledgerVM, chain_class, header_defaults
from tests.ledger.helpers import KEYS, make_genesis, sign


def fresh_chain() -> Chain:
    genesis = make_genesis()
    chain: Chain = chain_class(genesis.chain_id).from_genesis(
        AtomicDB(), genesis_params(genesis), genesis.genesis_state()
    )
    return chain


def child(parent: BlockHeaderAPI, **fields: object) -> BlockHeaderAPI:
    return MedledgerVM.create_header_from_parent(
        parent, timestamp=fields.pop("timestamp", parent.timestamp), **header_defaults(), **fields
    )


def decoded(raw: bytes) -> SignedTransactionAPI:
    transaction: SignedTransactionAPI = PragueTransactionBuilder.decode(raw)
    return transaction


def test_busy_blocks_keep_base_fee_at_zero_so_zero_priced_transactions_stay_valid() -> None:
    chain = fresh_chain()
    parent = chain.get_canonical_head().copy(gas_used=30_000_000)  # a full parent block
    header = child(parent)
    assert header.base_fee_per_gas == 0
    MedledgerVM.validate_header(header, parent)
    with pytest.raises(ValidationError, match="base fee"):
        MedledgerVM.validate_header(header.copy(base_fee_per_gas=1), parent)


def test_child_may_share_parent_second_but_not_go_back() -> None:
    parent = fresh_chain().get_canonical_head().copy(timestamp=1_000)
    MedledgerVM.validate_header(child(parent, timestamp=1_000), parent)
    with pytest.raises(ValidationError, match="before the parent"):
        MedledgerVM.validate_header(child(parent, timestamp=999), parent)


def test_gas_limit_is_fixed_by_genesis() -> None:
    parent = fresh_chain().get_canonical_head()
    with pytest.raises(ValidationError, match="fixed by genesis"):
        MedledgerVM.validate_header(child(parent, gas_limit=parent.gas_limit + 1), parent)


def test_extradata_holds_commits_up_to_the_limit() -> None:
    parent = fresh_chain().get_canonical_head()
    MedledgerVM.validate_header(child(parent, extra_data=b"\x01" * EXTRA_DATA_MAX_BYTES), parent)
    with pytest.raises(ValidationError, match="extraData"):
        MedledgerVM.validate_header(
            child(parent, extra_data=b"\x01" * (EXTRA_DATA_MAX_BYTES + 1)), parent
        )


def test_request_hash_shortcut_equals_pragues_own_postprocessing() -> None:
    chain = fresh_chain()
    header = child(chain.get_canonical_head())
    vm = chain.get_vm(header)
    assert isinstance(vm, MedledgerVM)
    transactions = [decoded(sign(KEYS[i], nonce=0, value=1)) for i in range(3)]
    new_header, included, receipts, skipped = vm.apply_admissible_transactions(
        transactions, header, is_permitted=lambda address: True
    )
    assert len(included) == 3 and skipped == ()
    filled = vm.set_block_transactions_and_withdrawals(
        vm.get_block(), new_header, included, receipts
    )
    ours = vm.block_postprocessing(filled)
    stock = PragueVM.block_postprocessing(vm, filled)
    assert ours.header == stock.header


def test_inadmissible_transactions_are_skipped_not_fatal() -> None:
    chain = fresh_chain()
    header = child(chain.get_canonical_head())
    vm = chain.get_vm(header)
    assert isinstance(vm, MedledgerVM)
    good = decoded(sign(KEYS[0], nonce=0))
    wrong_nonce = decoded(sign(KEYS[1], nonce=5))
    forbidden = decoded(sign(KEYS[2], nonce=0))
    _, included, receipts, skipped = vm.apply_admissible_transactions(
        [good, wrong_nonce, forbidden], header, is_permitted=lambda a: a != forbidden.sender
    )
    assert included == (good,) and len(receipts) == 1
    assert skipped == (wrong_nonce, forbidden)
