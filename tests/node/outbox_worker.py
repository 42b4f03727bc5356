"""A child process for the crash test: appends entries and drains them, printing each ACK.

Run as ``python -m tests.node.outbox_worker DB CHAIN SEED N DIE_PROB``. It prints
``ACK <record id hex>`` only after :meth:`Outbox.append` returned (the entry is committed),
exactly as a node acknowledges an ingest, and ``DONE`` when everything is anchored.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

from node.anchoring import drain, drain_once
from node.entry import AnchorEntry, RecordKind
from node.outbox import Outbox
from node.typing import CID, ContentHash, PatientPseudonym, RecordId
from tests.node.fake_chain import FileChain


def main() -> None:
    db, chain, seed, count, die = sys.argv[1:6]
    rng = random.Random(int(seed))
    outbox = Outbox(Path(db))
    sink = FileChain(Path(chain), die_after_submit=float(die), rng=rng)
    for i in range(int(count)):
        entry = AnchorEntry(
            record_id=RecordId(rng.randbytes(32)),
            kind=RecordKind.FHIR,
            pseudonym=PatientPseudonym(rng.randbytes(32)),
            content_hash=ContentHash(rng.randbytes(32)),
            salt=rng.randbytes(16),
            cid=CID("bafk-stand-in-" + rng.randbytes(8).hex()),
            wrapped_key=rng.randbytes(48),
        )
        record_id, _ = outbox.append(entry)
        print("ACK", record_id.hex(), flush=True)
        if i % 3 == 2:
            drain_once(outbox=outbox, sink=sink, max_batch_size=4)
    drain(outbox=outbox, sink=sink, max_batch_size=4, max_rounds=10_000)
    print("DONE", flush=True)


if __name__ == "__main__":
    main()
