"""Traces rebuilt from chain events on anvil match the story as it was driven, exactly."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from gateway.audit.errors import UnknownSubject
from gateway.audit.events import EventReader
from gateway.audit.model import CiphertextStatus, Trace
from gateway.audit.tracer import Tracer
from gateway.audit.trail import ChainAuditTrail
from node.blobstore.embedded import EmbeddedBlobStore
from node.proof.record import AnchorInfo, RecordProof
from node.typing import TxHash
from tests.gateway.audit.story import BREAK_GLASS_REASON, Step, Story
from tests.node.pack_damage import flip_byte, forget


def _steps(trace: Trace) -> list[Step]:
    return [Step(e.kind, e.tx, e.block, e.actor) for e in trace.events]


def test_case_trace_is_the_whole_story_in_chain_order(story: Story, trail: ChainAuditTrail) -> None:
    trace = trail.trace_case(case=story.case)
    assert _steps(trace) == story.steps
    orders = [(e.block, e.log_index) for e in trace.events]
    assert orders == sorted(orders) and len(set(orders)) == len(orders)
    for event in trace.events:
        block = story.world.w3.eth.get_block(event.block)
        assert event.block_hash == "0x" + bytes(block["hash"]).hex()
        assert int(event.time.timestamp()) == block["timestamp"]
    glass = next(e for e in trace.events if e.kind == "BreakGlassAccess")
    assert glass.args["reasonCode"] == BREAK_GLASS_REASON
    assert "reason code 9" in glass.summary


def test_redemption_through_operator_names_operator_as_actor_and_physician_in_args(
    story: Story, trail: ChainAuditTrail
) -> None:
    redemptions = [
        e for e in trail.trace_grant(grant=story.grant).events if e.kind == "AccessRedeemed"
    ]
    doc, op = story.world.addr("doc_county"), story.world.addr("op_county")
    assert [(e.actor, e.args["physician"], e.args["use"]) for e in redemptions] == [
        (doc, doc, 1),
        (op, doc, 2),
    ]


def test_grant_trace_has_its_referral_issue_redemptions_and_revocation(
    story: Story, trail: ChainAuditTrail
) -> None:
    trace = trail.trace_grant(grant=story.grant)
    wanted = (
        "ReferralInitiated",
        "ReferralAccepted",
        "GrantIssued",
        "AccessRedeemed",
        "GrantRevoked",
    )
    assert _steps(trace) == [
        s for s in story.steps if s.kind in wanted and s.actor != story.world.addr("doc_tertiary")
    ]
    assert trace.events[-1].args["usesConsumed"] == 2


def test_break_glass_grant_trace_is_the_emergency_and_its_use(
    story: Story, trail: ChainAuditTrail
) -> None:
    trace = trail.trace_grant(grant=story.break_glass)
    assert [(e.kind, e.actor) for e in trace.events] == [
        ("BreakGlassAccess", story.world.addr("doc_tertiary")),
        ("AccessRedeemed", story.world.addr("doc_tertiary")),
        ("BreakGlassReviewed", story.world.addr("auditor")),
    ]
    assert trace.events[1].args["breakGlass"] is True
    assert trace.events[0].summary.endswith("; break-glass: reviewed (justified)")
    assert "justified" in trace.events[2].summary and trace.events[2].args["justified"] is True
    pending = trail.trace_grant(grant=story.pending_glass)
    assert [e.kind for e in pending.events] == ["BreakGlassAccess"]
    assert pending.events[0].summary.endswith("; break-glass: pending review")


def test_record_trace_follows_the_version_chain_and_skips_other_records(
    story: Story, trail: ChainAuditTrail
) -> None:
    for record in (story.record_v1, story.record_v2):
        trace = trail.trace_record(record=record)
        assert trace.versions == ["0x" + story.record_v1.hex(), "0x" + story.record_v2.hex()]
        anchored = [e.args["recordId"] for e in trace.events if e.kind == "RecordAnchored"]
        assert anchored == trace.versions
        expected = [s for i, s in enumerate(story.steps) if i != 2]  # step 2: the other record
        assert _steps(trace) == expected


def test_batched_record_is_found_through_its_proof_only(
    story: Story, trail: ChainAuditTrail
) -> None:
    record = story.batch_proof.record_id
    with pytest.raises(UnknownSubject, match="inclusion proof"):
        trail.trace_record(record=record)
    trace = trail.trace_record(record=record, proof=story.batch_proof)
    assert [e.kind for e in trace.events] == ["BatchAnchored"]
    assert trace.proof is not None and trace.proof.matches
    assert trace.proof.root == "0x" + story.batch_proof.batch_root().hex()
    assert trace.proof.batch_tx == trace.events[0].tx


def test_proof_naming_another_anchor_tx_is_reported_as_mismatch(
    story: Story, trail: ChainAuditTrail
) -> None:
    forged = story.batch_proof.with_anchor(AnchorInfo(TxHash(b"\x01" * 32), 1))
    trace = trail.trace_record(record=forged.record_id, proof=forged)
    assert trace.proof is not None and not trace.proof.matches
    assert not trace.checks_ok


def test_unknown_ids_are_unknown_subjects(story: Story, trail: ChainAuditTrail) -> None:
    with pytest.raises(UnknownSubject):
        trail.trace_case(case=b"\x42" * 32)
    with pytest.raises(UnknownSubject):
        trail.trace_record(record=b"\x42" * 32)
    with pytest.raises(UnknownSubject):
        trail.trace_grant(grant=story.world.unknown_grant() + 100)


def test_ciphertext_check_passes_on_intact_store(story: Story, trail: ChainAuditTrail) -> None:
    trace = trail.trace_case(case=story.case, check_ciphertext=True)
    assert trace.ciphertext is not None
    assert {c.cid for c in trace.ciphertext} == set(story.cids.values())
    assert all(c.status is CiphertextStatus.OK and c.size == 3000 for c in trace.ciphertext)
    assert trace.checks_ok
    batched = trail.trace_record(
        record=story.batch_proof.record_id, proof=story.batch_proof, check_ciphertext=True
    )
    assert [(c.cid, c.status) for c in batched.ciphertext or []] == [
        (story.batch_cid, CiphertextStatus.OK)
    ]


def test_tampered_and_missing_ciphertexts_are_reported(
    story: Story, trail: ChainAuditTrail, tmp_path: Path
) -> None:
    copy = tmp_path / "blobs"
    shutil.copytree(story.blobs.root, copy)
    damaged = EmbeddedBlobStore(copy, durable=False)
    v1, v2 = story.cids[story.record_v1], story.cids[story.record_v2]
    flip_byte(damaged, v1)
    forget(damaged, v2)
    trail.blobs = damaged
    trace = trail.trace_record(record=story.record_v2, check_ciphertext=True)
    statuses = {c.cid: c.status for c in trace.ciphertext or []}
    assert statuses == {v1: CiphertextStatus.CORRUPTED, v2: CiphertextStatus.MISSING}
    assert not trace.checks_ok


def test_proof_of_a_single_anchor_is_checked_against_its_commitment(
    story: Story, trail: ChainAuditTrail
) -> None:
    proof = story.single_proof
    trace = trail.trace_record(record=proof.record_id, proof=proof)
    assert trace.proof is not None and trace.proof.matches
    assert trace.events[0].actor == story.world.addr("township")
    wrong_salt = RecordProof(proof.record_id, proof.pseudonym, proof.content_hash, b"\x00" * 16, ())
    trace = trail.trace_record(record=proof.record_id, proof=wrong_salt)
    assert trace.proof is not None and not trace.proof.matches and not trace.checks_ok


@pytest.mark.parametrize("chunk", [1, 4])
def test_small_log_chunks_read_the_same_story(story: Story, chunk: int) -> None:
    """Chunk boundaries neither drop nor repeat events."""
    reader = EventReader(story.world.w3, story.world.deployment, chunk_blocks=chunk)
    trace = Tracer(reader).trace_case(story.case)
    assert _steps(trace) == story.steps


def test_parties_are_named_from_consortium_events(story: Story, trail: ChainAuditTrail) -> None:
    parties = trail.trace_case(case=story.case).parties
    addr = story.world.addr
    assert parties[addr("village")] == "village hospital (village clinic)"
    assert parties[addr("county")] == "county hospital (county hospital)"
    assert parties[addr("doc_county")] == "physician at county hospital"
    assert parties[addr("op_county")] == "operator at county hospital"
    assert parties[addr("doc_tertiary")] == "physician at tertiary hospital"
    assert parties[addr("tertiary")] == "tertiary hospital (tertiary hospital)"


def test_every_referral_transition_is_traced_and_summarized(
    story: Story, trail: ChainAuditTrail
) -> None:
    trace = trail.trace_case(case=story.referral_case)
    assert _steps(trace) == story.referral_steps
    summaries = [e.summary for e in trace.events]
    assert "declined by" in summaries[1] and "(reason 3)" in summaries[1]
    assert "cancelled by" in summaries[3]
    assert "completed by" in summaries[6]
    back, linked = trace.events[-2:]
    assert back.tx == linked.tx and back.log_index < linked.log_index
    assert "referring back from #" in back.summary and "referred back as #" in linked.summary


def test_batch_manifest_must_rebuild_its_anchored_root(
    story: Story, trail: ChainAuditTrail
) -> None:
    good = trail.trace_record(
        record=story.batch_proof.record_id, proof=story.batch_proof, check_ciphertext=True
    )
    assert [c.status for c in good.ciphertext or []] == [CiphertextStatus.OK]
    proof = story.wrong_manifest_proof
    assert proof is not None
    bad = trail.trace_record(record=proof.record_id, proof=proof, check_ciphertext=True)
    assert bad.proof is not None and bad.proof.matches  # the batch itself is anchored...
    (check,) = bad.ciphertext or []
    assert (check.cid, check.status) == (story.batch_cid, CiphertextStatus.MISMATCH)
    # ...its manifest is not: another batch's, of 3 commitments (140 bytes), not 2 (108)
    assert check.detail == "140 bytes; a manifest of 2 has 108" and not bad.checks_ok
