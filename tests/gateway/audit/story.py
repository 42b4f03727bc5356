"""A referral story driven on a real chain with web3.py, remembering every transaction.

Five founding hospitals of four tiers (``tests.contracts.world``); the village clinic
anchors a record, a second version of it and an unrelated record of the same case, plus a
batch of three records; refers the case up to the county hospital, which accepts; grants;
the county physician redeems (once directly, once through the county's gateway operator);
the village revokes; a tertiary physician breaks the glass and redeems. The "ciphertexts"
are random bytes in a real embedded blob store: the auditor never decrypts, so their
content does not matter, only their CIDs do.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from web3.types import TxReceipt

from keys.typing import RecordId
from node.blobstore.embedded import EmbeddedBlobStore
from node.formats.batch_manifest import encode_manifest
from node.proof.commitment import anchor_commitment
from node.proof.merkle import MerkleTree
from node.proof.record import RecordProof
from node.typing import ContentHash, PatientPseudonym
from tests.contracts.world import World, rand32

BREAK_GLASS_REASON = 9


@dataclass(frozen=True)
class Step:
    """One expected event: its kind, transaction, block and sender."""

    kind: str
    tx: str
    block: int
    actor: str


@dataclass
class Story:
    world: World
    blobs: EmbeddedBlobStore
    case: bytes
    record_v1: bytes
    record_v2: bytes
    other_record: bytes
    cids: dict[bytes, str]
    referral: int
    grant: int
    break_glass: int
    batch_proof: RecordProof
    batch_cid: str
    #: A record anchored singly (in a case of its own) whose commitment this proof opens.
    single_proof: RecordProof
    steps: list[Step] = field(default_factory=list)
    #: A second case where referrals are declined, cancelled, completed and referred back.
    referral_case: bytes = b""
    #: A break-glass grant left unreviewed.
    pending_glass: int = 0
    referral_steps: list[Step] = field(default_factory=list)
    #: A batched record whose batch was anchored with another batch's manifest CID.
    wrong_manifest_proof: RecordProof | None = None

    def kinds(self, *only: str) -> list[str]:
        return [s.kind for s in self.steps if not only or s.kind in only]


def _note(story_steps: list[Step], kind: str, receipt: TxReceipt, actor: str) -> None:
    story_steps.append(
        Step(kind, "0x" + bytes(receipt["transactionHash"]).hex(), receipt["blockNumber"], actor)
    )


def play(world: World, blob_dir: Path) -> Story:
    """Drive the story; every transaction is mined before the next is sent."""
    blobs = EmbeddedBlobStore(blob_dir, durable=False)
    a, r, g = world.anchors.functions, world.referrals.functions, world.grants.functions
    steps: list[Step] = []
    case = rand32()
    v1, v2, other = rand32(), rand32(), rand32()
    cids = {rid: blobs.put([os.urandom(3000)]) for rid in (v1, v2, other)}

    def tx(kind: str, actor: str, fn: object) -> TxReceipt:
        receipt = world.tx(actor, fn)  # type: ignore[arg-type]
        _note(steps, kind, receipt, world.addr(actor))
        return receipt

    zero = bytes(32)
    tx("RecordAnchored", "village", a.anchorRecord(v1, 0, rand32(), cids[v1], case, zero))
    tx("RecordAnchored", "village", a.anchorRecord(v2, 0, rand32(), cids[v2], case, v1))
    tx("RecordAnchored", "village", a.anchorRecord(other, 1, rand32(), cids[other], case, zero))
    receipt = tx(
        "ReferralInitiated", "village", r.initiate(case, world.addr("county"), 7, world.later())
    )
    referral = int(world.one_event(receipt, world.referrals, "ReferralInitiated")["referralId"])
    tx("ReferralAccepted", "county", r.accept(referral))
    receipt = tx(
        "GrantIssued",
        "village",
        g.issue(referral, world.addr("county"), "0x" + "00" * 20, rand32(), world.later(3600), 3),
    )
    grant = int(world.one_event(receipt, world.grants, "GrantIssued")["grantId"])
    tx("AccessRedeemed", "doc_county", world.redeem(grant, "doc_county"))
    tx("AccessRedeemed", "op_county", world.redeem(grant, "doc_county"))
    tx("GrantRevoked", "village", g.revoke(grant))
    receipt = tx(
        "BreakGlassAccess",
        "doc_tertiary",
        g.breakGlass(case, world.addr("village"), rand32(), BREAK_GLASS_REASON, 600, 1),
    )
    glass = int(world.one_event(receipt, world.grants, "BreakGlassAccess")["grantId"])
    tx("AccessRedeemed", "doc_tertiary", world.redeem_break_glass(glass, "doc_tertiary"))
    tx("BreakGlassReviewed", "auditor", g.reviewBreakGlass(glass, True, rand32()))
    # Another case's break-glass nobody has reviewed yet (outside this case's story).
    receipt = world.tx(
        "doc_tertiary",
        g.breakGlass(rand32(), world.addr("village"), rand32(), BREAK_GLASS_REASON, 600, 1),
    )
    pending = int(world.one_event(receipt, world.grants, "BreakGlassAccess")["grantId"])

    proof, batch_cid = _batch(world, blobs)
    single = _committed_single(world, blobs)
    story = Story(world, blobs, case, v1, v2, other, cids, referral, grant, glass, proof,
                  batch_cid, single, steps)  # fmt: skip
    story.pending_glass = pending
    story.referral_case, story.referral_steps = _referral_paths(world)
    story.wrong_manifest_proof = _batch_with_wrong_manifest(world, batch_cid)
    return story


def _referral_paths(world: World) -> tuple[bytes, list[Step]]:
    """Declined, cancelled, completed and referred back: every referral transition."""
    r = world.referrals.functions
    case, steps = rand32(), []

    def tx(kinds: tuple[str, ...], actor: str, fn: object) -> TxReceipt:
        receipt = world.tx(actor, fn)  # type: ignore[arg-type]
        for kind in kinds:
            _note(steps, kind, receipt, world.addr(actor))
        return receipt

    def initiate(target: str) -> int:
        receipt = tx(("ReferralInitiated",), "village",
                     r.initiate(case, world.addr(target), 4, world.later()))  # fmt: skip
        return int(world.one_event(receipt, world.referrals, "ReferralInitiated")["referralId"])

    tx(("ReferralDeclined",), "county", r.decline(initiate("county"), 3))
    tx(("ReferralCancelled",), "village", r.cancel(initiate("county2")))
    up = initiate("tertiary")
    tx(("ReferralAccepted",), "tertiary", r.accept(up))
    tx(("ReferralCompleted",), "tertiary", r.complete(up))
    # One transaction, two events: the back-referral is created, then linked to its parent.
    tx(("ReferralInitiated", "ReferredBack"), "tertiary", r.referBack(up, 5, world.later()))
    return case, steps


def _batch(world: World, blobs: EmbeddedBlobStore) -> tuple[RecordProof, str]:
    """Three records anchored in one batch; returns the proof of the second and the manifest."""
    entries = [
        (RecordId(rand32()), PatientPseudonym(rand32()), ContentHash(rand32()), os.urandom(16))
        for _ in range(3)
    ]
    commitments = [
        anchor_commitment(salt=s, record_id=rid, pseudonym=p, content_hash=h)
        for rid, p, h, s in entries
    ]
    tree = MerkleTree(commitments)
    manifest = blobs.put([encode_manifest(tree.root, tuple(commitments))])
    world.tx("village", world.anchors.functions.anchorBatch(tree.root, 3, manifest))
    rid, pseudonym, content, salt = entries[1]
    return RecordProof(rid, pseudonym, content, salt, tree.path(1)), manifest


def _batch_with_wrong_manifest(world: World, manifest: str) -> RecordProof:
    """A batch anchored with another batch's (intact) manifest: its proof of record 0."""
    rid, pseudonym, content, salt = (
        RecordId(rand32()), PatientPseudonym(rand32()), ContentHash(rand32()), os.urandom(16)
    )  # fmt: skip
    first = anchor_commitment(salt=salt, record_id=rid, pseudonym=pseudonym, content_hash=content)
    tree = MerkleTree([first, rand32()])
    world.tx("village", world.anchors.functions.anchorBatch(tree.root, 2, manifest))
    return RecordProof(rid, pseudonym, content, salt, tree.path(0))


def _committed_single(world: World, blobs: EmbeddedBlobStore) -> RecordProof:
    """A record anchored alone with a real salted commitment; returns the opening proof."""
    rid, pseudonym, content, salt = (
        RecordId(rand32()), PatientPseudonym(rand32()), ContentHash(rand32()), os.urandom(16)
    )  # fmt: skip
    commitment = anchor_commitment(
        salt=salt, record_id=rid, pseudonym=pseudonym, content_hash=content
    )
    cid = blobs.put([os.urandom(100)])
    fn = world.anchors.functions.anchorRecord(rid, 0, commitment, cid, rand32(), bytes(32))
    world.tx("township", fn)
    return RecordProof(rid, pseudonym, content, salt, ())
