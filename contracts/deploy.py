"""Deploy and wire the whole contract suite with web3.py; founders are installed at deploy."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import rlp
from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from eth_utils.crypto import keccak
from web3 import HTTPProvider, Web3
from web3.contract import Contract
from web3.middleware import ExtraDataToPOAMiddleware
from web3.types import TxReceipt

from contracts.artifacts import load_artifact
from contracts.exceptions import ContractsError
from contracts.tx import send, submit, wait
from contracts.typing import Tier


@dataclass(frozen=True, slots=True)
class FoundingMember:
    """A hospital installed active without a vote. Public data only (no patient data).

    ``validator_address`` is the hospital's validator key (blocks, votes, p2p links), never
    ``account``: the account signs transactions and access tokens, and a validator host
    holding only the validator key cannot act as the hospital (the contract refuses one
    address for both with ``InvalidValidatorAddress``).
    """

    account: ChecksumAddress
    name: str
    tier: Tier
    encryption_key: bytes
    validator_address: ChecksumAddress
    endpoint: str = ""
    validator: bool = True

    def as_tuple(self) -> tuple[object, ...]:
        """The ``Founder`` struct the Consortium constructor takes (Types.sol order)."""
        return (self.account, self.name, int(self.tier), self.encryption_key, self.endpoint,
                self.validator, self.validator_address)  # fmt: skip


@dataclass(frozen=True, slots=True)
class SuiteConfig:
    """Governance and break-glass parameters fixed at deploy time."""

    vote_threshold_percent: int = 67
    voting_period_s: int = 7 * 24 * 3600
    max_break_glass_s: int = 4 * 3600
    #: At most ``break_glass_limit`` break-glass openings per physician per sliding window.
    break_glass_limit: int = 3
    break_glass_window_s: int = 24 * 3600
    auditors: tuple[ChecksumAddress, ...] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True)
class Deployment:
    """Addresses of the deployed suite."""

    consortium: ChecksumAddress
    anchors: ChecksumAddress
    referrals: ChecksumAddress
    grants: ChecksumAddress

    def as_dict(self) -> dict[str, str]:
        return {
            "Consortium": self.consortium,
            "Anchors": self.anchors,
            "Referrals": self.referrals,
            "Grants": self.grants,
        }


def connect(rpc_url: str, *, timeout_s: float = 30.0) -> Web3:
    """A web3.py client for our chain (or any Ethereum JSON-RPC engine).

    Our blocks carry commit seals in ``extraData`` (longer than mainnet's 32 bytes), so the
    extraData-to-POA middleware goes first, as for any BFT/PoA chain.
    """
    w3 = Web3(HTTPProvider(rpc_url, request_kwargs={"timeout": timeout_s}))
    w3.middleware_onion.inject(ExtraDataToPOAMiddleware, layer=0)
    return w3


def contract_at(w3: Web3, name: str, address: ChecksumAddress) -> Contract:
    """A web3.py contract object for a deployed suite contract."""
    return w3.eth.contract(address=address, abi=load_artifact(name).abi)


def _factory(w3: Web3, name: str) -> type[Contract]:
    artifact = load_artifact(name)
    return w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)


def deploy_contract(w3: Web3, deployer: LocalAccount, name: str, *args: object) -> ChecksumAddress:
    """Deploy one suite contract from its committed artifact; return its address."""
    receipt = send(w3, deployer, _factory(w3, name).constructor(*args))
    return _created(receipt, name)


def _created(receipt: TxReceipt, name: str) -> ChecksumAddress:
    address = receipt["contractAddress"]
    if address is None:
        raise ContractsError(f"deploying {name} returned no contract address")
    return Web3.to_checksum_address(address)


#: Creation gas of the argument-free-size contracts is fixed by their code; these limits
#: leave a wide margin (measured: 0.9M, 1.1M, 1.8M) and save an estimate round trip each.
_FIXED_DEPLOY_GAS = {"Anchors": 2_000_000, "Referrals": 2_500_000, "Grants": 4_000_000}


def deploy_suite(
    w3: Web3,
    *,
    deployer: LocalAccount,
    founders: Sequence[FoundingMember],
    config: SuiteConfig | None = None,
) -> Deployment:
    """Deploy Consortium (with the founders), Anchors, Referrals and Grants, wired together.

    The four creations are queued back to back (their addresses follow from the deployer's
    nonce), so on a chain with block times they usually land in one block. The deployer
    needs no role afterwards: nothing in the suite is owned by it. A consortium chain has
    its ``Consortium`` in the genesis instead: see :func:`deploy_satellites`.
    """
    cfg = config or SuiteConfig()
    founder_tuples = [f.as_tuple() for f in founders]
    nonce = w3.eth.get_transaction_count(deployer.address, "pending")
    consortium = _create_address(deployer.address, nonce)
    args = (founder_tuples, list(cfg.auditors), cfg.vote_threshold_percent, cfg.voting_period_s)
    plan: list[tuple[str, tuple[object, ...]]] = [("Consortium", args)]
    plan += _satellite_plan(consortium, _create_address(deployer.address, nonce + 2), cfg)
    addresses = _deploy_plan(
        w3, deployer, plan, nonce, gas={"Consortium": _consortium_gas(founders, cfg)}
    )
    return Deployment(consortium, *addresses[1:])


def _consortium_gas(founders: Sequence[FoundingMember], cfg: SuiteConfig) -> int:
    """A gas limit for the Consortium's creation with ``args``, so it is not estimated.

    Measured on anvil: 3.7M with one founder, +0.23M per founder (short names); strings cost
    ~20k per 32-byte word stored. Estimating instead runs the constructor some 20 times in
    a binary search, which on a loaded 2-core machine exceeded our chain's 5 s call cap.
    """
    text = sum(
        len(f.name.encode()) + len(f.endpoint.encode()) + len(f.encryption_key) for f in founders
    )
    return 4_000_000 + 400_000 * len(founders) + 60_000 * len(cfg.auditors) + 1_000 * text


def deploy_satellites(
    w3: Web3,
    *,
    deployer: LocalAccount,
    consortium: ChecksumAddress,
    config: SuiteConfig | None = None,
) -> Deployment:
    """Deploy Anchors, Referrals and Grants around an existing (genesis) ``Consortium``.

    The deployer must be permitted on the chain (a founding member); it keeps no role.
    """
    cfg = config or SuiteConfig()
    nonce = w3.eth.get_transaction_count(deployer.address, "pending")
    referrals = _create_address(deployer.address, nonce + 1)
    addresses = _deploy_plan(w3, deployer, _satellite_plan(consortium, referrals, cfg), nonce)
    return Deployment(consortium, *addresses)


def _satellite_plan(
    consortium: ChecksumAddress, referrals: ChecksumAddress, cfg: SuiteConfig
) -> list[tuple[str, tuple[object, ...]]]:
    return [
        ("Anchors", (consortium,)),
        ("Referrals", (consortium,)),
        (
            "Grants",
            (
                consortium,
                referrals,
                cfg.max_break_glass_s,
                cfg.break_glass_limit,
                cfg.break_glass_window_s,
            ),
        ),
    ]


def _deploy_plan(
    w3: Web3,
    deployer: LocalAccount,
    plan: list[tuple[str, tuple[object, ...]]],
    nonce: int,
    *,
    gas: dict[str, int] | None = None,
) -> list[ChecksumAddress]:
    """Queue the creations at ``nonce``, ``nonce + 1``, ...; each lands where predicted."""
    limits = {**_FIXED_DEPLOY_GAS, **(gas or {})}
    hashes = [
        submit(
            w3,
            deployer,
            _factory(w3, name).constructor(*args),
            gas=limits.get(name),
            nonce=nonce + i,
        )
        for i, (name, args) in enumerate(plan)
    ]
    addresses = [_created(wait(w3, h), name) for h, (name, _) in zip(hashes, plan, strict=True)]
    for i, address in enumerate(addresses):
        if address != _create_address(deployer.address, nonce + i):
            raise ContractsError("deployed addresses differ from the ones wired in")
    return addresses


def _create_address(sender: ChecksumAddress, nonce: int) -> ChecksumAddress:
    """The address a CREATE from ``sender`` at ``nonce`` yields (keccak(rlp([sender, nonce])))."""
    return Web3.to_checksum_address(keccak(rlp.encode([bytes.fromhex(sender[2:]), nonce]))[12:])
