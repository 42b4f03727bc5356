"""The outbox state machine: durable append, one-transaction batches, idempotent transitions."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from contracts.typing import RecordKind
from keys.typing import RecordId
from node.anchor.abc import AnchorSinkAPI
from node.anchor.drain import drain, drain_once
from node.anchor.entry import AnchorEntry, OutboxBatch, RecordState
from node.anchor.outbox import Outbox
from node.anchor.outbox_schema import WHERE_CONTENT, WHERE_ID
from node.exceptions import IllegalTransition, NodeError, OutboxError, UnknownRecord
from node.proof.record import AnchorInfo
from node.typing import CID, ContentHash, MerkleHash, PatientPseudonym, TxHash
from tests.node.fake_chain import FileChain, read_chain


def _entry(rng: random.Random) -> AnchorEntry:
    return AnchorEntry(
        RecordId(rng.randbytes(32)), RecordKind.PRESCRIPTION, PatientPseudonym(rng.randbytes(32)),
        ContentHash(rng.randbytes(32)), rng.randbytes(16), CID("bafk-x"), b"wrapped",
    )  # fmt: skip


@pytest.fixture
def outbox(tmp_path: Path):  # type: ignore[no-untyped-def]
    box = Outbox(tmp_path / "outbox.sqlite")
    yield box
    box.close()


def test_outbox_runs_in_wal_mode_with_full_sync(outbox: Outbox) -> None:
    assert outbox._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert outbox._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_appended_entry_survives_reopening_and_same_content_is_one_record(tmp_path: Path) -> None:
    rng = random.Random(1)
    e = _entry(rng)
    box = Outbox(tmp_path / "o.sqlite")
    assert box.append(e) == (e.record_id, True)
    box.close()
    box = Outbox(tmp_path / "o.sqlite")
    again = AnchorEntry(RecordId(os.urandom(32)), e.kind, e.pseudonym, e.content_hash,
                        os.urandom(16), CID("bafk-y"), b"w2")  # fmt: skip
    assert box.append(again) == (e.record_id, False)
    assert box.entry(e.record_id) == e
    assert box.state(e.record_id) is RecordState.PENDING
    assert box.record_ids() == [e.record_id]
    box.close()


def test_append_many_of_new_entries_and_of_a_mix_with_held_ones_says_which_were_created(
    outbox: Outbox,
) -> None:
    rng = random.Random(7)
    first = [_entry(rng) for _ in range(5)]
    extra = CID("bafk-instance")
    assert outbox.append_many([(e, [extra] if i == 0 else []) for i, e in enumerate(first)]) == [
        (e.record_id, True) for e in first
    ]
    assert {extra, CID("bafk-x")} <= outbox.referenced_cids()
    assert all(outbox.holds(e.record_id) for e in first)
    fresh = _entry(rng)
    same_content = AnchorEntry(RecordId(rng.randbytes(32)), fresh.kind, fresh.pseudonym,
                               fresh.content_hash, rng.randbytes(16), CID("z"), b"w")  # fmt: skip
    mixed = [(first[2], ()), (fresh, ()), (same_content, ()), (first[0], ())]
    assert outbox.append_many(mixed) == [
        (first[2].record_id, False), (fresh.record_id, True), (fresh.record_id, False),
        (first[0].record_id, False),
    ]  # fmt: skip
    assert len(outbox.record_ids()) == 6
    assert CID("z") not in outbox.referenced_cids()
    assert not outbox.holds(same_content.record_id)


def test_pending_record_has_no_proof_and_unknown_record_is_named(outbox: Outbox) -> None:
    e = _entry(random.Random(2))
    outbox.append(e)
    with pytest.raises(OutboxError, match="pending"):
        outbox.proof(e.record_id)
    with pytest.raises(UnknownRecord):
        outbox.proof(RecordId(b"\x00" * 32))
    with pytest.raises(UnknownRecord):
        outbox.state(RecordId(b"\x00" * 32))


def test_batch_moves_oldest_entries_and_every_member_proof_verifies(outbox: Outbox) -> None:
    rng = random.Random(3)
    entries = [_entry(rng) for _ in range(7)]
    for e in entries:
        outbox.append(e)
    batch = outbox.form_batch(5)
    assert batch is not None and batch.size == 5
    assert outbox.pending_count() == 2
    for e in entries[:5]:
        assert outbox.state(e.record_id) is RecordState.BATCHED
        outbox.proof(e.record_id).verify(batch.root)
    assert outbox.open_batch() == batch
    second = outbox.form_batch(5)
    assert second is not None and second.size == 2 and outbox.form_batch(5) is None


def test_transitions_are_idempotent_and_anchored_is_final(outbox: Outbox) -> None:
    e = _entry(random.Random(4))
    outbox.append(e)
    batch = outbox.form_batch(10)
    assert batch is not None
    tx = TxHash(b"\x01" * 32)
    outbox.mark_submitted(batch.batch_id, tx, at=1.0)
    outbox.mark_submitted(batch.batch_id, tx, at=1.0)
    assert outbox.submitted_at(batch.batch_id) == 1.0
    assert outbox.state(e.record_id) is RecordState.SUBMITTED
    anchor = AnchorInfo(tx, 12)
    outbox.mark_anchored(batch.batch_id, anchor)
    outbox.mark_anchored(batch.batch_id, anchor)
    assert outbox.state(e.record_id) is RecordState.ANCHORED
    assert outbox.proof(e.record_id).anchor == anchor
    assert outbox.open_batch() is None
    with pytest.raises(IllegalTransition):
        outbox.mark_submitted(batch.batch_id, tx, at=2.0)
    with pytest.raises(IllegalTransition):
        outbox.mark_anchored(batch.batch_id, AnchorInfo(tx, 13))


def test_drain_finds_a_root_already_on_chain_and_does_not_resubmit(tmp_path: Path) -> None:
    """The crash window 'transaction landed, outbox not told' in a single process."""
    rng = random.Random(5)
    outbox = Outbox(tmp_path / "o.sqlite")
    chain = FileChain(tmp_path / "chain.jsonl", rng=rng)
    for _ in range(3):
        outbox.append(_entry(rng))
    batch = outbox.form_batch(10)
    assert batch is not None
    chain.submit(batch)  # as if the node died right after sending the transaction
    assert drain_once(outbox=outbox, sink=chain, max_batch_size=10) == batch
    assert len(read_chain(tmp_path / "chain.jsonl")) == 1
    assert outbox.open_batch() is None
    for _ in range(9):
        outbox.append(_entry(rng))
    assert drain(outbox=outbox, sink=chain, max_batch_size=4, max_rounds=100) == 3
    assert [b["size"] for b in read_chain(tmp_path / "chain.jsonl")] == [3, 4, 4, 1]
    outbox.close()


class LosingChain(AnchorSinkAPI):
    """A chain that accepts transactions and never includes them (a lost mempool)."""

    def __init__(self) -> None:
        self.sent: list[OutboxBatch] = []

    def submit(self, batch: OutboxBatch) -> TxHash:
        self.sent.append(batch)
        return TxHash(len(self.sent).to_bytes(32, "big"))

    def lookup(self, root: MerkleHash) -> AnchorInfo | None:
        return None


def test_batch_in_flight_is_resubmitted_only_after_the_grace_period(outbox: Outbox) -> None:
    outbox.append(_entry(random.Random(6)))
    chain = LosingChain()
    clock = [1000.0]

    def step() -> OutboxBatch | None:
        return drain_once(outbox=outbox, sink=chain, max_batch_size=8, resubmit_after=30.0,
                          now=lambda: clock[0])  # fmt: skip

    batch = step()
    assert len(chain.sent) == 1
    clock[0] += 29.0
    assert step() == batch and len(chain.sent) == 1
    clock[0] += 2.0
    assert step() == batch and len(chain.sent) == 2
    assert outbox.submitted_at(batch.batch_id) == 1031.0  # type: ignore[union-attr]
    assert drain(outbox=outbox, sink=chain, max_batch_size=8, max_rounds=5) == 0


def test_the_drain_follows_its_own_batch_and_rechecks_one_it_was_not_following(
    outbox: Outbox,
) -> None:
    rng = random.Random(8)
    for _ in range(3):
        outbox.append(_entry(rng))
    chain = LosingChain()
    batch = drain_once(outbox=outbox, sink=chain, max_batch_size=8)
    assert batch is not None and outbox.open_batch_head() == (batch.batch_id, batch.root)
    outbox._db.execute("UPDATE entries SET salt = ?", (bytes(16),))  # every member
    # following its own batch, the drain does not re-read the members ...
    assert drain_once(outbox=outbox, sink=chain, max_batch_size=8, current=batch) == batch
    # ... but a batch it was not following (a restart) is checked against its members
    stale = OutboxBatch(batch.batch_id, MerkleHash(bytes(32)), batch.commitments)
    with pytest.raises(OutboxError, match="corrupt"):
        drain_once(outbox=outbox, sink=chain, max_batch_size=8, current=stale)


def test_open_batch_carries_its_commitments_and_detects_a_tampered_member(outbox: Outbox) -> None:
    rng = random.Random(7)
    entries = [_entry(rng) for _ in range(5)]
    for e in entries:
        outbox.append(e)
    batch = outbox.form_batch(5)
    assert batch is not None
    assert batch.commitments == tuple(e.commitment() for e in entries)
    assert outbox.open_batch() == batch
    outbox._db.execute("UPDATE entries SET salt = ? WHERE record_id = ?",
                       (b"\x00" * 16, entries[2].record_id))  # fmt: skip
    with pytest.raises(OutboxError, match="corrupt"):
        outbox.open_batch()


def test_record_kinds_map_to_the_anchors_contract_codes() -> None:
    assert [k.chain_code for k in RecordKind] == [0, 1, 2]
    assert [k.text for k in RecordKind] == ["fhir", "prescription", "dicom-study"]


class UnreachableChain(AnchorSinkAPI):
    """A chain whose RPC refuses every call (node down, network cut)."""

    def submit(self, batch: OutboxBatch) -> TxHash:
        raise NodeError("chain unreachable")

    def lookup(self, root: MerkleHash) -> AnchorInfo | None:
        raise NodeError("chain unreachable")


def test_chain_outage_keeps_the_batch_open_until_the_chain_answers(
    outbox: Outbox, tmp_path: Path
) -> None:
    rng = random.Random(8)
    for _ in range(3):
        outbox.append(_entry(rng))
    with pytest.raises(NodeError, match="unreachable"):
        drain_once(outbox=outbox, sink=UnreachableChain(), max_batch_size=8)
    batch = outbox.open_batch()
    assert batch is not None and outbox.submitted_at(batch.batch_id) is None
    chain = FileChain(tmp_path / "chain.jsonl", rng=rng)
    assert drain(outbox=outbox, sink=chain, max_batch_size=8, max_rounds=5) == 1
    assert [b["root"] for b in read_chain(tmp_path / "chain.jsonl")] == [batch.root.hex()]


def test_lookups_by_record_and_by_content_go_through_the_short_key_indexes(
    outbox: Outbox,
) -> None:
    """A lookup that fell back to a scan would cost O(records) per ingest: plans are checked."""
    e = _entry(random.Random(5))
    outbox.append(e)
    plans = {
        "entries_by_id": (f"SELECT * FROM entries WHERE {WHERE_ID}", (e.record_id,)),
        "entries_by_content": (
            f"SELECT * FROM entries WHERE {WHERE_CONTENT}",
            (e.pseudonym, e.content_hash),
        ),
    }
    for index, (sql, params) in plans.items():
        plan = " ".join(r[3] for r in outbox._db.execute(f"EXPLAIN QUERY PLAN {sql}", params))
        assert f"USING INDEX {index}" in plan, plan
    assert outbox.find(e.pseudonym, e.content_hash) == e.record_id
    assert outbox.holds(e.record_id) and outbox.entry(e.record_id) == e


def test_proofs_hold_for_a_batch_whose_run_has_a_gap_in_its_seqs(outbox: Outbox) -> None:
    """Seqs need not be consecutive (AUTOINCREMENT may skip): a leaf's index is counted."""
    rng = random.Random(9)
    entries = [_entry(rng) for _ in range(6)]
    for i, e in enumerate(entries):
        if i == 3:
            outbox._db.execute("UPDATE sqlite_sequence SET seq = seq + 10 WHERE name = 'entries'")
        outbox.append(e)
    batch = outbox.form_batch(10)
    assert batch is not None and batch.size == 6
    last, first = outbox._db.execute("SELECT last_seq, first_seq FROM batches").fetchone()
    assert last - first + 1 > batch.size  # the run really has a gap
    for e in entries:
        outbox.proof(e.record_id).verify(batch.root)
