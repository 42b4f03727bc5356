"""A hospital node as real processes: ``medledger ledger run`` + ``medledger node run``.

Records go in over the node's HTTP API (FHIR, a prescription, a zipped DICOM study), are
anchored in batches on the chain, and ``medledger node verify`` checks their proofs against the
chain from its RPC alone. Then we look for PHI everywhere it must not be.
"""

from __future__ import annotations

import io
import json
import os
import re
import sqlite3
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from contracts.deploy import connect
from node.config import write_config
from node.fhir_rest.index import ResourceIndex
from tests.integration.node_service_proc import (
    medledger_node,
    start_node_service,
    wait_all_anchored,
)
from tests.node.chain_env import CONSORTIUM_SECRET, SECRET_ENV, ChainEnv, start_chain_env
from tests.node.dicom_samples import write_study

pytestmark = pytest.mark.integration

PATIENT = "MRN-PRIV-31337"
NAME = "Zhangsecretname"
DRUG = "Amlodipinesecretdrug"


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChainEnv]:
    os.environ[SECRET_ENV] = CONSORTIUM_SECRET
    chain_env = start_chain_env(tmp_path_factory.mktemp("e2e"), batch_size=4, interval_s=0.2)
    try:
        yield chain_env
    finally:
        chain_env.stop()


def observation(i: int, patient: str = PATIENT) -> bytes:
    return json.dumps({
        "resourceType": "Observation", "status": "final", "code": {"text": "heart rate"},
        "subject": {"reference": f"Patient/{patient}", "display": NAME},
        "valueQuantity": {"value": 60 + i},
    }).encode()  # fmt: skip


PRESCRIPTION = {
    "resourceType": "MedicationRequest", "status": "active", "intent": "order",
    "medicationCodeableConcept": {"text": DRUG},
    "subject": {"reference": f"Patient/{PATIENT}", "display": NAME},
    "authoredOn": "2026-11-20T09:30:00+08:00",
}  # fmt: skip


def _study_zip(tmp: Path) -> bytes:
    files = write_study(tmp / "study")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return out.getvalue()


def _rpc_batch(url: str, calls: list[tuple[str, list[Any]]]) -> list[Any]:
    body = [{"jsonrpc": "2.0", "id": i, "method": m, "params": p} for i, (m, p) in enumerate(calls)]
    replies = sorted(httpx.post(url, json=body, timeout=60).json(), key=lambda r: r["id"])
    return [r["result"] for r in replies]


def _chain_bytes(env: ChainEnv) -> bytes:
    """Every transaction input and every log (topics + data) on the chain so far.

    Blocks are read in JSON-RPC batches (one request per 500 blocks) to keep this fast.
    """
    url = env.chain.url
    head = int(_rpc_batch(url, [("eth_blockNumber", [])])[0], 16)
    parts: list[bytes] = []
    for start in range(0, head + 1, 500):
        calls = [("eth_getBlockByNumber", [hex(n), True])
                 for n in range(start, min(head + 1, start + 500))]  # fmt: skip
        for block in _rpc_batch(url, calls):
            parts.extend(bytes.fromhex(tx["input"][2:]) for tx in block["transactions"])
    for log in _rpc_batch(url, [("eth_getLogs", [{"fromBlock": "0x0", "toBlock": "latest"}])])[0]:
        parts.extend(bytes.fromhex(t[2:]) for t in log["topics"])
        parts.append(bytes.fromhex(log["data"][2:]))
    assert parts, "the chain holds transactions (deploys, anchors)"
    return b"".join(parts)


def _files_bytes(root: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file())


def test_fhir_prescription_and_dicom_over_http_are_anchored_and_verify_from_the_chain(
    env: ChainEnv, tmp_path: Path
) -> None:
    node = start_node_service(env.config_path)
    try:
        with node.client() as http:
            r1 = http.post("/records/fhir", content=observation(1))
            r2 = http.post("/records/fhir", content=json.dumps(PRESCRIPTION).encode())
            r3 = http.post(
                "/records/dicom",
                content=_study_zip(tmp_path),
                params={"patient_id": "MRN-0042"},
                headers={"Content-Type": "application/zip"},
            )
            assert [r.status_code for r in (r1, r2, r3)] == [201, 201, 201], r3.text
            kinds = [r.json()["kind"] for r in (r1, r2, r3)]
            assert kinds == ["fhir", "prescription", "dicom-study"]
            ids = [r.json()["record_id"] for r in (r1, r2, r3)]
            # the same content again is the same record, not a second anchor
            again = http.post("/records/fhir", content=observation(1))
            assert again.status_code == 201 and again.json()["created"] is False
            assert again.json()["record_id"] == ids[0]
            anchored = wait_all_anchored(http, ids)
            assert all(a["anchor"]["block_number"] > 0 for a in anchored)
            binary = http.get(f"/records/{ids[2]}/proof", params={"format": "binary"})
            proof_json: dict[str, Any] = http.get(f"/records/{ids[1]}/proof").json()
        assert node.stop() == 0
    finally:
        node.kill9()
    (tmp_path / "dicom.proof").write_bytes(binary.content)
    anchors = env.deployment["Anchors"]
    ok = medledger_node("verify", str(tmp_path / "dicom.proof"), "--rpc", env.chain.url,
                        "--anchors", anchors, "--json")  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["verified"] is True
    (tmp_path / "rx.json").write_text(json.dumps(proof_json))
    assert medledger_node("verify", str(tmp_path / "rx.json"), "--rpc", env.chain.url,
                          "--anchors", anchors).returncode == 0  # fmt: skip
    tampered = {**proof_json, "content_hash": "00" * 32}
    (tmp_path / "bad.json").write_text(json.dumps(tampered))
    bad = medledger_node("verify", str(tmp_path / "bad.json"), "--rpc", env.chain.url,
                         "--anchors", anchors, "--json")  # fmt: skip
    assert bad.returncode == 1 and json.loads(bad.stdout)["verified"] is False
    listed = medledger_node("records", "--config", str(env.config_path), "--json")
    states = {r["record_id"]: r["state"] for r in json.loads(listed.stdout)}
    assert all(states[i] == "anchored" for i in ids)

    # privacy: no patient id, name or drug on chain, in blobs, in the outbox, in logs
    node_dir = env.config_path.parent
    places = {
        "chain": _chain_bytes(env),
        "blobs": _files_bytes(node_dir / "blobs"),
        "node data": _files_bytes(node_dir / "data"),
        "node log": node.log_path.read_bytes(),
    }
    for secret in (PATIENT, "MRN-0042", NAME, DRUG, "Zhang Wei"):
        for where, data in places.items():
            assert secret.encode() not in data, f"{secret!r} found in {where}"
            assert secret.encode().hex().encode() not in data.lower(), f"hex {secret} in {where}"
    db = sqlite3.connect(node_dir / "data" / "outbox.sqlite")
    assert db.execute("SELECT count(*) FROM entries").fetchone()[0] == 3


def test_cli_ingest_of_an_amendment_anchors_it_as_the_next_version(
    env: ChainEnv, tmp_path: Path
) -> None:
    first = tmp_path / "v1.json"
    first.write_bytes(observation(40, patient="MRN-AMEND"))
    second = tmp_path / "v2.json"
    second.write_bytes(observation(41, patient="MRN-AMEND"))
    cfg = str(env.config_path)
    v1 = medledger_node("ingest", str(first), "--config", cfg, "--json")
    assert v1.returncode == 0, v1.stderr
    v1_id = json.loads(v1.stdout)["record_id"]
    lonely = medledger_node("ingest", str(second), "--config", cfg, "--amends", v1_id)
    assert lonely.returncode == 2 and "--case" in lonely.stderr
    case = "ab" * 32
    v2 = medledger_node("ingest", str(second), "--config", cfg, "--amends", v1_id,
                        "--case", case, "--json")  # fmt: skip
    assert v2.returncode == 0, v2.stderr
    out = json.loads(v2.stdout)
    assert out["version"]["previous"] == v1_id and out["version"]["block_number"] > 0
    anchors = env.config().settings.contracts.anchors
    w3 = connect(env.chain.url)
    from contracts.artifacts import load_artifact

    contract = w3.eth.contract(address=w3.to_checksum_address(anchors),
                               abi=load_artifact("Anchors").abi)  # fmt: skip
    record = contract.functions.getRecord(bytes.fromhex(out["record_id"])).call()
    assert record[6] == bytes.fromhex(v1_id) and record[5] == bytes.fromhex(case)


def test_node_run_serves_the_fhir_facade_and_hl7_over_mllp(env: ChainEnv) -> None:
    """``node run`` with ``hl7.enabled``: fhirclient reads /fhir/metadata, an ORU^R01 sent by
    python-hl7's ``mllp_send`` is ACKed AA, and its records get anchored (issue 16)."""
    from fhirclient import client as fhir_client

    settings = env.config().settings
    hl7 = settings.hl7.model_copy(update={"enabled": True, "port": 0})
    config = env.config_path.with_name("node-hl7.json")
    write_config(config, settings.model_copy(update={"hl7": hl7}))
    node = start_node_service(config)
    try:
        found = re.findall(rb"HL7 MLLP listening on [\d.]+:(\d+)", node.log_path.read_bytes())
        assert found, "the node logs its MLLP port"
        smart = fhir_client.FHIRClient(settings={"app_id": "his", "api_base": f"{node.url}/fhir"})
        assert smart.server.capabilityStatement.fhirVersion == "4.0.1"
        message = Path(__file__).parents[1] / "standards" / "hl7" / "oru_r01.hl7"
        sender = Path(sys.executable).with_name("mllp_send")
        out = subprocess.run([str(sender), "--loose", "--file", str(message), "--port",
                              found[-1].decode(), "127.0.0.1"], capture_output=True, timeout=60,
                             check=True)  # fmt: skip
        assert b"MSA|AA|CNTRL-3456" in out.stdout
        index = ResourceIndex(config.parent / settings.data_dir / "fhir.sqlite")
        written = [*index.of_type("DiagnosticReport"), *index.of_type("Observation")]
        assert len(written) == 3  # the report and its two results
        with node.client() as http:
            anchored = wait_all_anchored(http, [r.hex() for _, _, r in written])
            assert all(a["anchor"]["block_number"] > 0 for a in anchored)
            stored = http.get(f"/fhir/Observation/{index.of_type('Observation')[0][0]}")
            assert stored.status_code == 200 and stored.json()["status"] == "final"
        assert node.stop() == 0
    finally:
        node.kill9()
    log = node.log_path.read_bytes()
    for secret in (b"555-44-4444", b"EVERYWOMAN", b"FERNWOOD"):
        assert secret not in log
