"""Deploy and wire the whole contract suite with web3.py; founders are installed at deploy."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from web3 import Web3
from web3.contract import Contract

from contracts.artifacts import load_artifact
from contracts.exceptions import ContractsError
from contracts.tx import send
from contracts.typing import Tier


@dataclass(frozen=True, slots=True)
class FoundingMember:
    """A hospital installed active without a vote. Public data only (no patient data)."""

    account: ChecksumAddress
    name: str
    tier: Tier
    encryption_key: bytes
    endpoint: str = ""
    validator: bool = True


@dataclass(frozen=True, slots=True)
class SuiteConfig:
    """Governance and break-glass parameters fixed at deploy time."""

    vote_threshold_percent: int = 67
    voting_period_s: int = 7 * 24 * 3600
    max_break_glass_s: int = 4 * 3600
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


def contract_at(w3: Web3, name: str, address: ChecksumAddress) -> Contract:
    """A web3.py contract object for a deployed suite contract."""
    return w3.eth.contract(address=address, abi=load_artifact(name).abi)


def deploy_contract(w3: Web3, deployer: LocalAccount, name: str, *args: object) -> ChecksumAddress:
    """Deploy one suite contract from its committed artifact; return its address."""
    artifact = load_artifact(name)
    factory = w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    receipt = send(w3, deployer, factory.constructor(*args))
    address = receipt["contractAddress"]
    if address is None:
        raise ContractsError(f"deploying {name} returned no contract address")
    return Web3.to_checksum_address(address)


def deploy_suite(
    w3: Web3,
    *,
    deployer: LocalAccount,
    founders: Sequence[FoundingMember],
    config: SuiteConfig | None = None,
) -> Deployment:
    """Deploy Consortium (with the founders), Anchors, Referrals and Grants, wired together.

    The deployer needs no role afterwards: nothing in the suite is owned by it.
    """
    cfg = config or SuiteConfig()
    founder_tuples = [
        (f.account, f.name, int(f.tier), f.encryption_key, f.endpoint, f.validator)
        for f in founders
    ]
    consortium = deploy_contract(
        w3,
        deployer,
        "Consortium",
        founder_tuples,
        list(cfg.auditors),
        cfg.vote_threshold_percent,
        cfg.voting_period_s,
    )
    anchors = deploy_contract(w3, deployer, "Anchors", consortium)
    referrals = deploy_contract(w3, deployer, "Referrals", consortium)
    grants = deploy_contract(w3, deployer, "Grants", consortium, referrals, cfg.max_break_glass_s)
    return Deployment(consortium=consortium, anchors=anchors, referrals=referrals, grants=grants)
