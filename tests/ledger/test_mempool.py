"""One scenario per rejection reason, on a real ledger (real py-evm state, LMDB on disk)."""

from __future__ import annotations

from pathlib import Path

import pytest
import rlp
from eth_account import Account

from ledger.chain import Ledger
from ledger.exceptions import TransactionRejected
from tests.ledger.helpers import (
    CHAIN_ID,
    KEYS,
    OUTSIDER_KEY,
    VALIDATOR_KEY,
    address_bytes,
    make_genesis,
    sign,
)


def rejected(ledger: Ledger, raw: bytes, reason: str) -> TransactionRejected:
    with pytest.raises(TransactionRejected) as info:
        ledger.send_raw_transaction(raw)
    assert info.value.reason == reason, info.value.message
    return info.value


def test_legacy_eip2930_and_eip1559_transactions_are_accepted_and_mined(ledger: Ledger) -> None:
    legacy = sign(KEYS[0], nonce=0, gasPrice=0)
    access_list = sign(
        KEYS[0],
        nonce=1,
        gasPrice=0,
        accessList=[{"address": "0x" + "22" * 20, "storageKeys": ["0x" + "00" * 32]}],
    )
    dynamic = sign(KEYS[0], nonce=2)
    hashes = [ledger.send_raw_transaction(raw) for raw in (legacy, access_list, dynamic)]
    assert ledger.pending_nonce(address_bytes(KEYS[0])) == 3
    block = ledger.produce_block()
    assert block is not None
    assert [tx.hash for tx in block.transactions] == hashes
    assert [tx.type_id for tx in block.transactions] == [None, 1, 2]
    assert len(ledger.mempool) == 0


def test_garbage_bytes_are_malformed(ledger: Ledger) -> None:
    rejected(ledger, b"\xf8\x00garbage", "malformed")
    rejected(ledger, b"\x02" + b"\xc3\x01\x02\x03", "malformed")
    rejected(ledger, b"", "malformed")
    rejected(ledger, sign(KEYS[0]) + b"\x00", "malformed")


@pytest.mark.parametrize("type_byte", [0x12, 0x05, 0x7F])
def test_unknown_typed_transaction_byte_is_malformed(ledger: Ledger, type_byte: int) -> None:
    # EIP-2718 leaves bytes 0x00-0x7f for types; py-evm raises its own error for one no
    # fork defines, which must not escape admission
    rejected(ledger, bytes([type_byte]) + rlp.encode([1, 2, 3]), "malformed")


def test_signature_with_zero_r_is_bad_signature(ledger: Ledger) -> None:
    fields = rlp.decode(sign(KEYS[0], gasPrice=0))
    fields[7] = b""  # r = 0
    rejected(ledger, rlp.encode(fields), "bad-signature")


def test_transaction_for_another_chain_is_refused(ledger: Ledger) -> None:
    rejected(ledger, sign(KEYS[0], chainId=CHAIN_ID + 1), "wrong-chain-id")


def test_pre_eip155_legacy_transaction_is_refused_as_wrong_chain(ledger: Ledger) -> None:
    unprotected = Account.sign_transaction(
        {"nonce": 0, "gasPrice": 0, "gas": 21000, "to": "0x" + "22" * 20, "value": 0}, KEYS[0]
    )
    rejected(ledger, bytes(unprotected.raw_transaction), "wrong-chain-id")


def test_reused_nonce_after_block_is_too_low(ledger: Ledger) -> None:
    ledger.send_raw_transaction(sign(KEYS[0], nonce=0))
    assert ledger.produce_block() is not None
    rejected(ledger, sign(KEYS[0], nonce=0, value=1), "nonce-too-low")


def test_far_future_nonce_is_too_high(ledger: Ledger) -> None:
    ledger.send_raw_transaction(sign(KEYS[0], nonce=64))
    rejected(ledger, sign(KEYS[0], nonce=65), "nonce-too-high")


def test_a_long_consecutive_run_is_accepted_and_the_gap_counts_from_its_end(
    ledger: Ledger,
) -> None:
    for nonce in range(70):
        ledger.send_raw_transaction(sign(KEYS[0], nonce=nonce))
    ledger.send_raw_transaction(sign(KEYS[0], nonce=70 + 64))
    rejected(ledger, sign(KEYS[0], nonce=70 + 65), "nonce-too-high")


def test_transaction_larger_than_limit_is_oversize(ledger: Ledger) -> None:
    raw = sign(KEYS[0], data=b"\x01" * (128 * 1024), gas=29_000_000)
    rejected(ledger, raw, "oversize")


def test_sender_outside_consortium_is_not_permitted(ledger: Ledger) -> None:
    rejected(ledger, sign(OUTSIDER_KEY), "not-permitted")


def test_gas_below_intrinsic_cost_is_refused(ledger: Ledger) -> None:
    rejected(ledger, sign(KEYS[0], gas=21_000, data=b"\x01" * 10), "intrinsic-gas")


def test_gas_above_block_gas_limit_is_refused(ledger: Ledger) -> None:
    rejected(ledger, sign(KEYS[0], gas=30_000_001), "gas-limit-exceeded")


def test_value_beyond_balance_is_insufficient_funds(ledger: Ledger) -> None:
    rejected(ledger, sign(KEYS[0], value=10**21 + 1), "insufficient-funds")
    rejected(
        ledger, sign(KEYS[0], maxFeePerGas=10**18, maxPriorityFeePerGas=1), "insufficient-funds"
    )


def test_same_transaction_twice_is_already_known(ledger: Ledger) -> None:
    raw = sign(KEYS[0])
    ledger.send_raw_transaction(raw)
    rejected(ledger, raw, "already-known")
    rejected(ledger, sign(KEYS[0], value=5), "already-known")  # same sender and nonce
    assert ledger.produce_block() is not None
    rejected(ledger, raw, "already-known")  # mined


def test_full_pool_refuses_more(tmp_path: Path) -> None:
    led = Ledger(tmp_path, make_genesis(), validator_key=VALIDATOR_KEY, mempool_size=2)
    try:
        led.send_raw_transaction(sign(KEYS[0], nonce=0))
        led.send_raw_transaction(sign(KEYS[1], nonce=0))
        rejected(led, sign(KEYS[2], nonce=0), "mempool-full")
    finally:
        led.close()


@pytest.mark.parametrize("type_byte", [3, 4])
def test_blob_and_set_code_transactions_are_unsupported(ledger: Ledger, type_byte: int) -> None:
    rejected(ledger, bytes([type_byte]) + rlp.encode([1, 2, 3]), "unsupported-type")


def test_real_set_code_transaction_is_unsupported(ledger: Ledger) -> None:
    account = Account.from_key(KEYS[0])
    auth = account.sign_authorization(
        {"chainId": CHAIN_ID, "address": "0x" + "33" * 20, "nonce": 1}
    )
    raw = account.sign_transaction(
        {
            "chainId": CHAIN_ID,
            "nonce": 0,
            "gas": 100_000,
            "maxFeePerGas": 0,
            "maxPriorityFeePerGas": 0,
            "to": account.address,
            "value": 0,
            "data": b"",
            "authorizationList": [auth],
        }
    ).raw_transaction
    rejected(ledger, bytes(raw), "unsupported-type")


def test_take_orders_each_sender_by_nonce_whatever_the_arrival_order(ledger: Ledger) -> None:
    for nonce in (2, 0, 1):
        ledger.send_raw_transaction(sign(KEYS[0], nonce=nonce))
    ledger.send_raw_transaction(sign(KEYS[1], nonce=0))
    taken = ledger.mempool.take(30_000_000, 100)
    mine = [tx.nonce for tx in taken if tx.sender == address_bytes(KEYS[0])]
    assert mine == [0, 1, 2]
    assert len(taken) == 4
    assert len(ledger.mempool.take(250_000, 100)) == 2  # gas bound: 2 x 100k


def test_gap_in_nonces_holds_later_transactions_back(ledger: Ledger) -> None:
    ledger.send_raw_transaction(sign(KEYS[0], nonce=1))
    assert ledger.produce_block() is None
    ledger.send_raw_transaction(sign(KEYS[0], nonce=0))
    block = ledger.produce_block()
    assert block is not None and [tx.nonce for tx in block.transactions] == [0, 1]
