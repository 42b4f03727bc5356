"""A record's anchor proof: from its content hash (or one DICOM instance) to a batch root.

Like an OpenTimestamps proof, it is self-contained: with it, anyone can recompute the batch
root offline and compare it with the root anchored on chain (found by ``lookup(root)`` on any
node's RPC). The proof reveals the record id, patient pseudonym, content hash and salt, so it
is handed only to parties entitled to the record (grantees, auditors), never published.
Serialization lives in :mod:`node.proof.wire_codec` (binary) and :mod:`node.proof.json_codec`.
"""

from __future__ import annotations

from dataclasses import dataclass

from keys.typing import RecordId
from node.exceptions import ProofMismatch
from node.proof.commitment import anchor_commitment
from node.proof.merkle import ProofStep, fold_path, leaf_hash
from node.proof.study_tree import InstanceProof
from node.typing import ContentHash, MerkleHash, PatientPseudonym, TxHash


@dataclass(frozen=True, slots=True)
class AnchorInfo:
    """Where the batch root landed: the transaction and the block that holds it."""

    tx_hash: TxHash
    block_number: int


@dataclass(frozen=True, slots=True)
class RecordProof:
    """Inclusion of one record (and optionally one of its DICOM instances) in a batch."""

    record_id: RecordId
    pseudonym: PatientPseudonym
    content_hash: ContentHash
    salt: bytes
    batch_path: tuple[ProofStep, ...]
    anchor: AnchorInfo | None = None
    instance: InstanceProof | None = None

    def commitment(self) -> MerkleHash:
        return anchor_commitment(
            salt=self.salt,
            record_id=self.record_id,
            pseudonym=self.pseudonym,
            content_hash=self.content_hash,
        )

    def batch_root(self) -> MerkleHash:
        """The batch root this proof implies.

        Raises
        ------
        ProofMismatch
            If an instance section is present and does not lead to ``content_hash``.
        """
        if self.instance is not None and self.instance.study_root() != self.content_hash:
            raise ProofMismatch("the DICOM instance does not lead to the record's study root")
        return fold_path(leaf_hash(self.commitment()), self.batch_path)

    def verify(self, expected_root: bytes) -> None:
        """Raise :class:`ProofMismatch` unless the proof leads to ``expected_root``."""
        if self.batch_root() != expected_root:
            raise ProofMismatch("the proof does not lead to the expected batch root")

    def with_anchor(self, anchor: AnchorInfo) -> RecordProof:
        return RecordProof(
            self.record_id, self.pseudonym, self.content_hash, self.salt,
            self.batch_path, anchor, self.instance,
        )  # fmt: skip

    def with_instance(self, instance: InstanceProof) -> RecordProof:
        return RecordProof(
            self.record_id, self.pseudonym, self.content_hash, self.salt,
            self.batch_path, self.anchor, instance,
        )  # fmt: skip
