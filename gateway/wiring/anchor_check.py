"""Is a granted record committed on chain by its grantor? Checked before every release.

Two ways a record reaches the chain (design flow 2):

- in a Merkle batch (the node's outbox drain): the package carries the record's inclusion
  proof; the leaf and root are recomputed from the record's own fields (salt, record id,
  pseudonym, content hash) and the root must be anchored (``Anchors.getBatch``, read through
  the gateway's :class:`~gateway.abc.ChainViewAPI`) by the grantor;
- alone (``Anchors.anchorRecord``): the record anchor must be the grantor's and commit to
  the same salted commitment.

Either way the content hash is then what the decrypted bytes must re-hash to. Failures are
refused with a reason (:class:`~gateway.exceptions.ProofInvalid`,
:class:`~gateway.exceptions.NotAnchored`) and reported on the ``gateway.integrity`` log
(record id and reason only: a record id is random, not PHI).
"""

from __future__ import annotations

import logging

from gateway.abc import ChainViewAPI
from gateway.exceptions import ChainUnavailable, IntegrityError, NotAnchored, ProofInvalid
from node.cases.abc import CaseChainAPI
from node.cases.inclusion import verify_inclusion
from node.cases.package import PackageRecord
from node.exceptions import NodeError, ProofMismatch
from node.proof.commitment import anchor_commitment

report = logging.getLogger("gateway.integrity")


def refuse(record: PackageRecord, error: IntegrityError) -> IntegrityError:
    """Log the refusal (record id + reason code) and return the error to raise."""
    report.error("refused record %s: %s (%s)", record.record_id.hex(), error.code, error)
    return error


def check_anchored(
    record: PackageRecord, *, grantor: str, chain: ChainViewAPI, case_chain: CaseChainAPI
) -> None:
    """Raise unless the chain holds the grantor's commitment to ``record``'s content hash."""
    if record.inclusion is not None:
        try:
            root = verify_inclusion(
                record.inclusion, record_id=record.record_id, pseudonym=record.pseudonym,
                content_hash=record.content_hash, salt=record.salt,
            )  # fmt: skip
        except (ProofMismatch, ValueError) as exc:
            raise refuse(record, ProofInvalid(f"inclusion proof rejected: {exc}")) from exc
        batch = chain.batch_anchor(root=root)
        if batch is None:
            raise refuse(record, NotAnchored("the proof's batch root is not anchored on chain"))
        if batch.hospital.lower() != grantor.lower():
            raise refuse(record, NotAnchored("the batch root was anchored by another hospital"))
        return
    try:
        single = case_chain.record_anchor(record.record_id)
    except NodeError as exc:
        raise ChainUnavailable("the record's anchor cannot be read from the chain") from exc
    if single is None:
        raise refuse(record, NotAnchored("the record has no anchor on chain and no proof"))
    expected = anchor_commitment(
        salt=record.salt, record_id=record.record_id, pseudonym=record.pseudonym,
        content_hash=record.content_hash,
    )  # fmt: skip
    if single.hospital.lower() != grantor.lower() or single.commitment != expected:
        raise refuse(record, NotAnchored("the record's anchor does not commit to its content"))
