"""The consortium genesis file: one JSON document every node of the chain starts from.

Every field is validated here so that a typo fails at startup with a message naming the
field, never later as a divergent state root. Addresses are 0x-prefixed hex; mixed-case
addresses must carry a valid EIP-55 checksum (a wrong checksum is a typo, not a new
account).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal

from eth_utils.address import (
    is_checksum_address,
    is_hex_address,
    to_canonical_address,
    to_checksum_address,
)
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from ledger.exceptions import ConfigError
from ledger.typing import Address, ChainId

UINT256_MAX = 2**256 - 1
#: A block must at least fit one plain transfer (21,000 gas).
MIN_BLOCK_GAS_LIMIT = 21_000
#: py-evm's header RLP holds the gas limit as a 64-bit quantity; stay well inside it.
MAX_BLOCK_GAS_LIMIT = 2**63 - 1


def _check_address(value: str) -> str:
    if not is_hex_address(value):
        raise ValueError(f"{value!r} is not a 0x-prefixed 20-byte hex address")
    body = value[2:]
    if body != body.lower() and body != body.upper() and not is_checksum_address(value):
        raise ValueError(f"{value!r} has a wrong EIP-55 checksum (mixed case)")
    return to_checksum_address(value)


def _check_hex_bytes(value: str) -> str:
    if not value.startswith("0x"):
        raise ValueError("hex data must start with 0x")
    try:
        bytes.fromhex(value[2:])
    except ValueError as exc:
        raise ValueError(f"invalid hex data: {exc}") from exc
    return value.lower()


HexAddress = Annotated[str, AfterValidator(_check_address)]
HexBytes = Annotated[str, AfterValidator(_check_hex_bytes)]
Uint256 = Annotated[int, Field(ge=0, le=UINT256_MAX)]


def address_bytes(address: str) -> Address:
    """Canonical 20-byte form of a validated hex address."""
    return Address(to_canonical_address(address))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AllocAccount(_Strict):
    """Pre-funded or pre-deployed state of one account at genesis."""

    balance: Uint256 = 0
    nonce: Annotated[int, Field(ge=0, le=2**64 - 1)] = 0
    code: HexBytes = "0x"
    storage: dict[Uint256, Uint256] = Field(default_factory=dict)


class PermittedAccount(_Strict):
    """An account allowed to send transactions (a consortium member or another account)."""

    address: HexAddress
    kind: Literal["member", "other"] = "member"
    balance: Uint256 = 0


class Genesis(_Strict):
    """The genesis and consensus parameters of a medledger chain."""

    chain_id: Annotated[int, Field(ge=1, le=2**63 - 1)]
    gas_limit: Annotated[int, Field(ge=MIN_BLOCK_GAS_LIMIT, le=MAX_BLOCK_GAS_LIMIT)] = 30_000_000
    timestamp: Annotated[int, Field(ge=0, le=2**63 - 1)] = 0
    validators: list[HexAddress] = Field(min_length=1)
    accounts: list[PermittedAccount] = Field(default_factory=list)
    alloc: dict[HexAddress, AllocAccount] = Field(default_factory=dict)
    block_interval_ms: Annotated[int, Field(ge=50, le=500)] = 100
    max_transaction_size: Annotated[int, Field(ge=1024, le=4 * 1024 * 1024)] = 128 * 1024
    #: The ``Consortium`` installed in ``alloc``: when set, it decides from block 0 who may
    #: send (``accounts`` then only fund balances) and who validates (``validators`` must
    #: equal its ``validators()`` at genesis); see ``ledger.validator_sets``.
    consortium_contract: HexAddress | None = None

    @field_validator("validators")
    @classmethod
    def _unique_validators(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("validator addresses must be unique")
        return value

    @field_validator("accounts")
    @classmethod
    def _unique_accounts(cls, value: list[PermittedAccount]) -> list[PermittedAccount]:
        seen = [account.address for account in value]
        if len(set(seen)) != len(seen):
            raise ValueError("permitted account addresses must be unique")
        return value

    @model_validator(mode="after")
    def _balances_once(self) -> Genesis:
        for account in self.accounts:
            if account.balance and account.address in self.alloc:
                raise ValueError(
                    f"{account.address} has a balance both in accounts and in alloc; "
                    "give it in one place"
                )
        if self.consortium_contract is not None:
            contract = self.alloc.get(self.consortium_contract)
            if contract is None or contract.code == "0x":
                raise ValueError(
                    "consortium_contract must be deployed at genesis: give its code in alloc"
                )
        return self

    # --- derived values -------------------------------------------------------------

    @property
    def typed_chain_id(self) -> ChainId:
        return ChainId(self.chain_id)

    def validator_addresses(self) -> tuple[Address, ...]:
        return tuple(address_bytes(a) for a in self.validators)

    def permitted_addresses(self) -> frozenset[Address]:
        """Everyone permitted at genesis: the listed accounts and the validators."""
        return frozenset(address_bytes(a.address) for a in self.accounts) | frozenset(
            self.validator_addresses()
        )

    def genesis_state(self) -> dict[Address, Any]:
        """The genesis state in py-evm's ``from_genesis`` format."""
        state: dict[Address, Any] = {}
        for account in self.accounts:
            state[address_bytes(account.address)] = {
                "balance": account.balance,
                "nonce": 0,
                "code": b"",
                "storage": {},
            }
        for address, alloc in self.alloc.items():
            state[address_bytes(address)] = {
                "balance": alloc.balance,
                "nonce": alloc.nonce,
                "code": bytes.fromhex(alloc.code[2:]),
                "storage": dict(alloc.storage),
            }
        return state


def parse_genesis(text: str, *, source: str = "<genesis>") -> Genesis:
    """Parse and validate a genesis JSON document; raises ``ConfigError``."""
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{source}: not valid JSON: {exc}") from exc
    try:
        return Genesis.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '<root>'}: {err['msg']}"
            for err in exc.errors()
        )
        raise ConfigError(f"{source}: invalid genesis: {problems}") from exc


def load_genesis(path: Path) -> Genesis:
    """Read and validate a genesis file; raises ``ConfigError`` naming the bad field."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read genesis file {path}: {exc}") from exc
    return parse_genesis(text, source=str(path))


def dump_genesis(genesis: Genesis) -> str:
    """The canonical JSON text of a genesis (stable key order)."""
    return json.dumps(genesis.model_dump(mode="json"), indent=2, sort_keys=True) + "\n"


def write_dev_genesis(
    path: Path,
    *,
    validator: str,
    accounts: list[str],
    chain_id: int = 1337,
    balance: int = 0,
    block_interval_ms: int = 100,
) -> Genesis:
    """Write a single-validator development genesis to ``path`` and return it."""
    genesis = Genesis(
        chain_id=chain_id,
        validators=[validator],
        accounts=[PermittedAccount(address=a, balance=balance) for a in accounts],
        block_interval_ms=block_interval_ms,
    )
    Path(path).write_text(dump_genesis(genesis), encoding="utf-8")
    return genesis
