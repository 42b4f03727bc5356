"""The read side's anchor check on a batch-anchored record: proof recomputed, root's owner."""

from __future__ import annotations

import dataclasses
import os
from typing import cast

import pytest

from keys.typing import RecordId
from node.cases.abc import AnchoredBatch, BatchRootsAPI, CaseChainAPI
from node.cases.inclusion import BatchInclusion
from node.cases.package import PackageRecord
from node.cases.read.anchor import check_anchored
from node.exceptions import AnchorMissing, InclusionRejected
from node.proof.commitment import anchor_commitment
from node.proof.merkle import ProofStep, Side, fold_path, leaf_hash
from node.typing import CID, ContentHash, MerkleHash, PatientPseudonym

GRANTOR = "0x" + "aB" * 20
#: Never read: a batch-anchored record is checked against its batch root only.
NO_RECORD_ANCHORS = cast(CaseChainAPI, object())


@dataclasses.dataclass(frozen=True)
class _Anchor:
    hospital: str


class _Roots(BatchRootsAPI):
    def __init__(self, roots: dict[bytes, str]) -> None:
        self.roots = roots

    def batch_anchor(self, *, root: bytes) -> AnchoredBatch | None:
        hospital = self.roots.get(bytes(root))
        return None if hospital is None else _Anchor(hospital)


def _batched() -> PackageRecord:
    record = PackageRecord(
        record_id=RecordId(os.urandom(32)), cid=CID("bafy"), wrapped_key=b"",
        content_hash=ContentHash(os.urandom(32)), salt=os.urandom(16),
        pseudonym=PatientPseudonym(os.urandom(32)),
    )  # fmt: skip
    leaf = leaf_hash(anchor_commitment(salt=record.salt, record_id=record.record_id,
                                       pseudonym=record.pseudonym,
                                       content_hash=record.content_hash))  # fmt: skip
    path = (ProofStep(Side.RIGHT, MerkleHash(os.urandom(32))),)
    inclusion = BatchInclusion(batch_root=fold_path(leaf, path), leaf=leaf, path=path)
    return dataclasses.replace(record, inclusion=inclusion)


def test_a_proof_to_a_root_the_grantor_anchored_passes_whatever_the_address_case() -> None:
    record = _batched()
    assert record.inclusion is not None
    roots = _Roots({record.inclusion.batch_root: GRANTOR.lower()})
    check_anchored(record, grantor=GRANTOR, batches=roots, records=NO_RECORD_ANCHORS)


def test_a_root_nobody_or_another_hospital_anchored_is_refused() -> None:
    record = _batched()
    assert record.inclusion is not None
    with pytest.raises(AnchorMissing, match="not anchored on chain") as nobody:
        check_anchored(record, grantor=GRANTOR, batches=_Roots({}), records=NO_RECORD_ANCHORS)
    assert nobody.value.record_id == record.record_id
    other = _Roots({record.inclusion.batch_root: "0x" + "cd" * 20})
    with pytest.raises(AnchorMissing, match="another hospital"):
        check_anchored(record, grantor=GRANTOR, batches=other, records=NO_RECORD_ANCHORS)


def test_a_tampered_path_or_another_records_proof_is_rejected_before_the_chain_is_asked() -> None:
    record, foreign = _batched(), _batched()
    assert record.inclusion is not None and foreign.inclusion is not None
    step = record.inclusion.path[0]
    flipped = ProofStep(step.side, MerkleHash(bytes([step.sibling[0] ^ 1]) + step.sibling[1:]))
    tampered = dataclasses.replace(record.inclusion, path=(flipped,))
    roots = _Roots({record.inclusion.batch_root: GRANTOR})
    cases = [(tampered, "does not lead to its batch root"), (foreign.inclusion, "leaf")]
    for inclusion, reason in cases:
        with pytest.raises(InclusionRejected, match=f"inclusion proof rejected: .*{reason}"):
            check_anchored(dataclasses.replace(record, inclusion=inclusion), grantor=GRANTOR,
                           batches=roots, records=NO_RECORD_ANCHORS)  # fmt: skip
