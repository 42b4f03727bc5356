"""An outbox written by a version 1 node is upgraded on open, or refused untouched."""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

import pytest

from contracts.typing import RecordKind
from keys.typing import RecordId
from node.anchor.entry import AnchorEntry, RecordState
from node.anchor.outbox import Outbox
from node.anchor.outbox_migrate import SCHEMA_V1
from node.anchor.outbox_schema import ENTRY_COLS, VERSION
from node.exceptions import OutboxError
from node.proof.merkle import MerkleTree
from node.proof.record import AnchorInfo, RecordProof
from node.proof.wire_codec import decode_proof, encode_proof
from node.typing import CID, ContentHash, PatientPseudonym, TxHash


def _entry(rng: random.Random, n: int) -> AnchorEntry:
    return AnchorEntry(
        RecordId(rng.randbytes(32)), RecordKind.RECORD, PatientPseudonym(rng.randbytes(32)),
        ContentHash(rng.randbytes(32)), rng.randbytes(16), CID(f"bafk-{n}"), b"wrapped",
    )  # fmt: skip


def _v1_outbox(path: Path, entries: list[AnchorEntry], batches: list[int]) -> None:
    """Write ``entries`` and batch them (sizes ``batches``) the way version 1 did."""
    db = sqlite3.connect(path, isolation_level=None)
    db.executescript(SCHEMA_V1)
    for e in entries:
        db.execute(
            f"INSERT INTO entries ({ENTRY_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (e.record_id, e.kind.text, e.pseudonym, e.content_hash, e.salt, e.cid,
             e.wrapped_key),
        )  # fmt: skip
        # version 1 named the record's own CID in blobs too; the first record has an extra one
        extra = [CID("bafk-instance")] if e is entries[0] else []
        for cid in {e.cid, *extra}:
            db.execute("INSERT INTO blobs (cid, record_id) VALUES (?, ?)", (cid, e.record_id))
    at = 0
    for number, size in enumerate(batches):
        members = entries[at : at + size]
        tree = MerkleTree([e.commitment() for e in members])
        state = "anchored" if number == 0 else "batched"
        cur = db.execute(
            "INSERT INTO batches (root, size, state, tx_hash, block_number) VALUES (?, ?, ?, ?, ?)",
            (tree.root, size, state, bytes([7]) * 32 if number == 0 else None,
             40 if number == 0 else None),
        )  # fmt: skip
        for index, e in enumerate(members):
            proof = encode_proof(RecordProof(e.record_id, e.pseudonym, e.content_hash, e.salt,
                                             tree.path(index)))  # fmt: skip
            db.execute("UPDATE entries SET batch_id = ?, proof = ? WHERE record_id = ?",
                       (cur.lastrowid, proof, e.record_id))  # fmt: skip
        at += size
    db.close()


def _v1_proofs(path: Path) -> dict[bytes, bytes]:
    db = sqlite3.connect(path)
    try:
        return dict(db.execute("SELECT record_id, proof FROM entries WHERE proof IS NOT NULL"))
    finally:
        db.close()


def test_a_version_1_outbox_is_upgraded_with_every_proof_and_state_kept(tmp_path: Path) -> None:
    rng = random.Random(11)
    entries = [_entry(rng, n) for n in range(23)]
    path = tmp_path / "outbox.sqlite"
    _v1_outbox(path, entries, batches=[9, 8])  # 6 entries stay pending
    old = _v1_proofs(path)
    box = Outbox(path)
    assert box._db.execute("PRAGMA user_version").fetchone()[0] == VERSION
    columns = {r[1] for r in box._db.execute("PRAGMA table_info(entries)")}
    assert "batch_id" not in columns and "proof" not in columns
    for n, e in enumerate(entries):
        assert box.entry(e.record_id) == e
        if n >= 17:
            assert box.state(e.record_id) is RecordState.PENDING
            continue
        proof = box.proof(e.record_id)
        assert proof.batch_path == decode_proof(old[e.record_id]).batch_path
        first = n < 9
        assert box.state(e.record_id) is (RecordState.ANCHORED if first else RecordState.BATCHED)
        assert (proof.anchor is not None) is first
    assert box.pending_count() == 6
    assert box.referenced_cids() == {e.cid for e in entries} | {CID("bafk-instance")}
    assert box._db.execute("SELECT cid FROM blobs").fetchall() == [("bafk-instance",)]
    # the open batch is the second one; the pending six form the next, after new appends
    opened = box.open_batch()
    assert opened is not None and opened.size == 8
    later = _entry(rng, 99)
    assert box.append(later) == (later.record_id, True)
    box.mark_anchored(opened.batch_id, AnchorInfo(TxHash(bytes([8]) * 32), 41))
    batch = box.form_batch(100)
    assert batch is not None and batch.size == 7
    for e in [*entries[17:], later]:
        box.proof(e.record_id).verify(batch.root)
    box.close()
    Outbox(path).close()  # opening an upgraded outbox again changes nothing


def test_a_version_1_outbox_with_a_proof_that_disagrees_is_refused_and_left_as_it_was(
    tmp_path: Path,
) -> None:
    rng = random.Random(12)
    entries = [_entry(rng, n) for n in range(6)]
    path = tmp_path / "outbox.sqlite"
    _v1_outbox(path, entries, batches=[6])
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("UPDATE entries SET proof = (SELECT proof FROM entries WHERE seq = 1) WHERE seq = 2")
    db.close()
    with pytest.raises(OutboxError, match="disagrees"):
        Outbox(path)
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == 0
    assert "batch_id" in {r[1] for r in db.execute("PRAGMA table_info(entries)")}
    assert db.execute("SELECT count(*) FROM entries WHERE proof IS NOT NULL").fetchone()[0] == 6
    db.close()


def test_an_outbox_from_a_newer_node_is_refused_by_its_version(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite"
    Outbox(path).close()
    db = sqlite3.connect(path, isolation_level=None)
    db.execute(f"PRAGMA user_version={VERSION + 1}")
    db.close()
    with pytest.raises(OutboxError, match="newer node"):
        Outbox(path)
