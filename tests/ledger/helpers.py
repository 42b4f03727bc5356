"""Keys, genesis files and signed transactions for ledger tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from eth_account import Account

from ledger.config import Genesis, PermittedAccount
from ledger.typing import Address

CHAIN_ID = 4242
VALIDATOR_KEY = bytes.fromhex("11" * 32)
KEYS = [bytes([i + 1]) * 32 for i in range(1, 9)]
OUTSIDER_KEY = bytes.fromhex("77" * 32)


def address(key: bytes) -> str:
    return str(Account.from_key(key).address)


def address_bytes(key: bytes) -> Address:
    return Address(bytes.fromhex(address(key)[2:]))


def make_genesis(**overrides: Any) -> Genesis:
    fields: dict[str, Any] = {
        "chain_id": CHAIN_ID,
        "validators": [address(VALIDATOR_KEY)],
        "accounts": [PermittedAccount(address=address(k), balance=10**21) for k in KEYS],
        "gas_limit": 30_000_000,
    }
    fields.update(overrides)
    return Genesis(**fields)


def sign(key: bytes, **tx: Any) -> bytes:
    """A signed raw transaction; EIP-1559 with zero fees unless fields say otherwise."""
    fields: dict[str, Any] = {
        "chainId": CHAIN_ID,
        "nonce": 0,
        "gas": 100_000,
        "maxFeePerGas": 0,
        "maxPriorityFeePerGas": 0,
        "to": "0x" + "22" * 20,
        "value": 0,
        "data": b"",
    }
    if "gasPrice" in tx:
        del fields["maxFeePerGas"], fields["maxPriorityFeePerGas"]
    fields.update(tx)
    if fields.get("to") is None:
        fields.pop("to")
    return bytes(Account.sign_transaction(fields, key).raw_transaction)


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path
