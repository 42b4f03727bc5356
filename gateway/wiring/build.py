"""Assemble one hospital's real gateway services from its node config and keystores.

The gateway runs next to the hospital's node, in the same hospital directory
(``medledger consortium init`` layout): it reads the node's ``node.json`` for the chain's
RPC URL, the contract addresses, the blob store and the case database the node's follower
fills, and opens the hospital keystore's *encryption* keyring (to open granted packages).
Redemptions are sent by a separate operator account (``--operator-keystore``): without
one the gateway still serves reads and sign-in, and refuses redemptions with a clear 503.

``gateway.env`` names the chain id and the Grants contract that access tokens bind to;
``node.json`` names the contracts and the chain (its RPC URL). They are checked for
agreement before anything is served (:func:`check_agreement`): a gateway verifying tokens
for another Grants contract or chain than the one it reads would refuse every token.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import httpx
from eth_account.signers.local import LocalAccount

from common.tls import TLSConfigError, http_client
from contracts.client import ChainClient
from contracts.exceptions import ChainUnavailable
from gateway.audit.disclosure_heads import ChainHeadAnchor
from gateway.audit.events import EventReader
from gateway.audit.trail import ChainAuditTrail
from gateway.container import Services
from gateway.disclosure.anchor import Anchorer, Policy
from gateway.disclosure.log import SqliteDisclosureLog
from gateway.exceptions import ConfigurationError
from gateway.memory import MemorySessionStore
from gateway.settings import GatewaySettings
from gateway.wiring.breakglass_chain import Web3BreakGlass
from gateway.wiring.case_store import NodeCaseStore
from gateway.wiring.chain_view import Web3ChainView
from gateway.wiring.inbox import NodeInbox
from keys.exceptions import KeysError
from keys.keystore import Keystore
from keys.tokens import TokenVerifier
from node.bootstrap import chain_client, open_blobs
from node.cases.chain import Web3CaseChain
from node.cases.service import CaseServices, OutboxRecords
from node.cases.store import CaseStore
from node.config import LoadedConfig, load_config
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


def check_agreement(
    settings: GatewaySettings, config: LoadedConfig, node_config: Path, *, chain_id: int | None
) -> None:
    """Refuse to start when ``gateway.env`` and ``node.json`` name different suites.

    ``chain_id`` is what the chain at ``node.json``'s RPC URL answers (``None``: it did not
    answer, and the gateway starts and serves 503s until it does, as before).

    Raises
    ------
    ConfigurationError
        The Grants address or the chain id differ; the message names both files.
    """
    grants = config.settings.contracts.grants
    if grants.lower() != settings.grants_contract.lower():
        raise ConfigurationError(
            f"MEDLEDGER_GATEWAY_GRANTS_CONTRACT (gateway.env) is {settings.grants_contract}, "
            f"but {node_config} names the Grants contract {grants}"
        )
    if chain_id is not None and chain_id != settings.chain_id:
        raise ConfigurationError(
            f"MEDLEDGER_GATEWAY_CHAIN_ID (gateway.env) is {settings.chain_id}, but the chain "
            f"{node_config} names ({config.settings.rpc_url}) has chain id {chain_id}"
        )


def _chain_id(client: ChainClient) -> int | None:
    try:
        return client.chain_id
    except ChainUnavailable:  # not up yet: requests get 503s until it is, as before
        return None


def _node_client(config: LoadedConfig) -> httpx.Client:
    """HTTP to nodes as the hospital's node calls them: the consortium CA, our client cert."""
    try:
        return http_client(config.tls_files(), timeout=10.0)
    except TLSConfigError as exc:
        raise ConfigurationError(str(exc)) from None


def build_services(*, settings: GatewaySettings, sources: GatewaySources) -> Services:
    """The real seams: web3 chain view, the node's granted cases, chain audit trail.

    Raises :class:`ConfigurationError` for an unreadable config or keystore, or when
    ``gateway.env`` and the node config disagree (:func:`check_agreement`).
    """
    try:
        config = load_config(sources.node_config)
    except NodeError as exc:
        raise ConfigurationError(str(exc)) from None
    s = config.settings
    probe = ChainClient(rpc_url=s.rpc_url, addresses=s.contracts, timeout_s=5.0)
    check_agreement(settings, config, sources.node_config, chain_id=_chain_id(probe))
    try:
        keyring = Keystore.open(config.keystore_dir).load_keyring(sources.passphrase)
    except KeysError as exc:
        raise ConfigurationError(str(exc)) from None
    account = (
        operator_account(sources.operator_keystore, sources.passphrase)
        if sources.operator_keystore is not None
        else None
    )
    operator = ChainClient(rpc_url=s.rpc_url, addresses=s.contracts, account=account)
    reader = chain_client(config)
    case_chain = Web3CaseChain(reader)
    blobs = open_blobs(config)
    cases = CaseServices(
        chain=case_chain,
        store=CaseStore(config.data_dir / "cases.sqlite"),
        blobs=blobs,
        records=OutboxRecords(config.outbox_path),
        keyring=keyring,
        issuer=None,
        verifier=TokenVerifier(
            chain_id=settings.chain_id,
            grants_contract=settings.grants_contract,
            grantee=settings.hospital,
        ),
        http=_node_client(config),
    )
    # The node's own store: ``?check_ciphertext=true`` checks the CIDs this hospital holds
    # (without one every such trace was a 503 "chain_unavailable" on a healthy chain).
    trail = ChainAuditTrail(reader.w3, s.contracts, from_block=0, blobs=blobs)
    chain = Web3ChainView(operator)
    heads = ChainHeadAnchor(
        hospital=settings.hospital,
        events=EventReader(reader.w3, s.contracts, from_block=0),
        client=operator if account is not None else None,
    )
    policy = Policy(
        every_entries=settings.disclosure_anchor_every,
        every_seconds=settings.disclosure_anchor_seconds,
    )
    disclosures = Anchorer(
        SqliteDisclosureLog(config.data_dir / "disclosures.sqlite"), heads, policy
    )
    disclosures.start()
    return Services(
        chain=chain,
        cases=NodeCaseStore(cases, chain=chain),
        sessions=MemorySessionStore(),
        audit=trail,
        trail=trail,
        inbox=NodeInbox(cases),
        disclosures=disclosures,
        break_glass=Web3BreakGlass(operator),
    )
