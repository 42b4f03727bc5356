"""The case routers on the node's app: OpenAPI completeness, auth, error mapping.

No chain runs here: the chain client points at a closed loopback port, which is exactly the
"chain unreachable" condition the API must report (503), not a mock.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from fastapi.testclient import TestClient

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

TOKEN = "a-test-operator-token-0123456789"
ADDR = {k: "0x" + f"{i:02x}" * 20 for i, k in
        enumerate(("consortium", "anchors", "referrals", "grants"), 1)}  # fmt: skip
OPERATOR_PATHS = {
    ("post", "/cases/{case_id}/records"), ("get", "/cases/{case_id}/records"),
    ("post", "/referrals"), ("get", "/referrals"), ("post", "/referrals/{referral_id}/accept"),
    ("post", "/referrals/{referral_id}/decline"), ("post", "/referrals/{referral_id}/complete"),
    ("post", "/referrals/{referral_id}/refer-back"), ("post", "/grants"), ("get", "/grants"),
    ("post", "/grants/{grant_id}/revoke"), ("post", "/grants/deliver-pending"),
    ("post", "/follower/poll"), ("post", "/cases/records/{record_id}/rekey"),
    ("post", "/cases/records/{record_id}/shred"),
}  # fmt: skip
PEER_PATHS = {("post", "/deliveries"), ("get", "/blocks/{cid}")}


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
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
    api = ApiSettings(token_sha256=hashlib.sha256(TOKEN.encode()).hexdigest())
    app = create_app(node, api=api, routers=case_routers(services, Follower(services)))
    with TestClient(app) as c:
        yield c
    services.store.close()


def _ops(doc: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(m, p): op for p, item in doc["paths"].items() for m, op in item.items()}


def test_openapi_documents_every_case_route_with_its_errors(client: TestClient) -> None:
    ops = _ops(client.get("/openapi.json").json())
    assert OPERATOR_PATHS | PEER_PATHS <= set(ops)
    for key in OPERATOR_PATHS:
        op = ops[key]
        assert op.get("description"), key
        assert {"200", "401", "409", "422", "503"} <= set(op["responses"]), key
        assert op.get("security") == [{"HTTPBearer": []}], key
        if key[0] == "post" and key[1] in {"/referrals", "/grants"}:
            assert "requestBody" in op
    assert "403" in ops[("post", "/deliveries")]["responses"]
    assert "security" not in ops[("post", "/deliveries")]
    assert "404" in ops[("get", "/blocks/{cid}")]["responses"]


def test_operator_routes_need_the_api_token_and_peer_routes_do_not(client: TestClient) -> None:
    assert client.get("/referrals").status_code == 401
    assert client.get("/referrals", headers={"Authorization": "Bearer nope"}).status_code == 401
    auth = {"Authorization": f"Bearer {TOKEN}"}
    assert client.get("/referrals", headers=auth).json() == []
    cid = "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4"
    assert client.get(f"/blocks/{cid}").status_code == 404
    assert client.get("/blocks/not-a-cid").status_code == 422


def test_unreachable_chain_is_a_503_and_bad_input_a_422(client: TestClient) -> None:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    resp = client.post("/referrals/1/accept", headers=auth)
    assert resp.status_code == 503 and "chain" in resp.json()["detail"]
    assert resp.json()["error"] == "chain_unavailable" and set(resp.json()) == {"error", "detail"}
    resp = client.post("/cases/0x12/records", headers=auth, json={"record_ids": ["00" * 32]})
    assert resp.status_code == 422 and "case id" in resp.json()["detail"]
    assert resp.json()["error"] == "invalid_case_input"
    resp = client.post("/cases/" + "ab" * 32 + "/records", headers=auth,
                       json={"record_ids": ["00" * 32]})  # fmt: skip
    assert resp.status_code == 404  # not one of our records
    resp = client.post("/deliveries", json={"token": "garbage", "package_cid": "x"})
    assert resp.status_code == 403
