"""Ingest and anchoring building blocks, each next to the reference it is judged against.

- Merkle batch (root + every leaf's proof) vs the floor: the same number of raw SHA-256 calls.
- Outbox append (WAL, synchronous=FULL, one commit per record) vs a bare SQLite insert with
  the same pragmas and one commit per row: the cost of durability is the fsync, not our code.
- FHIR parse (validation + patient + RFC 8785) vs ``fhir.resources`` validation alone.
- Proof wire encode+decode per proof.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any

from fhir.resources.R4B import get_fhir_model_class

from contracts.typing import RecordKind
from keys.typing import RecordId
from node.anchor.entry import AnchorEntry
from node.anchor.outbox import Outbox
from node.formats.fhir import parse_fhir
from node.proof.merkle import MerkleTree
from node.proof.record import RecordProof
from node.proof.wire_codec import decode_proof, encode_proof
from node.typing import CID, ContentHash, PatientPseudonym

RX = {
    "resourceType": "MedicationRequest", "id": "rx", "status": "active", "intent": "order",
    "subject": {"reference": "Patient/p1"}, "authoredOn": "2026-11-20",
    "medicationCodeableConcept": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                                              "code": "197361"}]},
    "dosageInstruction": [{"text": "5 mg once daily"}],
}  # fmt: skip


def _timed(fn: Any, repeat: int) -> float:
    start = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - start) / repeat


def _merkle(n: int) -> dict[str, float]:
    leaves = [os.urandom(32) for _ in range(n)]

    def build_and_prove_all() -> None:
        tree = MerkleTree(leaves)
        for i in range(n):
            tree.path(i)

    ours = _timed(build_and_prove_all, 3)
    floor = _timed(lambda: [hashlib.sha256(b"\x00" + x).digest() for x in leaves * 2], 5)
    return {"leaves": n, "ours_ms": ours * 1e3, "sha256_floor_ms": floor * 1e3}


def _outbox(n: int, tmp: Path) -> dict[str, float]:
    box = Outbox(tmp / "bench-outbox.sqlite")
    entries = [
        AnchorEntry(RecordId(os.urandom(32)), RecordKind.RECORD, PatientPseudonym(os.urandom(32)),
                    ContentHash(os.urandom(32)), os.urandom(16), CID("bafk"), b"w" * 80)
        for _ in range(n)
    ]  # fmt: skip
    start = time.perf_counter()
    for e in entries:
        box.append(e)
    ours = (time.perf_counter() - start) / n
    start = time.perf_counter()
    while box.form_batch(256):
        pass
    batch = (time.perf_counter() - start) / n
    box.close()
    db = sqlite3.connect(tmp / "bench-raw.sqlite", isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("CREATE TABLE t (k BLOB PRIMARY KEY, v BLOB)")
    start = time.perf_counter()
    for e in entries:
        db.execute("BEGIN IMMEDIATE")
        db.execute("INSERT INTO t VALUES (?, ?)", (e.record_id, e.wrapped_key))
        db.execute("COMMIT")
    raw = (time.perf_counter() - start) / n
    db.close()
    return {"records": n, "append_ms_per_record": ours * 1e3,
            "raw_sqlite_commit_ms_per_row": raw * 1e3,
            "form_batch_ms_per_record": batch * 1e3}  # fmt: skip


def _fhir(n: int) -> dict[str, float]:
    raw = json.dumps(RX).encode()
    model = get_fhir_model_class("MedicationRequest")
    ours = _timed(lambda: parse_fhir(raw), n)
    ref = _timed(lambda: model.model_validate(json.loads(raw)), n)
    return {"ours_ms": ours * 1e3, "fhir_resources_validate_only_ms": ref * 1e3}


def _proof_wire(n: int) -> dict[str, float]:
    tree = MerkleTree([os.urandom(32) for _ in range(4096)])
    proof = RecordProof(RecordId(os.urandom(32)), PatientPseudonym(os.urandom(32)),
                        ContentHash(os.urandom(32)), os.urandom(16), tree.path(1234))  # fmt: skip
    wire = encode_proof(proof)
    return {
        "bytes": len(wire),
        "encode_decode_us": _timed(lambda: decode_proof(encode_proof(proof)), n) * 1e6,
    }


def run() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        return {
            "merkle": [_merkle(n) for n in (256, 4096, 16384)],
            "outbox": _outbox(500, Path(tmp)),
            "fhir_prescription": _fhir(200),
            "proof_wire_4096_leaf_batch": _proof_wire(2000),
        }
