"""A small consortium for the referral/grant tests: a real chain process and three hospitals.

Each hospital has its own keystore (``keys`` APIs, low KDF cost for speed), embedded blob
store, outbox, case store, chain client and HTTP node API (uvicorn on loopback, a thread in
the test process). Hospitals: a village clinic (tier 1), a county hospital (tier 3) and a
tertiary hospital (tier 4). Nothing here is mocked.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import uvicorn
from eth_account import Account
from eth_utils.crypto import keccak

from contracts.deploy import Deployment, FoundingMember, connect, contract_at, deploy_suite
from contracts.tx import send
from contracts.typing import RecordKind, Tier
from keys.envelope import EncryptionKeyring
from keys.keystore import Keystore
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
from node.ingest.core import IngestReceipt, ingest_fhir
from node.proof.commitment import anchor_commitment
from node.pseudonym import ConsortiumPseudonymizer
from node.service import NodeParts, NodeService
from tests.devchain import CHAIN_ID, dev_chain, free_port, validator_address_of

PASSPHRASE = "cases-test-passphrase"
API_TOKEN = "operator-token-for-tests-0123456789"
SECRET = b"consortium-secret-for-tests-only" + b"\x00" * 8
TIERS = {
    "village": Tier.VILLAGE_CLINIC,
    "county": Tier.COUNTY_HOSPITAL,
    "tertiary": Tier.TERTIARY_HOSPITAL,
}


def fhir_observation(value: float, code: str = "718-7") -> bytes:
    """A small FHIR R4 Observation (made-up values, synthetic patient)."""
    return json.dumps({
        "resourceType": "Observation", "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
        "subject": {"reference": "Patient/p-123",
                    "identifier": {"system": "urn:hospital:mrn", "value": "MRN-0001"}},
        "valueQuantity": {"value": value, "unit": "g/dL"},
    }).encode()  # fmt: skip


@dataclass
class Hospital:
    name: str
    root: Path
    keystore: Keystore
    signing: SigningKey
    keyring: EncryptionKeyring
    port: int
    services: CaseServices | None = None
    follower: Follower | None = None
    server: uvicorn.Server | None = None
    thread: threading.Thread | None = None
    node: NodeService | None = None

    @property
    def address(self) -> str:
        return str(self.signing.address)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def svc(self) -> CaseServices:
        assert self.services is not None
        return self.services

    def api(self, method: str, path: str, **kwargs: object) -> httpx.Response:
        headers = {"Authorization": f"Bearer {API_TOKEN}"}
        return httpx.request(method, self.url + path, headers=headers, timeout=60, **kwargs)  # type: ignore[arg-type]

    def start_api(self) -> None:
        assert self.services is not None and self.follower is not None
        assert self.node is not None
        api = ApiSettings(token_sha256=hashlib.sha256(API_TOKEN.encode()).hexdigest())
        app = create_app(self.node, api=api, routers=case_routers(self.services, self.follower))
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} API did not start")
            time.sleep(0.02)

    def stop_api(self) -> None:
        if self.server is not None and self.thread is not None:
            self.server.should_exit = True
            self.thread.join(timeout=20)
            self.server = self.thread = None

    def ingest_fhir(self, raw: bytes) -> IngestReceipt:
        assert self.node is not None
        return ingest_fhir(services=self.node.ingest_services(), raw=raw)


def make_hospital(name: str, root: Path) -> Hospital:
    keystore = Keystore.create(root / "keystore", PASSPHRASE, scrypt_n=2**4,
                               pbkdf2_iterations=1000)  # fmt: skip
    return Hospital(
        name=name,
        root=root,
        keystore=keystore,
        signing=keystore.load_signing_key(PASSPHRASE),
        keyring=keystore.load_keyring(PASSPHRASE),
        port=free_port(),
    )


@contextmanager
def chain_for(addresses: list[str]) -> Iterator[str]:
    """``medledger ledger run`` from a genesis that funds and permits ``addresses``."""
    with dev_chain(addresses, name="cases", passphrase=PASSPHRASE) as url:
        yield url


def wire(h: Hospital, rpc_url: str, deployment: Deployment, start_block: int) -> None:
    """Build the hospital's node (ingest parts + case services) and start its API."""
    blobs = EmbeddedBlobStore(h.root / "blobs", durable=False)
    outbox_path = h.root / "outbox.sqlite"
    h.node = NodeService(NodeParts(
        outbox_path=outbox_path, pseudonymizer=ConsortiumPseudonymizer(SECRET),
        cipher=StreamCipher(), store=BlobPayloadStore(blobs, journal=h.root / "journal.sqlite"),
        wrapper=KeyringWrapper(h.keyring), sink=None, anchor=AnchorSettings(),
    ))  # fmt: skip
    client = ChainClient(rpc_url=rpc_url, account=h.signing.account,
                         addresses=ContractAddresses.model_validate(
                             {k.lower(): v for k, v in deployment.as_dict().items()}))  # fmt: skip
    h.services = CaseServices(
        chain=Web3CaseChain(client),
        store=CaseStore(h.root / "cases.sqlite"),
        blobs=blobs,
        records=OutboxRecords(outbox_path),
        keyring=h.keyring,
        issuer=TokenIssuer(h.signing, chain_id=CHAIN_ID, grants_contract=deployment.grants),
        verifier=TokenVerifier(
            chain_id=CHAIN_ID, grants_contract=deployment.grants, grantee=h.address
        ),
    )
    h.follower = Follower(h.services, start_block=start_block)
    h.start_api()


def anchor_record(h: Hospital, receipt: IngestReceipt, case_id: bytes, deployment: Deployment,
                  rpc_url: str) -> None:  # fmt: skip
    """Anchor one record alone (``Anchors.anchorRecord``) with its salted commitment."""
    assert h.node is not None
    entry = h.node.outbox().entry(receipt.record_id)
    commitment = anchor_commitment(
        salt=entry.salt,
        record_id=entry.record_id,
        pseudonym=entry.pseudonym,
        content_hash=entry.content_hash,
    )
    w3 = connect(rpc_url)
    anchors = contract_at(w3, "Anchors", deployment.anchors)
    call = anchors.functions.anchorRecord(entry.record_id, int(RecordKind.RECORD), commitment,
                                          entry.cid, case_id, bytes(32))  # fmt: skip
    send(w3, h.signing.account, call)


@dataclass
class World:
    rpc_url: str
    deployment: Deployment
    hospitals: dict[str, Hospital]
    deployer: object

    def __getitem__(self, name: str) -> Hospital:
        return self.hospitals[name]


@contextmanager
def consortium(tmp: Path, *, extra_senders: tuple[str, ...] = ()) -> Iterator[World]:
    """The world; ``extra_senders`` are also permitted by the genesis (e.g. staff accounts)."""
    hospitals = {n: make_hospital(n, tmp / n) for n in TIERS}
    deployer = Account.from_key(keccak(text="cases-deployer"))
    addresses = [deployer.address, *(h.address for h in hospitals.values()), *extra_senders]
    with chain_for(addresses) as url:
        w3 = connect(url)
        founders = [
            FoundingMember(account=h.signing.address, name=n, tier=TIERS[n],
                           encryption_key=h.keyring.public_key().public_bytes(),
                           validator_address=validator_address_of(h.signing.address),
                           endpoint=h.url, validator=False)
            for n, h in hospitals.items()
        ]  # fmt: skip
        deployment = deploy_suite(w3, deployer=deployer, founders=founders)
        start = int(w3.eth.block_number)
        for h in hospitals.values():
            wire(h, url, deployment, start)
        try:
            yield World(url, deployment, hospitals, deployer)
        finally:
            for h in hospitals.values():
                h.stop_api()
                if h.services is not None:
                    h.services.store.close()


def delete_blob_store(h: Hospital) -> None:
    """The hospital's node goes away: API stopped and its blob store deleted from disk.

    The store is closed first (its index connection and pack descriptors would otherwise
    keep serving the deleted files) and an empty one is left at the same place, as on a
    node restarted on a blank disk; the store object reopens onto it lazily.
    """
    h.stop_api()
    assert h.services is not None and isinstance(h.services.blobs, EmbeddedBlobStore)
    h.services.blobs.close()
    shutil.rmtree(h.root / "blobs")
    EmbeddedBlobStore(h.root / "blobs", durable=False).close()
