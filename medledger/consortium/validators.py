"""Validating hospitals: who validates now, and the p2p section a (new) validator needs.

The validator set is the chain's (``Consortium.validators()``); the manifest only says where
each hospital listens. A hospital admitted as a validator, or flagged as one later, gets a
``p2p`` section that lists the validators in force when its config was written, itself
included: it dials them, and they dial it back at the endpoint its hello announces once the
chain counts it (``ledger.p2p.transport``). Validators admitted after that are learned the
same way, so no running validator's config is edited.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from eth_utils.address import to_checksum_address

from ledger.cli.nodeconf import load_node_config, write_node_config
from ledger.exceptions import ConfigError
from ledger.p2p.config import P2PSettings, PeerSettings, TimeoutSettings
from ledger.p2p.endpoints import BadEndpoint, parse_endpoint
from medledger.consortium.exceptions import AdmissionError, ManifestError
from medledger.consortium.layout import Network
from medledger.consortium.manifest import HospitalEntry, Manifest
from node.config import load_config, write_config
from node.exceptions import NodeConfigError


def current_validators(
    members: Sequence[HospitalEntry], on_chain: Sequence[str]
) -> list[HospitalEntry]:
    """The ``members`` (manifest entries) the chain lists as validators, in the chain's order.

    The chain lists validator addresses (``validator/`` keys), matched to ``validator_address``.

    Raises
    ------
    AdmissionError
        When the chain names a validator the manifest does not know (its endpoint is
        unknown here), or no validator at all.
    """
    by_address = {to_checksum_address(h.validator_address): h for h in members}
    unknown = [a for a in on_chain if to_checksum_address(a) not in by_address]
    if unknown:
        raise AdmissionError(
            f"the chain lists validator {unknown[0]} that consortium.json does not know"
        )
    if not on_chain:
        raise AdmissionError("the chain lists no validator")
    return [by_address[to_checksum_address(a)] for a in on_chain]


def peer_of(entry: HospitalEntry) -> PeerSettings:
    """A hospital's p2p endpoint from the manifest; raises ``ManifestError`` if malformed."""
    try:
        host, port = parse_endpoint(entry.p2p_endpoint)
    except BadEndpoint as exc:
        raise ManifestError(f"{entry.slug}: p2p_endpoint: {exc}") from None
    return PeerSettings(address=entry.validator_address, host=host, port=port)


def consensus_timeouts(directory: Path, validators: Sequence[HospitalEntry]) -> TimeoutSettings:
    """The timeouts the running validators use (from the first one's ``ledger.json``).

    Raises
    ------
    AdmissionError
        When that validator's ledger runs without p2p: a consortium founded with one
        validator runs a single-node chain that cannot take a second validator.
    """
    if not validators:
        raise AdmissionError("consortium.json lists no validator")
    first = validators[0]
    path = directory / first.directory / "ledger.json"
    try:
        config, _ = load_node_config(path)
    except ConfigError as exc:
        raise ManifestError(str(exc)) from None
    if config.p2p is None:
        raise AdmissionError(
            f"{first.slug} validates alone without p2p (the consortium was founded with one "
            "validator): its chain cannot take another validator; found it with "
            "--validators 2 or more"
        )
    return config.p2p.timeouts


def listen_host(network: Network) -> str:
    """Where a hospital's ledger binds (as ``HospitalPlan.listen_host``)."""
    return "127.0.0.1" if network is Network.loopback else "0.0.0.0"


def enable_p2p(
    directory: Path,
    manifest: Manifest,
    entry: HospitalEntry,
    *,
    validators: Sequence[PeerSettings],
    timeouts: TimeoutSettings,
) -> None:
    """Give ``entry``'s ``ledger.json`` a p2p section: ``validators`` and itself as peers.

    The rest of the file is kept. Raises ``ManifestError`` for an unreadable config.
    """
    path = directory / entry.directory / "ledger.json"
    try:
        config, _ = load_node_config(path)
    except ConfigError as exc:
        raise ManifestError(str(exc)) from None
    own = peer_of(entry)
    peers = [p for p in validators if p.address.lower() != own.address.lower()] + [own]
    p2p = P2PSettings(
        host=listen_host(manifest.network),
        port=own.port,
        peers=peers,
        timeouts=timeouts,
        advertise=entry.p2p_endpoint,
    )
    write_node_config(path, config.model_copy(update={"p2p": p2p}))


def use_validator_rpc(directory: Path, entry: HospitalEntry, rpc_url: str) -> None:
    """Point ``entry``'s node at ``rpc_url``: a member that stopped validating is cut off.

    The validators drop its ledger's links at the height its flag goes off, so that ledger
    no longer follows the chain; its node reads and writes through a validator's JSON-RPC,
    as a member that never validated does. Raises ``ManifestError`` for a bad ``node.json``.
    """
    path = directory / entry.directory / "node.json"
    try:
        loaded = load_config(path)
    except NodeConfigError as exc:
        raise ManifestError(str(exc)) from None
    write_config(path, loaded.settings.model_copy(update={"rpc_url": rpc_url}))
