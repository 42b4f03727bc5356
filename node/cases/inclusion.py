"""A granted record's batch inclusion proof, as the grant package carries it.

Nodes anchor records in Merkle batches (:mod:`node.anchor.drain`): the chain holds only the
batch root. For the grantee to check a record against the chain, the package names, per
batch-anchored record, the batch (by its root, which is how ``Anchors.getBatch`` keys
batches), the leaf (the hashed salted commitment, :mod:`node.proof.commitment`) and the ordered
sibling path from leaf to root. The salt, record id, pseudonym and content hash the leaf
commits to are the package record's own fields, so nothing here is PHI: a leaf and its
siblings are hashes of salted commitments.

:func:`verify_inclusion` recomputes everything from the record's fields; the stated leaf and
root are only cross-checked, never trusted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from keys.typing import RecordId
from node.exceptions import ProofMismatch
from node.proof.commitment import anchor_commitment
from node.proof.merkle import MAX_PATH_STEPS, ProofStep, Side, fold_path, leaf_hash
from node.proof.record import RecordProof
from node.typing import ContentHash, MerkleHash, PatientPseudonym

_SIDES = {"left": Side.LEFT, "right": Side.RIGHT}


@dataclass(frozen=True, slots=True)
class BatchInclusion:
    """Where a record sits in its anchor batch: the batch root, its leaf and the path."""

    batch_root: MerkleHash
    leaf: MerkleHash
    path: tuple[ProofStep, ...]

    @classmethod
    def from_proof(cls, proof: RecordProof) -> BatchInclusion:
        """The inclusion part of an outbox proof (the record fields stay in the package)."""
        return cls(
            batch_root=proof.batch_root(),
            leaf=leaf_hash(proof.commitment()),
            path=proof.batch_path,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "batch_root": self.batch_root.hex(),
            "leaf": self.leaf.hex(),
            "path": [{"side": s.side.name.lower(), "hash": s.sibling.hex()} for s in self.path],
        }

    @classmethod
    def from_json(cls, doc: Any) -> BatchInclusion:
        """Parse the package's ``inclusion`` object; ``ValueError``/``TypeError`` if malformed."""
        if not isinstance(doc, dict) or set(doc) != {"batch_root", "leaf", "path"}:
            raise ValueError("an inclusion has exactly batch_root, leaf and path")
        steps = doc["path"]
        if not isinstance(steps, list) or len(steps) > MAX_PATH_STEPS:
            raise ValueError(f"an inclusion path is a list of at most {MAX_PATH_STEPS} steps")
        path = []
        for step in steps:
            if not isinstance(step, dict) or set(step) != {"side", "hash"}:
                raise ValueError("a path step has exactly side and hash")
            if step["side"] not in _SIDES:
                raise ValueError("a path step's side is 'left' or 'right'")
            path.append(ProofStep(_SIDES[step["side"]], MerkleHash(_hash32(step["hash"]))))
        return cls(
            batch_root=MerkleHash(_hash32(doc["batch_root"])),
            leaf=MerkleHash(_hash32(doc["leaf"])),
            path=tuple(path),
        )


def _hash32(value: Any) -> bytes:
    if not isinstance(value, str) or len(value) != 64:
        raise ValueError("expected 32 bytes of hex")
    return bytes.fromhex(value)


def verify_inclusion(
    inclusion: BatchInclusion,
    *,
    record_id: RecordId,
    pseudonym: PatientPseudonym,
    content_hash: ContentHash,
    salt: bytes,
) -> MerkleHash:
    """The batch root the record's own fields lead to through ``inclusion.path``.

    Raises
    ------
    ProofMismatch
        The recomputed leaf or root differs from the stated one (a tampered proof, or a
        proof of another record or batch).
    """
    commitment = anchor_commitment(
        salt=salt, record_id=record_id, pseudonym=pseudonym, content_hash=content_hash
    )
    leaf = leaf_hash(commitment)
    if leaf != inclusion.leaf:
        raise ProofMismatch("the inclusion's leaf is not this record's commitment")
    root = fold_path(leaf, inclusion.path)
    if root != inclusion.batch_root:
        raise ProofMismatch("the inclusion path does not lead to its batch root")
    return root
