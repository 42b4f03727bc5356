"""The node's HTTP API in process (no chain needed: nothing here anchors).

Real ingest behind it (keys.stream, HPKE to the keystore's public key, embedded blob store,
SQLite outbox); the chain side is absent, so records stay pending or batched.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from node.api.app import create_app
from node.bootstrap import open_parts
from node.config import NodeSettings, load_config, write_config
from node.exceptions import NodeConfigError
from node.proof.json_codec import proof_to_json
from node.proof.wire_codec import decode_proof
from node.service import NodeService
from tests.node.chain_env import API_TOKEN, new_hospital_keystore
from tests.node.dicom_samples import write_study

ZERO = "0x" + "00" * 20
AUTH = {"Authorization": f"Bearer {API_TOKEN}"}
OBS = json.dumps({
    "resourceType": "Observation", "status": "final", "code": {"text": "pulse"},
    "subject": {"reference": "Patient/MRN-1"}, "valueQuantity": {"value": 71},
}).encode()  # fmt: skip


def _settings(**api: object) -> NodeSettings:
    return NodeSettings.model_validate({
        "contracts": {"consortium": ZERO, "anchors": ZERO, "referrals": ZERO, "grants": ZERO},
        "consortium_secret": {"env": None, "file": "secret.hex"},
        "api": {"token_sha256": hashlib.sha256(API_TOKEN.encode()).hexdigest(), **api},
        "blob": {"durable": False},
    })  # fmt: skip


@pytest.fixture
def node(tmp_path: Path) -> Iterator[tuple[TestClient, NodeService]]:
    new_hospital_keystore(tmp_path / "keystore")
    (tmp_path / "secret.hex").write_text("ab" * 32)
    write_config(tmp_path / "node.json", _settings(max_fhir_bytes=4096, max_dicom_bytes=4096))
    cfg = load_config(tmp_path / "node.json")
    service = NodeService(open_parts(cfg))
    with TestClient(create_app(service, api=cfg.settings.api)) as client:
        yield client, service


def test_requests_without_the_right_token_are_refused(
    node: tuple[TestClient, NodeService],
) -> None:
    client, service = node
    assert client.post("/records/fhir", content=OBS).status_code == 401
    assert client.post("/records/fhir", content=OBS).json()["error"] == "unauthorized"
    wrong = {"Authorization": "Bearer not-the-token"}
    assert client.post("/records/fhir", content=OBS, headers=wrong).status_code == 401
    assert client.get("/records/" + "00" * 32, headers=wrong).status_code == 401
    assert service.outbox().record_ids() == []


def test_a_record_is_pending_then_batched_with_a_json_and_binary_proof(
    node: tuple[TestClient, NodeService],
) -> None:
    client, service = node
    created = client.post("/records/fhir", content=OBS, headers=AUTH)
    assert created.status_code == 201
    rid = created.json()["record_id"]
    status = client.get(f"/records/{rid}", headers=AUTH).json()
    assert status["state"] == "pending" and status["anchor"] is None
    assert client.get(f"/records/{rid}/proof", headers=AUTH).status_code == 409
    assert service.outbox().form_batch(16) is not None
    as_json = client.get(f"/records/{rid}/proof", headers=AUTH)
    binary = client.get(f"/records/{rid}/proof", params={"format": "binary"}, headers=AUTH)
    assert binary.headers["content-type"] == "application/octet-stream"
    assert proof_to_json(decode_proof(binary.content)) == as_json.json()
    assert client.get(f"/records/{rid}", headers=AUTH).json()["state"] == "batched"


def test_bad_input_gets_a_clear_error_and_stores_nothing(
    node: tuple[TestClient, NodeService], tmp_path: Path
) -> None:
    client, service = node
    bad = client.post("/records/fhir", content=b'{"resourceType": "Observation"}', headers=AUTH)
    assert bad.status_code == 422 and "InvalidFhir" in bad.json()["detail"]
    assert bad.json()["error"] == "invalid_fhir" and set(bad.json()) == {"error", "detail"}
    big = client.post("/records/fhir", content=b" " * 5000, headers=AUTH)
    assert big.status_code == 413
    files = write_study(tmp_path / "study")
    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    too_big = client.post("/records/dicom", content=zipped.getvalue(), headers=AUTH)
    assert too_big.status_code == 413
    not_zip = client.post("/records/dicom", content=b"PK not a zip", headers=AUTH)
    assert not_zip.status_code == 422
    assert client.get("/records/" + "00" * 32, headers=AUTH).status_code == 404
    assert client.get("/records/xyz", headers=AUTH).status_code == 400
    missing = client.get("/records/" + "00" * 32, headers=AUTH).json()
    assert missing == {"error": "not_found", "detail": "no such record"}
    assert service.outbox().record_ids() == []
    assert list((service.parts.outbox_path.parent / "uploads").iterdir()) == []


def test_openapi_declares_every_error_response(node: tuple[TestClient, NodeService]) -> None:
    client, _ = node
    paths = client.get("/openapi.json").json()["paths"]
    for path, codes in (("/records/fhir", {"201", "400", "401", "413", "422"}),
                        ("/records/dicom", {"201", "400", "401", "413", "422"})):  # fmt: skip
        assert codes <= set(paths[path]["post"]["responses"])
    assert {"200", "400", "401", "404"} <= set(paths["/records/{record_id}"]["get"]["responses"])
    assert "application/zip" in paths["/records/dicom"]["post"]["requestBody"]["content"]


def test_config_needs_a_readable_secret_and_never_holds_the_token(tmp_path: Path) -> None:
    write_config(tmp_path / "node.json", _settings())
    cfg = load_config(tmp_path / "node.json")
    with pytest.raises(NodeConfigError, match="secret"):
        cfg.consortium_secret()
    (tmp_path / "secret.hex").write_text("not hex")
    with pytest.raises(NodeConfigError, match="hex"):
        cfg.consortium_secret()
    assert API_TOKEN not in (tmp_path / "node.json").read_text()
    assert cfg.settings.api.token_ok(API_TOKEN) and not cfg.settings.api.token_ok("x")
    (tmp_path / "broken.json").write_text('{"contracts": {}}')
    with pytest.raises(NodeConfigError, match="contracts"):
        load_config(tmp_path / "broken.json")
