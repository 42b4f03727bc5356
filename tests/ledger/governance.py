"""A genesis with the real ``Consortium`` installed, and calldata for its governance calls.

Shared by the governance tests of one ledger and of a validator cluster: the contract is the
compiled artifact the project ships, installed by ``ledger.genesis_contract`` exactly as
``medledger consortium init`` does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak
from web3 import Web3

from contracts.artifacts import load_artifact
from contracts.deploy import FoundingMember
from contracts.genesis import consortium_creation_code
from contracts.typing import Tier
from ledger.config import Genesis
from ledger.genesis_contract import install_contract
from tests.ledger.helpers import CHAIN_ID, address

ROLE_OPERATOR = 2
_ABI = Web3().eth.contract(abi=load_artifact("Consortium").abi)


@dataclass(frozen=True, slots=True)
class Founder:
    """A founding member: ``key`` is its account, ``validator_key`` its validator key.

    Without a ``validator_key`` one is derived from ``key`` (a different key, so a validator
    never signs as the member), which is what most tests need; a validating founder passes
    the key its ledger runs with.
    """

    key: bytes
    tier: Tier
    validator: bool
    validator_key: bytes | None = None

    def validator_secret(self) -> bytes:
        return self.validator_key or keccak(b"validator-of" + self.key)


def governed_genesis(founders: list[Founder], **overrides: Any) -> Genesis:
    """A genesis whose permissions and validators come from a genesis ``Consortium``."""
    members = [
        FoundingMember(
            account=to_checksum_address(address(f.key)),
            name=f"hospital {i}",
            tier=f.tier,
            encryption_key=bytes([i + 1]) * 32,
            validator_address=to_checksum_address(address(f.validator_secret())),
            endpoint=f"http://127.0.0.1:{9000 + i}",
            validator=f.validator,
        )
        for i, f in enumerate(founders)
    ]
    installed = install_contract(chain_id=CHAIN_ID, creation_code=consortium_creation_code(members))
    fields: dict[str, Any] = {
        "chain_id": CHAIN_ID,
        "validators": [m.validator_address for m in members if m.validator],
        "alloc": {installed.address: installed.account},
        "consortium_contract": installed.address,
    }
    fields.update(overrides)
    return Genesis(**fields)


def calldata(function: str, *args: Any) -> bytes:
    """ABI-encoded call of a ``Consortium`` function."""
    return bytes.fromhex(_ABI.encode_abi(function, args=list(args))[2:])
