"""Values that cross the outbox: the anchor entry of one record and the batch of a drain.

Neither holds PHI: a record is named by a random id, its patient by the consortium
pseudonym, its content by a hash (salted before it reaches the chain), its ciphertext by a
CID, and its data key only in wrapped form.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from contracts.typing import RecordKind
from keys.typing import RecordId
from node.proof.commitment import ID_LEN, SALT_LEN, anchor_commitment
from node.typing import CID, BatchId, ContentHash, MerkleHash, PatientPseudonym


class RecordState(enum.StrEnum):
    """Where a record is on its way to the chain (see :mod:`node.anchor.outbox`)."""

    PENDING = "pending"
    BATCHED = "batched"
    SUBMITTED = "submitted"
    ANCHORED = "anchored"


@dataclass(frozen=True, slots=True)
class AnchorEntry:
    """Everything the node keeps about one record until (and after) it is anchored."""

    record_id: RecordId
    kind: RecordKind
    pseudonym: PatientPseudonym
    content_hash: ContentHash
    salt: bytes
    cid: CID
    wrapped_key: bytes

    def __post_init__(self) -> None:
        for name, size in (("record_id", ID_LEN), ("pseudonym", ID_LEN),
                           ("content_hash", ID_LEN), ("salt", SALT_LEN)):  # fmt: skip
            if len(getattr(self, name)) != size:
                raise ValueError(f"{name} must be {size} bytes")
        if not self.cid or not self.wrapped_key:
            raise ValueError("an anchor entry needs a CID and a wrapped data key")

    def commitment(self) -> MerkleHash:
        return anchor_commitment(
            salt=self.salt,
            record_id=self.record_id,
            pseudonym=self.pseudonym,
            content_hash=self.content_hash,
        )


@dataclass(frozen=True, slots=True)
class OutboxBatch:
    """One outbox batch as the chain side needs it (not the gateway's chain-read batch anchor).

    ``commitments`` are the tree's leaf data in order (salted, so public-safe): the chain
    side publishes them as the batch manifest (``Anchors.anchorBatch(root, count,
    manifestCid)``), so an auditor can rebuild the tree and see how many records it holds.
    """

    batch_id: BatchId
    root: MerkleHash
    commitments: tuple[MerkleHash, ...]

    @property
    def size(self) -> int:
        return len(self.commitments)
