"""Build a node's parts from its config: keystore, blob store, chain client, adapters."""

from __future__ import annotations

from eth_account.signers.local import LocalAccount

from keys.envelope import EncryptionPublicKey
from keys.exceptions import KeysError
from keys.keystore import Keystore
from node.blobstore.abc import BlobStoreAPI
from node.blobstore.embedded import EmbeddedBlobStore
from node.blobstore.kubo import KuboBlobStore
from node.chain import ChainClient
from node.chain_anchors import ChainAnchorSink
from node.config import LoadedConfig
from node.exceptions import NodeConfigError
from node.ingest.adapters import BlobPayloadStore, PublicKeyWrapper, StreamCipher
from node.ingest.pool import SealPool
from node.pseudonym import ConsortiumPseudonymizer
from node.service import NodeParts


def open_blobs(config: LoadedConfig) -> BlobStoreAPI:
    blob = config.settings.blob
    if blob.api:
        return KuboBlobStore(blob.api)
    return EmbeddedBlobStore(config.path(blob.directory), durable=blob.durable)


def current_public_key(config: LoadedConfig) -> EncryptionPublicKey:
    """The hospital's current encryption public key, from keystore metadata (no passphrase)."""
    try:
        public = Keystore.open(config.keystore_dir).export_public()["encryption"]
    except KeysError as exc:
        raise NodeConfigError(str(exc)) from None
    return EncryptionPublicKey(int(public["version"]), bytes.fromhex(public["public_key"][2:]))


def signing_account(config: LoadedConfig, passphrase: str) -> LocalAccount:
    try:
        return Keystore.open(config.keystore_dir).load_signing_key(passphrase).account
    except KeysError as exc:
        raise NodeConfigError(str(exc)) from None


def chain_client(config: LoadedConfig, account: LocalAccount | None = None) -> ChainClient:
    s = config.settings
    return ChainClient(rpc_url=s.rpc_url, addresses=s.contracts, account=account)


def _seal_pool(config: LoadedConfig) -> SealPool | None:
    workers = config.settings.ingest_workers
    if workers == 0:
        return None
    return SealPool(workers=workers, secret=config.consortium_secret(),
                    public_key=current_public_key(config))  # fmt: skip


def open_parts(config: LoadedConfig, *, account: LocalAccount | None = None) -> NodeParts:
    """Everything ingest needs; with ``account`` also the chain sink that anchors."""
    config.data_dir.mkdir(parents=True, exist_ok=True)
    blobs = open_blobs(config)
    sink = None
    if account is not None:
        sink = ChainAnchorSink(chain=chain_client(config, account), blobs=blobs)
    return NodeParts(
        outbox_path=config.outbox_path,
        pseudonymizer=ConsortiumPseudonymizer(config.consortium_secret()),
        cipher=StreamCipher(),
        store=BlobPayloadStore(blobs, journal=config.data_dir / "ingest-journal.sqlite"),
        wrapper=PublicKeyWrapper(current_public_key(config)),
        sink=sink,
        anchor=config.settings.anchor,
        seal_pool=_seal_pool(config),
    )
