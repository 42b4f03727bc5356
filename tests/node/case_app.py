"""A node API app with the case routers over temp files (no chain: its RPC port is closed).

The same parts as ``tests/node/test_case_api.py``'s fixture, as a function so hostile-input
tests can set the API limits and serve the app with uvicorn.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from fastapi import FastAPI

from keys.envelope import EncryptionKeyring
from keys.signing import SigningKey
from keys.tokens import TokenIssuer, TokenVerifier
from node.api.app import create_app
from node.api.cases import case_routers
from node.blobstore.embedded import EmbeddedBlobStore
from node.cases.chain import Web3CaseChain
from node.cases.follower import Follower
from node.cases.service import CaseServices, OutboxRecords
from node.cases.store import CaseStore
from node.chain import ChainClient
from node.config import AnchorSettings, ApiSettings, ContractAddresses
from node.ingest.adapters import BlobPayloadStore, KeyringWrapper, StreamCipher
from node.pseudonym import ConsortiumPseudonymizer
from node.service import NodeParts, NodeService
from tests.node.test_case_api import ADDR, TOKEN

AUTH = {"Authorization": f"Bearer {TOKEN}"}


@contextmanager
def case_app(tmp_path: Path, **api: Any) -> Iterator[FastAPI]:
    """The node app (records + case + peer routers); ``api`` overrides ApiSettings fields."""
    keyring = EncryptionKeyring({1: X25519PrivateKey.generate()})
    signing = SigningKey.generate()
    blobs = EmbeddedBlobStore(tmp_path / "blobs", durable=False)
    chain = ChainClient(rpc_url="http://127.0.0.1:9", account=signing.account,
                        addresses=ContractAddresses.model_validate(ADDR))  # fmt: skip
    services = CaseServices(
        chain=Web3CaseChain(chain), store=CaseStore(tmp_path / "cases.sqlite"), blobs=blobs,
        records=OutboxRecords(tmp_path / "outbox.sqlite"), keyring=keyring,
        issuer=TokenIssuer(signing, chain_id=1337, grants_contract=ADDR["grants"]),
        verifier=TokenVerifier(chain_id=1337, grants_contract=ADDR["grants"],
                               grantee=signing.address),
    )  # fmt: skip
    node = NodeService(NodeParts(
        outbox_path=tmp_path / "outbox.sqlite", pseudonymizer=ConsortiumPseudonymizer(b"s" * 32),
        cipher=StreamCipher(), store=BlobPayloadStore(blobs, journal=tmp_path / "j.sqlite"),
        wrapper=KeyringWrapper(keyring), sink=None, anchor=AnchorSettings(),
    ))  # fmt: skip
    settings = ApiSettings(token_sha256=hashlib.sha256(TOKEN.encode()).hexdigest(), **api)
    try:
        yield create_app(node, api=settings, routers=case_routers(services, Follower(services)))
    finally:
        services.store.close()
