"""The chain benchmark's workload: pre-signed ``Probe.store`` calls from several senders.

Each transaction writes a storage slot and emits an event (the shape of an anchoring call).
The same signed bytes go to every engine, so the engines are compared on identical input.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak
from rlp import encode as rlp_encode

PROBE: dict[str, Any] = json.loads(
    (Path(__file__).resolve().parent.parent / "tests/integration/probe/probe.json").read_text()
)
STORE_SELECTOR = keccak(text="store(uint256)")[:4]
CHAIN_ID = 1337
GAS = 200_000


@dataclass(frozen=True)
class Workload:
    deployer: Any  # eth_account LocalAccount
    senders: list[Any]
    deploy_raw: bytes
    probe_address: str
    per_sender: list[list[bytes]]  # each sender's txs in nonce order

    @property
    def count(self) -> int:
        return sum(len(txs) for txs in self.per_sender)


def _sign(account: Any, **fields: Any) -> bytes:
    tx = {
        "chainId": CHAIN_ID,
        "gas": GAS,
        "maxFeePerGas": 0,
        "maxPriorityFeePerGas": 0,
        "value": 0,
        **fields,
    }
    return bytes(account.sign_transaction(tx).raw_transaction)


def make_workload(deployer: Any, senders: list[Any], per_sender: int) -> Workload:
    """Deployment by ``deployer`` (nonce 0), then ``per_sender`` store calls per sender."""
    deploy = _sign(deployer, nonce=0, data=bytes.fromhex(PROBE["bytecode"][2:]), gas=1_000_000)
    address = keccak(rlp_encode([bytes.fromhex(deployer.address[2:]), 0]))[12:]
    probe = to_checksum_address(address)
    txs = [
        [
            _sign(
                sender,
                nonce=n,
                to=probe,
                data=STORE_SELECTOR + (s * 1_000_000 + n + 1).to_bytes(32, "big"),
            )
            for n in range(per_sender)
        ]
        for s, sender in enumerate(senders)
    ]
    return Workload(deployer, senders, deploy, probe, txs)


def fresh_accounts(count: int) -> list[Any]:
    return [Account.create() for _ in range(count)]
