"""Is a granted record committed on chain by its grantor? Checked before every release.

Two ways a record reaches the chain (design flow 2):

- in a Merkle batch (the node's outbox drain): the package carries the record's inclusion
  proof; the leaf and root are recomputed from the record's own fields (salt, record id,
  pseudonym, content hash) and the root must be anchored (``Anchors.getBatch``, read through
  :class:`~node.cases.abc.BatchRootsAPI`) by the grantor;
- alone (``Anchors.anchorRecord``): the record anchor must be the grantor's and commit to
  the same salted commitment.

Either way the content hash is then what the decrypted bytes must re-hash to. A failure is
one :class:`~node.exceptions.RecordRefused` subclass naming the reason; a chain that cannot
be read is :class:`~node.exceptions.ChainUnavailable`, not a refusal.
"""

from __future__ import annotations

from node.cases.abc import BatchRootsAPI, CaseChainAPI
from node.cases.inclusion import verify_inclusion
from node.cases.package import PackageRecord
from node.exceptions import (
    AnchorMissing,
    ChainUnavailable,
    InclusionRejected,
    NodeError,
    ProofMismatch,
)
from node.proof.commitment import anchor_commitment


def check_anchored(
    record: PackageRecord, *, grantor: str, batches: BatchRootsAPI, records: CaseChainAPI
) -> None:
    """Raise unless the chain holds the grantor's commitment to ``record``'s content hash."""
    rid = bytes(record.record_id)
    if record.inclusion is not None:
        try:
            root = verify_inclusion(
                record.inclusion, record_id=record.record_id, pseudonym=record.pseudonym,
                content_hash=record.content_hash, salt=record.salt,
            )  # fmt: skip
        except (ProofMismatch, ValueError) as exc:
            raise InclusionRejected(f"inclusion proof rejected: {exc}", record_id=rid) from exc
        batch = batches.batch_anchor(root=root)
        if batch is None:
            raise AnchorMissing("the proof's batch root is not anchored on chain", record_id=rid)
        if batch.hospital.lower() != grantor.lower():
            raise AnchorMissing("the batch root was anchored by another hospital", record_id=rid)
        return
    try:
        single = records.record_anchor(record.record_id)
    except NodeError as exc:
        raise ChainUnavailable("the record's anchor cannot be read from the chain") from exc
    if single is None:
        raise AnchorMissing("the record has no anchor on chain and no proof", record_id=rid)
    expected = anchor_commitment(
        salt=record.salt, record_id=record.record_id, pseudonym=record.pseudonym,
        content_hash=record.content_hash,
    )  # fmt: skip
    if single.hospital.lower() != grantor.lower() or single.commitment != expected:
        raise AnchorMissing("the record's anchor does not commit to its content", record_id=rid)
