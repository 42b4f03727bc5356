"""The FHIR facade and the HL7 listener, each next to the ingest path they add to.

Same node parts for every row (real STREAM encryption, HPKE key wrap, durable embedded blob
store, WAL outbox; no chain: anchoring is benchmarked by ``bench node``):

- ``transaction``: a FHIR transaction of one Patient (no id) + N Observations referencing it
  by ``urn:uuid`` (id assignment, reference resolution, validation, one group commit), per
  resource, vs the reference: the same resources sent one by one through ``ingest_fhir``
  (the ``POST /records/fhir`` path), per resource.
- ``hl7``: one ORU^R01 (PID + OBR + 2 OBX, the v2.5.1 example of ``tests/standards/hl7``)
  handled end to end (parse, map, ingest, ACK), p50 per message, in process and over MLLP on
  loopback (python-hl7's ``MLLPClient``: p50 round trip), vs as many resources (a Patient
  and three more) as a FHIR transaction through the writer (the cost of parsing and mapping
  HL7). Every message names a new patient, so each one creates its Patient too.
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from hl7.client import MLLPClient

from keys.envelope import EncryptionKeyring
from node.blobstore.embedded import EmbeddedBlobStore
from node.config import AnchorSettings, Hl7Settings
from node.fhir_rest.entries import plan_entry
from node.fhir_rest.index import ResourceIndex
from node.fhir_rest.writer import FhirWriter
from node.hl7.ingest import Hl7Ingest
from node.hl7.listener import Hl7Listener
from node.ingest.adapters import BlobPayloadStore, KeyringWrapper, StreamCipher
from node.pseudonym import ConsortiumPseudonymizer
from node.service import NodeParts, NodeService

ORU = Path(__file__).resolve().parents[1] / "tests" / "standards" / "hl7" / "oru_r01.hl7"


def _node(tmp: Path) -> NodeService:
    keyring = EncryptionKeyring({1: X25519PrivateKey.generate()})
    blobs = EmbeddedBlobStore(tmp / "blobs")
    return NodeService(NodeParts(
        outbox_path=tmp / "outbox.sqlite", pseudonymizer=ConsortiumPseudonymizer(b"b" * 32),
        cipher=StreamCipher(), store=BlobPayloadStore(blobs, journal=tmp / "journal.sqlite"),
        wrapper=KeyringWrapper(keyring), sink=None, anchor=AnchorSettings(),
    ))  # fmt: skip


def _bundle(n: int, seed: int) -> list[dict[str, Any]]:
    urn = f"urn:uuid:{uuid.uuid4()}"
    patient = {"resourceType": "Patient", "gender": "female",
               "identifier": [{"system": "urn:bench", "value": f"B-{seed}"}]}  # fmt: skip
    entries = [{"fullUrl": urn, "resource": patient,
                "request": {"method": "POST", "url": "Patient"}}]  # fmt: skip
    for i in range(n):
        obs = {"resourceType": "Observation", "status": "final", "code": {"text": "pulse"},
               "subject": {"reference": urn},
               "valueQuantity": {"value": 60 + i + seed}}  # fmt: skip
        entries.append({"fullUrl": f"urn:uuid:{uuid.uuid4()}", "resource": obs,
                        "request": {"method": "POST", "url": "Observation"}})  # fmt: skip
    return entries


def _transaction(node: NodeService, writer: FhirWriter, n: int, rounds: int) -> dict[str, Any]:
    bundles = [_bundle(n, r) for r in range(rounds)]
    start = time.perf_counter()
    for entries in bundles:
        writer.transaction([plan_entry(e, i) for i, e in enumerate(entries)])
    ours = (time.perf_counter() - start) / (rounds * (n + 1))
    singles = []
    for r in range(rounds):
        pid = f"single-{r}"
        singles.append(json.dumps({"resourceType": "Patient", "id": pid}).encode())
        singles.extend(json.dumps({"resourceType": "Observation", "status": "final",
                                   "code": {"text": "pulse"},
                                   "subject": {"reference": f"Patient/{pid}"},
                                   "valueQuantity": {"value": 60 + i}}).encode()
                       for i in range(n))  # fmt: skip
    start = time.perf_counter()
    for raw in singles:
        node.ingest_fhir(raw)
    reference = (time.perf_counter() - start) / len(singles)
    return {"observations_per_bundle": n, "bundles": rounds,
            "transaction_ms_per_resource": ours * 1e3,
            "one_by_one_ingest_fhir_ms_per_resource": reference * 1e3,
            "ratio_transaction_over_one_by_one": ours / reference}  # fmt: skip


def _hl7(writer: FhirWriter, rounds: int) -> dict[str, Any]:
    handler = Hl7Ingest(writer)
    text = ORU.read_text().replace("\n", "\r")
    messages = [text.replace("CNTRL-3456", f"B{i}").replace("555-44-4444", f"MRN-{i}")
                for i in range(rounds)]  # fmt: skip
    in_process = []
    for m in messages:
        t0 = time.perf_counter()
        assert b"MSA|AA|" in handler.handle(m.encode())
        in_process.append(time.perf_counter() - t0)
    listener = Hl7Listener(handler.handle, Hl7Settings(enabled=True, port=0))
    _, port = listener.start()
    latencies = []
    try:
        with MLLPClient("127.0.0.1", port) as client:
            for i in range(rounds):
                m = messages[i].replace(f"MRN-{i}", f"MLLP-{i}")
                t0 = time.perf_counter()
                ack = client.send_message(m)
                latencies.append(time.perf_counter() - t0)
                assert b"MSA|AA|" in ack
    finally:
        listener.stop()
    # reference: four resources as a FHIR transaction (no HL7 parse or mapping)
    fhir = []
    for r in range(rounds):
        entries = _bundle(3, 10_000 + r)  # Patient + 3: as many resources as the ORU makes
        t0 = time.perf_counter()
        writer.transaction([plan_entry(e, i) for i, e in enumerate(entries)])
        fhir.append(time.perf_counter() - t0)
    p50 = statistics.median
    return {"messages": rounds, "oru_in_process_p50_ms": p50(in_process) * 1e3,
            "oru_mllp_round_trip_p50_ms": p50(latencies) * 1e3,
            "same_resources_as_fhir_transaction_p50_ms": p50(fhir) * 1e3,
            "ratio_hl7_over_fhir_p50": p50(in_process) / p50(fhir)}  # fmt: skip


def run() -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-fhir-") as name:
        tmp = Path(name)
        node = _node(tmp)
        writer = FhirWriter(node, ResourceIndex(tmp / "fhir.sqlite"))
        return {"transaction": _transaction(node, writer, n=19, rounds=20),
                "hl7": _hl7(writer, rounds=50)}  # fmt: skip
