"""DICOM study trees: one instance is provable alone, up to the study root and a batch root."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from keys.typing import RecordId
from node.exceptions import ProofMismatch
from node.proof.merkle import MerkleTree
from node.proof.record import RecordProof
from node.proof.study_tree import InstanceProof, StudyTree, encode_uid
from node.typing import ContentHash, PatientPseudonym
from tests.node.strategies import study_trees


@given(study_trees())
def test_every_instance_proof_leads_to_the_study_root(tree: StudyTree) -> None:
    for s_uid, sops in tree._instance_order.items():
        for sop in sops:
            assert tree.instance_proof(s_uid, sop).study_root() == tree.root


@given(study_trees(), st.data())
def test_instance_proof_with_changed_uid_or_hash_fails(
    tree: StudyTree, data: st.DataObject
) -> None:
    s_uid = data.draw(st.sampled_from(sorted(tree._instance_order)))
    sop = data.draw(st.sampled_from(tree._instance_order[s_uid]))
    p = tree.instance_proof(s_uid, sop)
    field = data.draw(st.sampled_from(["study_uid", "series_uid", "sop_uid", "instance_hash"]))
    value = getattr(p, field)
    changed = value + "1" if isinstance(value, str) else bytes([value[0] ^ 1]) + value[1:]
    fields = {f: getattr(p, f) for f in InstanceProof.__slots__}  # type: ignore[attr-defined]
    fields[field] = changed
    assert InstanceProof(**fields).study_root() != tree.root


def test_instance_proof_chains_through_a_batch_to_the_batch_root() -> None:
    tree = StudyTree(
        "1.2.840.1",
        {"1.2.840.1.1": {"1.2.840.1.1.1": b"\x01" * 32, "1.2.840.1.1.2": b"\x02" * 32},
         "1.2.840.1.2": {"1.2.840.1.2.1": b"\x03" * 32}},
    )  # fmt: skip
    record = RecordProof(RecordId(b"\x09" * 32), PatientPseudonym(b"\x08" * 32), tree.root,
                         b"\x07" * 16, ())  # fmt: skip
    batch = MerkleTree([b"\x00" * 32, record.commitment(), b"\x01" * 32])
    record = RecordProof(record.record_id, record.pseudonym, record.content_hash, record.salt,
                         batch.path(1))  # fmt: skip
    proven = record.with_instance(tree.instance_proof("1.2.840.1.2", "1.2.840.1.2.1"))
    proven.verify(batch.root)
    other = StudyTree("1.2.840.1", {"1.2.840.1.2": {"1.2.840.1.2.1": b"\x04" * 32}})
    with pytest.raises(ProofMismatch, match="study root"):
        record.with_instance(other.instance_proof("1.2.840.1.2", "1.2.840.1.2.1")).verify(
            batch.root
        )
    with pytest.raises(ProofMismatch):
        RecordProof(record.record_id, record.pseudonym, ContentHash(b"\x00" * 32), record.salt,
                    record.batch_path).verify(batch.root)  # fmt: skip


def test_malformed_uids_and_empty_series_are_refused() -> None:
    for bad in ["", "1..2", "1.2.", "a.1", "1" * 65]:
        with pytest.raises(ValueError, match="DICOM UID"):
            encode_uid(bad)
    with pytest.raises(ValueError, match="at least one instance"):
        StudyTree("1.2", {"1.2.3": {}})
