"""Hypothesis strategies shared by the node tests."""

from __future__ import annotations

from hypothesis import strategies as st

from keys.typing import RecordId
from node.proof.merkle import MerkleTree
from node.proof.record import AnchorInfo, RecordProof
from node.proof.study_tree import StudyTree
from node.typing import ContentHash, PatientPseudonym, TxHash

h32 = st.binary(min_size=32, max_size=32)
uids = st.from_regex(r"1\.2(\.[1-9][0-9]{0,5}){1,6}", fullmatch=True)


@st.composite
def study_trees(draw: st.DrawFn) -> StudyTree:
    series_uids = draw(st.lists(uids, min_size=1, max_size=4, unique=True))
    series = {
        s: dict(
            draw(st.lists(st.tuples(uids, h32), min_size=1, max_size=6, unique_by=lambda t: t[0]))
        )
        for s in series_uids
    }
    return StudyTree(draw(uids), series)


@st.composite
def record_proofs(draw: st.DrawFn, with_instance: bool | None = None) -> tuple[RecordProof, bytes]:
    """A proof built from a real batch tree, and the root it must lead to."""
    instance = None
    if with_instance is None:
        with_instance = draw(st.booleans())
    if with_instance:
        tree = draw(study_trees())
        s_uid = draw(st.sampled_from(sorted(tree._instance_order)))
        sop = draw(st.sampled_from(tree._instance_order[s_uid]))
        instance = tree.instance_proof(s_uid, sop)
        content_hash = tree.root
    else:
        content_hash = ContentHash(draw(h32))
    proof = RecordProof(
        record_id=RecordId(draw(h32)),
        pseudonym=PatientPseudonym(draw(h32)),
        content_hash=content_hash,
        salt=draw(st.binary(min_size=16, max_size=16)),
        batch_path=(),
        instance=instance,
    )
    others = draw(st.lists(h32, max_size=40))
    index = draw(st.integers(0, len(others)))
    leaves = [*others[:index], proof.commitment(), *others[index:]]
    batch = MerkleTree(leaves)
    proof = RecordProof(
        proof.record_id,
        proof.pseudonym,
        proof.content_hash,
        proof.salt,
        batch.path(index),
        instance=instance,
    )
    if draw(st.booleans()):
        proof = proof.with_anchor(AnchorInfo(TxHash(draw(h32)), draw(st.integers(0, 2**64 - 1))))
    return proof, batch.root
