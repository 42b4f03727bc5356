"""FHIR transactions and HL7 messages into a node on a real chain: anchored, provable, no PHI.

One chain process (``medledger ledger run``, py-evm, contracts deployed) per module, the node
app served by uvicorn on loopback and its MLLP listener beside it, as ``node run`` wires them
(:func:`node.cli.serve.serve`). Each write is followed to ``anchored`` through the node's own
``/records/{id}`` route and its inclusion proof is verified against the chain; then every file
the chain and the node wrote is searched for the patient's identifier and name in clear.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from hl7.client import MLLPClient

from keys.keystore import Keystore
from keys.typing import RecordId
from node.anchor.verify import verify_on_chain
from node.api.app import create_app
from node.bootstrap import open_parts, signing_account
from node.fhir_rest.routes import fhir_writer
from node.fhir_rest.writer import FhirWriter
from node.hl7.ingest import Hl7Ingest
from node.hl7.listener import Hl7Listener
from node.service import NodeService
from tests.gateway.server import serve
from tests.integration.nodeproc import PASSPHRASE
from tests.node.chain_env import API_TOKEN, CONSORTIUM_SECRET, SECRET_ENV, ChainEnv, start_chain_env

pytestmark = pytest.mark.integration

HERE = Path(__file__).parent
AUTH = {"Authorization": f"Bearer {API_TOKEN}", "Content-Type": "application/fhir+json"}


@dataclass
class AnchoredNode:
    env: ChainEnv
    node: NodeService
    writer: FhirWriter
    url: str
    mllp_port: int
    http: httpx.Client

    def wait_anchored(self, record_id: RecordId, timeout: float = 60.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        status: dict[str, Any] = {}
        while time.monotonic() < deadline:
            status = self.http.get(f"{self.url}/records/{record_id.hex()}").json()
            if status["state"] == "anchored":
                return status
            time.sleep(0.1)
        raise AssertionError(f"not anchored in {timeout}s: {status.get('state')}")

    def assert_proven(self, record_id: RecordId) -> None:
        status = self.wait_anchored(record_id)
        assert status["anchor"]["block_number"] > 0
        sink = self.node.parts.sink
        assert sink is not None
        proof = self.node.outbox().proof(record_id)
        assert verify_on_chain(proof, chain=sink) == proof.anchor


@pytest.fixture(scope="module")
def anchored(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AnchoredNode]:
    os.environ[SECRET_ENV] = CONSORTIUM_SECRET
    env = start_chain_env(tmp_path_factory.mktemp("fhir-anchored"), batch_size=8)
    try:
        cfg = env.config()
        node = NodeService(open_parts(cfg, account=signing_account(cfg, PASSPHRASE)))
        app = create_app(node, api=cfg.settings.api)
        writer = fhir_writer(app)
        writer.keyring = Keystore.open(cfg.keystore_dir).load_keyring(PASSPHRASE)  # as node run
        hl7 = cfg.settings.hl7.model_copy(update={"enabled": True, "port": 0})
        listener = Hl7Listener(Hl7Ingest(writer).handle, hl7)
        node.start()
        _, port = listener.start()
        try:
            with serve(app) as url, httpx.Client(headers=AUTH, timeout=30) as http:
                yield AnchoredNode(env, node, writer, url, port, http)
        finally:
            listener.stop()
            node.stop()
    finally:
        env.stop()


def test_a_transaction_bundle_is_anchored_with_its_resolved_reference(
    anchored: AnchoredNode,
) -> None:
    bundle = json.loads((HERE / "fhir" / "transaction-patient-observation.json").read_text())
    resp = anchored.http.post(f"{anchored.url}/fhir", json=bundle)
    assert resp.status_code == 200, resp.text
    entries = resp.json()["entry"]
    patient, observation = (e["response"]["location"].split("/") for e in entries)
    stored = anchored.http.get(f"{anchored.url}/fhir/Observation/{observation[1]}").json()
    assert stored["subject"]["reference"] == f"Patient/{patient[1]}"
    for entry in entries:
        (ext,) = entry["response"]["extension"]
        assert ext["url"] == "urn:medledger:fhir:record-id"
        anchored.assert_proven(RecordId(bytes.fromhex(ext["valueString"])))


def test_an_oru_r01_over_mllp_is_acknowledged_and_anchored(anchored: AnchoredNode) -> None:
    text = (HERE / "hl7" / "oru_r01.hl7").read_text().replace("\n", "\r")
    with MLLPClient("127.0.0.1", anchored.mllp_port) as client:
        ack = client.send_message(text).decode()
    assert "MSA|AA|CNTRL-3456" in ack
    reports = anchored.writer.index.of_type("DiagnosticReport")
    observations = anchored.writer.index.of_type("Observation")
    assert reports and len(observations) >= 2
    for _, _, record_id in [*reports, *observations]:
        anchored.assert_proven(record_id)


def test_no_identifier_or_name_is_stored_in_clear_by_the_chain_or_the_node(
    anchored: AnchoredNode,
) -> None:
    # after the two tests above (run them first: this one reads what they stored)
    if not anchored.writer.index.of_type("DiagnosticReport"):
        pytest.fail("run with the tests above: nothing was ingested")
    needles = [b"234234", b"Chalmers", b"555-44-4444", b"EVERYWOMAN"]
    scanned = 0
    for path in anchored.env.root.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            scanned += len(data)
            for needle in needles:
                assert needle not in data, (path.relative_to(anchored.env.root), needle)
    assert scanned > 100_000  # chain data, blobs, outbox, FHIR index were all read
