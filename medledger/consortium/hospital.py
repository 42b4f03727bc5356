"""One hospital directory: its keystore, then the configs of its three processes.

Layout (paths relative to the directory, which the processes use as working directory)::

    keystore/            signing (member account: transactions, grants, access tokens),
                         encryption v1 (keys/); read by the node and the gateway only
    validator/           validator.json: the validator key (blocks, votes, p2p links), a
                         keystore v3 of its own, the only key the ledger process reads
    operator/            the gateway operator's own keystore: the account that sends
                         redemptions, registered as this hospital's staff by ``deploy``
    genesis.json         the chain's genesis (identical in every hospital)
    ledger.json          ``medledger ledger run --config ledger.json``
    node.json            ``medledger node run --config node.json``
    gateway.env          ``MEDLEDGER_GATEWAY_*`` settings, including the session secret (0600)
    consortium.secret    the consortium's pseudonym HMAC secret, hex (0600)
    node-api.token       bearer token of the node's HTTP API for the hospital's HIS (0600)
    swarm.key            the Kubo private-network key (0600)
    tls/                 consortium CA, server and client certificates (certs.py; keys 0600)
    chain/ node-data/ blobs/   created by the processes (named volumes under compose)
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from eth_utils.address import to_checksum_address

from gateway.settings import GatewaySettings
from keys.keyfiles import encrypt_signing_key
from keys.keystore import Keystore
from keys.signing import SigningKey
from ledger.cli.nodeconf import NodeConfig, RPCSettings, write_node_config
from ledger.p2p.config import P2PSettings, PeerSettings, TimeoutSettings
from medledger.consortium import certs
from medledger.consortium.exceptions import ManifestError
from medledger.consortium.files import env_file, write_private, write_public
from medledger.consortium.layout import HospitalPlan, Network
from medledger.consortium.manifest import HospitalEntry, PortsEntry
from node.config import (
    ApiSettings,
    BlobSettings,
    ContractAddresses,
    DimseSettings,
    Hl7Settings,
    NodeSettings,
    SecretSource,
    TlsSettings,
    write_config,
)

KEYSTORE_DIR = "keystore"
#: The gateway operator's keystore (``gateway run --operator-keystore operator``).
OPERATOR_DIR = "operator"
SIGNING_FILE = f"{KEYSTORE_DIR}/signing.json"
#: The validator key's own directory: the one a validator's container mounts.
VALIDATOR_DIR = "validator"
VALIDATOR_FILE = f"{VALIDATOR_DIR}/validator.json"
CHAIN_DIR = "chain"
NODE_DATA_DIR = "node-data"
BLOB_DIR = "blobs"
SECRET_FILE = "consortium.secret"
TOKEN_FILE = "node-api.token"
SWARM_KEY_FILE = "swarm.key"
GATEWAY_ENV = "gateway.env"


@dataclass(frozen=True, slots=True)
class Kdf:
    """Passphrase-guessing cost of the keystore files (lower only for tests and demos)."""

    scrypt_n: int
    pbkdf2_iterations: int


@dataclass(frozen=True, slots=True)
class SharedFiles:
    """What every hospital of one consortium holds identically."""

    genesis_json: str
    chain_id: int
    contracts: dict[str, str]
    consortium_secret: str
    swarm_key: str
    #: The validators' p2p endpoints, when more than one validates (else no p2p at all).
    peers: tuple[PeerSettings, ...] = ()
    timeouts: TimeoutSettings = field(default_factory=TimeoutSettings)
    #: The JSON-RPC a non-validating hospital's node uses: the ledger cannot follow a
    #: chain without validating yet, so it reads and writes through a validator's.
    validator_rpc_url: str = ""


def create_keystore(directory: Path, *, passphrase: str, kdf: Kdf) -> Keystore:
    """The hospital's keystore and its gateway operator's (keys/; 0600 files in 0700 dirs).

    The operator has an account of its own so the gateway, a network-facing process,
    never holds the hospital's member key: the hospital can suspend it without a vote.
    The validator key is written too (:func:`create_validator_key`).
    """
    directory.mkdir(parents=True, exist_ok=True)
    for sub in (OPERATOR_DIR, KEYSTORE_DIR):
        store = Keystore.create(
            directory / sub,
            passphrase,
            scrypt_n=kdf.scrypt_n,
            pbkdf2_iterations=kdf.pbkdf2_iterations,
        )
    create_validator_key(directory, passphrase=passphrase, kdf=kdf)
    return store


def create_validator_key(directory: Path, *, passphrase: str, kdf: Kdf) -> str:
    """A fresh validator key in ``validator/validator.json`` (keystore v3, 0600 in 0700).

    It is not the member account: a validator host, which must be online and reachable by
    peers, then holds nothing that signs transactions, grants or access tokens. Same
    passphrase as the hospital's keystore (passphrase handling is unchanged). Returns the
    validator address.
    """
    (directory / VALIDATOR_DIR).mkdir(mode=0o700)
    return new_validator_key_file(directory / VALIDATOR_FILE, passphrase=passphrase, kdf=kdf)


def new_validator_key_file(path: Path, *, passphrase: str, kdf: Kdf) -> str:
    """A fresh secp256k1 key as a new keystore v3 file (0600, never overwrites); its address."""
    key = SigningKey.generate()
    data = encrypt_signing_key(key, passphrase, scrypt_n=kdf.scrypt_n)
    write_private(path, data.decode())
    return str(key.address)


def validator_address(directory: Path) -> str:
    """The validator address, from the keystore file's public ``address`` (no unlock)."""
    try:
        document = json.loads((directory / VALIDATOR_FILE).read_text(encoding="utf-8"))
        return to_checksum_address("0x" + str(document["address"]).removeprefix("0x"))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ManifestError(f"{directory / VALIDATOR_FILE}: no readable validator key") from exc


def operator_address(directory: Path) -> str:
    """The gateway operator's account, from its keystore's public metadata ("" if none)."""
    if not (directory / OPERATOR_DIR).is_dir():
        return ""
    return str(Keystore.open(directory / OPERATOR_DIR).export_public()["signing_address"])


def write_configs(
    directory: Path, plan: HospitalPlan, store: Keystore, *, network: Network, shared: SharedFiles
) -> HospitalEntry:
    """Write the process configs and secret files; return the hospital's public entry."""
    public = store.export_public()
    listen = plan.listen_host(network)
    write_public(directory / "genesis.json", shared.genesis_json)
    write_node_config(
        directory / "ledger.json",
        NodeConfig(
            genesis="genesis.json",
            validator_keystore=VALIDATOR_FILE,
            data_dir=plan.state_dir(network, CHAIN_DIR),
            rpc=RPCSettings(host=listen, port=plan.ports.rpc),
            p2p=_p2p(plan, listen, shared, network),
        ),
    )
    for sub in (CHAIN_DIR, NODE_DATA_DIR, BLOB_DIR):
        (directory / sub).mkdir(mode=0o700, exist_ok=True)
    token = secrets.token_urlsafe(32)
    write_private(directory / TOKEN_FILE, token + "\n")
    write_private(directory / SECRET_FILE, shared.consortium_secret + "\n")
    write_private(directory / SWARM_KEY_FILE, shared.swarm_key)
    node_settings = NodeSettings(
        data_dir=plan.state_dir(network, NODE_DATA_DIR),
        keystore_dir=KEYSTORE_DIR,
        rpc_url=plan.rpc_url(network) if plan.validator else shared.validator_rpc_url,
        contracts=ContractAddresses.model_validate(shared.contracts),
        blob=BlobSettings(directory=BLOB_DIR, api=plan.kubo_api(network)),
        consortium_secret=SecretSource(env=None, file=SECRET_FILE),
        api=ApiSettings(
            host=listen,
            port=plan.ports.node_api,
            token_sha256=hashlib.sha256(token.encode()).hexdigest(),
        ),
        # on, with no peer allowed yet: the operator adds the PACS and modalities to ``peers``
        dimse=DimseSettings(enabled=True, host=listen, port=plan.ports.dicom, aet=dicom_aet(plan)),
        tls=_node_tls(plan),
        hl7=_node_hl7(plan, listen),
        # written out so the operator sees the choice: allow, deny or allow-and-notify
        break_glass="allow-and-notify",
    )
    write_config(directory / "node.json", node_settings)
    write_private(directory / GATEWAY_ENV, env_file(gateway_env(plan, public, network, shared)))
    return HospitalEntry(
        slug=plan.slug,
        name=plan.name,
        tier=plan.tier,
        validator=plan.validator,
        directory=directory.name,
        signing_address=public["signing_address"],
        operator_address=operator_address(directory),
        validator_address=validator_address(directory),
        encryption_public_key=public["encryption"]["public_key"],
        ports=PortsEntry(**vars_of(plan)),
        rpc_url=plan.rpc_url(network) if plan.validator else shared.validator_rpc_url,
        p2p_endpoint=plan.p2p_endpoint(network),
        node_url=plan.node_url(network),
        gateway_url=plan.gateway_url(network),
    )


def _p2p(
    plan: HospitalPlan, listen: str, shared: SharedFiles, network: Network
) -> P2PSettings | None:
    """A validator of a multi-validator chain listens for and dials every validator."""
    if not plan.validator or len(shared.peers) < 2:
        return None
    return P2PSettings(
        host=listen,
        port=plan.ports.p2p,
        peers=list(shared.peers),
        timeouts=shared.timeouts,
        # announced in hellos: a validator admitted later is dialed back there (under
        # compose the listen host is a wildcard, the service name is what peers resolve)
        advertise=plan.p2p_endpoint(network),
    )


def _node_tls(plan: HospitalPlan) -> TlsSettings | None:
    """The node's HTTPS and peer mTLS files, as ``certs.write_hospital_certs`` names them."""
    if not plan.tls:
        return None
    return TlsSettings(
        ca_file=certs.HOSPITAL_CA,
        certfile=certs.SERVER_CERT,
        keyfile=certs.SERVER_KEY,
        client_certfile=certs.CLIENT_CERT,
        client_keyfile=certs.CLIENT_KEY,
    )


def _node_hl7(plan: HospitalPlan, listen: str) -> Hl7Settings:
    """The node's MLLP listener: on, at the planned port, loopback peers only.

    A hospital adds its interface engine's address to ``hl7.allowed_peers`` in node.json;
    accepting any peer by default would let anyone on the network write records.
    """
    return Hl7Settings(enabled=True, host=listen, port=plan.ports.hl7)


def dicom_aet(plan: HospitalPlan) -> str:
    """The node's AE title: at most 16 characters, unique within the consortium."""
    return f"ML{plan.index}{plan.tier.upper()}"[:16]


def vars_of(plan: HospitalPlan) -> dict[str, int]:
    p = plan.ports
    return {"rpc": p.rpc, "p2p": p.p2p, "node_api": p.node_api, "gateway": p.gateway,
            "hl7": p.hl7, "dicom": p.dicom}  # fmt: skip


def gateway_env(
    plan: HospitalPlan, public: dict[str, object], network: Network, shared: SharedFiles
) -> dict[str, str]:
    """The gateway's settings, validated by ``GatewaySettings`` before they are written."""
    values = {
        "MEDLEDGER_GATEWAY_ENV": "prod",
        "MEDLEDGER_GATEWAY_HOSPITAL": str(public["signing_address"]),
        "MEDLEDGER_GATEWAY_CHAIN_ID": str(shared.chain_id),
        "MEDLEDGER_GATEWAY_GRANTS_CONTRACT": shared.contracts["grants"],
        "MEDLEDGER_GATEWAY_PUBLIC_URL": plan.gateway_url(network),
        "MEDLEDGER_GATEWAY_SESSION_SECRET": secrets.token_urlsafe(48),
    }
    if plan.tls:
        values["MEDLEDGER_GATEWAY_TLS_CERTFILE"] = certs.SERVER_CERT
        values["MEDLEDGER_GATEWAY_TLS_KEYFILE"] = certs.SERVER_KEY
    prefix = "MEDLEDGER_GATEWAY_"
    GatewaySettings.model_validate({k[len(prefix) :].lower(): v for k, v in values.items()})
    return values
