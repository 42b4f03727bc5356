"""Assemble one hospital's real gateway services from its node config and keystores.

The gateway runs next to the hospital's node, in the same hospital directory
(``medledger consortium init`` layout): it reads the node's ``node.json`` for the chain's
RPC URL, the contract addresses, the blob store and the case database the node's follower
fills, and opens the hospital keystore's *encryption* keyring (to open granted packages).
Redemptions are sent by a separate operator account (``--operator-keystore``): without
one the gateway still serves reads and sign-in, and refuses redemptions with a clear 503.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from eth_account.signers.local import LocalAccount
from web3 import Web3

from contracts.deploy import Deployment
from gateway.audit.trail import ChainAuditTrail
from gateway.container import Services
from gateway.exceptions import ConfigurationError
from gateway.memory import MemorySessionStore
from gateway.settings import GatewaySettings
from gateway.wiring.case_store import NodeCaseStore
from gateway.wiring.chain_view import Web3ChainView
from keys.exceptions import KeysError
from keys.keystore import Keystore
from keys.tokens import TokenVerifier
from node.bootstrap import chain_client, open_blobs
from node.cases.chain import Web3CaseChain
from node.cases.service import CaseServices, OutboxRecords
from node.cases.store import CaseStore
from node.config import ContractAddresses, load_config
from node.exceptions import NodeError


@dataclass(frozen=True, slots=True)
class GatewaySources:
    """Where the gateway's real services come from (paths relative to the working dir)."""

    node_config: Path
    passphrase: str
    operator_keystore: Path | None = None


def operator_account(keystore: Path, passphrase: str) -> LocalAccount:
    """The gateway operator's account (the signing key of its own keystore)."""
    try:
        account: LocalAccount = Keystore.open(keystore).load_signing_key(passphrase).account
    except KeysError as exc:
        raise ConfigurationError(f"operator keystore {keystore}: {exc}") from None
    return account


def build_services(*, settings: GatewaySettings, sources: GatewaySources) -> Services:
    """The real seams: web3 chain view, the node's granted cases, chain audit trail.

    Raises :class:`ConfigurationError` for an unreadable config or keystore.
    """
    try:
        config = load_config(sources.node_config)
        keyring = Keystore.open(config.keystore_dir).load_keyring(sources.passphrase)
    except (NodeError, KeysError) as exc:
        raise ConfigurationError(str(exc)) from None
    account = (
        operator_account(sources.operator_keystore, sources.passphrase)
        if sources.operator_keystore is not None
        else None
    )
    reader = chain_client(config)
    case_chain = Web3CaseChain(reader)
    cases = CaseServices(
        chain=case_chain,
        store=CaseStore(config.data_dir / "cases.sqlite"),
        blobs=open_blobs(config),
        records=OutboxRecords(config.outbox_path),
        keyring=keyring,
        issuer=None,
        verifier=TokenVerifier(
            chain_id=settings.chain_id,
            grants_contract=settings.grants_contract,
            grantee=settings.hospital,
        ),
    )
    trail = ChainAuditTrail(
        reader.w3, _deployment(config.settings.contracts), from_block=0, blobs=None
    )
    chain = Web3ChainView(chain_client(config, account))
    return Services(
        chain=chain,
        cases=NodeCaseStore(cases, chain=chain),
        sessions=MemorySessionStore(),
        audit=trail,
        trail=trail,
    )


def _deployment(addresses: ContractAddresses) -> Deployment:
    c = Web3.to_checksum_address
    return Deployment(consortium=c(addresses.consortium), anchors=c(addresses.anchors),
                      referrals=c(addresses.referrals), grants=c(addresses.grants))  # fmt: skip
