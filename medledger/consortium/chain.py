"""The consortium's contracts on a running chain: deploy the satellites, read members, vote.

Everything goes through the binding in ``contracts/`` (typed reads, the one event decoder,
``contracts.tx`` for transactions: the same code the node and the gateway use), so any
Ethereum JSON-RPC engine can stand in for ours.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from web3 import Web3
from web3.contract import Contract
from web3.exceptions import Web3Exception

from contracts.deploy import Deployment, SuiteConfig, connect, contract_at, deploy_satellites
from contracts.exceptions import ContractsError
from contracts.reads import SuiteReads
from contracts.rpc import RawReader
from keys.keystore import Keystore
from medledger.consortium.exceptions import AdmissionError
from medledger.consortium.hospital import KEYSTORE_DIR
from medledger.consortium.manifest import HospitalEntry, Manifest


def unlock(directory: Path, entry: HospitalEntry, passphrase: str) -> LocalAccount:
    """The hospital's signing account from its keystore (keys/; passphrase never logged)."""
    account: LocalAccount = (
        Keystore.open(directory / entry.directory / KEYSTORE_DIR)
        .load_signing_key(passphrase)
        .account
    )
    return account


def client(rpc_url: str) -> Web3:
    w3 = connect(rpc_url, timeout_s=10.0)
    try:
        w3.eth.chain_id  # noqa: B018 - fail here, with the URL named, if nobody answers
    except (Web3Exception, OSError) as exc:
        raise AdmissionError(f"no chain answers at {rpc_url}: {type(exc).__name__}") from None
    return w3


def deploy(w3: Web3, manifest: Manifest, deployer: LocalAccount) -> tuple[dict[str, str], bool]:
    """Deploy Anchors, Referrals and Grants unless there; return addresses, whether we did.

    The ``Consortium`` is already in the genesis.

    Raises ``AdmissionError`` when the chain has no genesis ``Consortium`` where the
    manifest says, or the deployed addresses differ from the manifest's (the configs would
    then point at the wrong contracts).
    """
    expected = manifest.contracts
    consortium = Web3.to_checksum_address(expected["consortium"])
    if not w3.eth.get_code(consortium):
        raise AdmissionError(f"no Consortium at {consortium}: not this consortium's chain?")
    if w3.eth.get_code(Web3.to_checksum_address(expected["grants"])):
        return expected, False
    if deployer.address != manifest.deployer:
        raise AdmissionError("the suite must be deployed by the manifest's deployer account")
    try:
        suite = deploy_satellites(
            w3, deployer=deployer, consortium=consortium, config=SuiteConfig()
        )
    except (ContractsError, Web3Exception) as exc:
        raise AdmissionError(f"deploying the contracts failed: {exc}") from None
    got = {k.lower(): v for k, v in suite.as_dict().items()}
    if got != expected:
        raise AdmissionError(f"deployed at {got}, but the configs name {expected}")
    return got, True


@dataclass(frozen=True, slots=True)
class Suite:
    """The manifest's suite on one chain: ``Consortium`` to sign calls to, typed reads."""

    consortium: Contract
    reads: SuiteReads


def open_suite(w3: Web3, manifest: Manifest) -> Suite:
    """The suite, once the genesis ``Consortium`` is found where the manifest says."""
    address: ChecksumAddress = Web3.to_checksum_address(manifest.contracts["consortium"])
    if not w3.eth.get_code(address):
        raise AdmissionError("no Consortium contract yet: run `medledger consortium deploy`")
    return Suite(contract_at(w3, "Consortium", address), suite_reads(w3, manifest))


def deployment(manifest: Manifest) -> Deployment:
    """The suite's addresses as the manifest (and so every config it wrote) names them."""
    c = {k.lower(): Web3.to_checksum_address(v) for k, v in manifest.contracts.items()}
    return Deployment(consortium=c["consortium"], anchors=c["anchors"],
                      referrals=c["referrals"], grants=c["grants"])  # fmt: skip


def suite_reads(w3: Web3, manifest: Manifest) -> SuiteReads:
    """Typed reads of the manifest's suite (one JSON-RPC round trip each)."""
    return SuiteReads(RawReader(w3, deployment(manifest)))
