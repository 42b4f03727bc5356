"""A child process for the crash test: ingests prescriptions and anchors them, printing ACKs.

Run as ``python -m tests.node.outbox_worker DB CHAIN SEED N DIE_PROB``. Each record goes
through the real ingest path (validate FHIR, pseudonymize, encrypt, store, wrap, outbox) over
the stand-ins of :mod:`tests.node.standins`; ``ACK <record id hex>`` is printed only after
ingest returned, exactly when a node acknowledges. ``DONE`` is printed when all is anchored.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

from node.anchor.drain import drain, drain_once
from node.anchor.outbox import Outbox
from node.ingest.core import IngestServices, ingest_fhir
from node.pseudonym import ConsortiumPseudonymizer
from tests.node.fake_chain import FileChain
from tests.node.standins import AesGcmCipher, AesGcmWrapper, DirStore


def prescription(seed: int, i: int) -> bytes:
    return json.dumps({
        "resourceType": "MedicationRequest", "id": f"rx-{seed}-{i}", "status": "active",
        "intent": "order", "subject": {"reference": f"Patient/p-{seed}-{i % 7}"},
        "medicationCodeableConcept": {"text": f"drug {i}"},
    }).encode()  # fmt: skip


def main() -> None:
    db, chain, seed, count, die = sys.argv[1:6]
    rng = random.Random(int(seed))
    outbox = Outbox(Path(db))
    store = DirStore(Path(db).parent / "blobs")
    services = IngestServices(
        ConsortiumPseudonymizer(b"s" * 32), AesGcmCipher(), store, AesGcmWrapper(), outbox
    )
    sink = FileChain(Path(chain), die_after_submit=float(die), rng=rng)
    for i in range(int(count)):
        receipt = ingest_fhir(services=services, raw=prescription(int(seed), i))
        print("ACK", receipt.record_id.hex(), flush=True)
        if i % 3 == 2:
            drain_once(outbox=outbox, sink=sink, max_batch_size=4)
    drain(outbox=outbox, sink=sink, max_batch_size=4, max_rounds=10_000)
    print("DONE", flush=True)


if __name__ == "__main__":
    main()
