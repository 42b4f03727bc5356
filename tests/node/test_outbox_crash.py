"""Exactly-once anchoring under SIGKILL: real child processes killed at random points.

Each child runs the real ingest path (FHIR validation, pseudonym, encryption, storage and
key wrapping over the stand-ins of tests/node/standins.py, then the outbox) and anchors.

The chain is the file-backed stand-in of :mod:`tests.node.fake_chain` (the real chain is not
under test here); it records every submission, so double anchoring would be visible.
"""

from __future__ import annotations

import random
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from keys.typing import RecordId
from node.anchor.entry import RecordState
from node.anchor.outbox import Outbox
from node.ingest.cleanup import sweep_orphans
from node.typing import CID
from tests.node.fake_chain import read_chain
from tests.node.standins import DirStore

ROOT = Path(__file__).resolve().parents[2]


def _run(
    db: Path, chain: Path, seed: int, count: int, die: float, kill_after: float | None
) -> tuple[int, list[str], str]:
    """Run one worker; with ``kill_after``, SIGKILL it that long after its first ACK."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.node.outbox_worker", str(db), str(chain), str(seed),
         str(count), str(die)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    lines: list[str] = []
    if kill_after is not None:
        ready, _, _ = select.select([proc.stdout], [], [], 60)  # bounded wait for start-up
        assert ready, "worker printed nothing within 60 s"
        lines.append(proc.stdout.readline())
        deadline = time.monotonic() + kill_after
        while proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
    out, err = proc.communicate(timeout=120)
    return proc.returncode, lines + out.splitlines(), err


@pytest.mark.integration
def test_sigkill_during_ingest_and_anchoring_then_restart_anchors_each_ack_exactly_once(
    tmp_path: Path,
) -> None:
    db, chain = tmp_path / "outbox.sqlite", tmp_path / "chain.jsonl"
    rng = random.Random(20261123)
    acked: set[bytes] = set()
    killed = 0
    for round_ in range(6):
        die = 0.35 if round_ % 2 else 0.0
        code, out, err = _run(db, chain, 1000 + round_, 100, die, rng.uniform(0.0, 1.5))
        assert code in (0, -signal.SIGKILL), err
        killed += code == -signal.SIGKILL
        acked |= {bytes.fromhex(line.split()[1]) for line in out if line.startswith("ACK")}
    assert killed >= 3, "the test must actually interrupt the worker most of the time"
    code, out, err = _run(db, chain, 9999, 0, 0.0, None)  # restart: drain only, no kill
    assert code == 0 and "DONE" in out[-1:], err

    blocks = read_chain(chain)
    print(f"killed {killed}/6 runs, {len(acked)} acks, {len(blocks)} batches anchored")
    roots = [b["root"] for b in blocks]
    assert len(roots) == len(set(roots)), "a batch root was anchored twice"
    outbox = Outbox(db)
    try:
        all_ids = outbox.record_ids()
        assert acked <= set(all_ids), "an acknowledged record was lost"
        assert sum(int(b["size"]) for b in blocks) == len(all_ids), "a record is in two anchors"
        by_root = {b["root"]: (height, b) for height, b in enumerate(blocks, start=1)}
        for record_id in all_ids:
            assert outbox.state(RecordId(record_id)) is RecordState.ANCHORED
            proof = outbox.proof(RecordId(record_id))
            height, block = by_root[proof.batch_root().hex()]
            assert proof.anchor is not None and proof.anchor.block_number == height
            assert proof.anchor.tx_hash.hex() == block["tx"]
        # Blobs: every referenced ciphertext is stored; orphans of interrupted ingests go.
        store = DirStore(tmp_path / "blobs")
        referenced = outbox.referenced_cids()
        assert referenced <= store.cids()
        swept = sweep_orphans(outbox=outbox, store=store, stored=[CID(c) for c in store.cids()])
        assert store.cids() == referenced
        print(f"{swept} orphan ciphertexts swept")
    finally:
        outbox.close()
    assert len(acked) > 60  # enough records went through to make the check meaningful
