"""Salted leaf commitments: what a batch tree's leaves are.

The chain sees only the batch root. A verifier holding a record's proof recomputes

``commitment = SHA-256(TAG || salt(16) || record_id(32) || pseudonym(32) || content_hash(32))``

and folds the batch path from ``leaf_hash(commitment)``. Why these fields:

- ``salt``: 16 random bytes per record, so nobody can test guesses of a small record
  (a prescription has few plausible values) against a published root or leaf;
- ``record_id``: binds the leaf to one record, so one proof cannot be replayed for another
  record with the same content;
- ``pseudonym``: binds the record to the consortium pseudonym of its patient, so an auditor can
  check a record belongs to a case without learning who the patient is;
- ``content_hash``: SHA-256 of the canonical plaintext (FHIR) or the DICOM study root.

Every field has a fixed length, so the concatenation is unambiguous; the tag separates this
hash from every other SHA-256 use in medledger (and carries the version).
"""

from __future__ import annotations

import hashlib

from keys.typing import RecordId
from node.typing import ContentHash, MerkleHash, PatientPseudonym

COMMITMENT_TAG = b"medledger:anchor-leaf:v1\x00"
SALT_LEN = 16
ID_LEN = 32


def anchor_commitment(
    *, salt: bytes, record_id: RecordId, pseudonym: PatientPseudonym, content_hash: ContentHash
) -> MerkleHash:
    """The salted commitment that is a batch tree's leaf data."""
    for name, value, size in (
        ("salt", salt, SALT_LEN),
        ("record_id", record_id, ID_LEN),
        ("pseudonym", pseudonym, ID_LEN),
        ("content_hash", content_hash, ID_LEN),
    ):
        if len(value) != size:
            raise ValueError(f"{name} must be {size} bytes, got {len(value)}")
    return MerkleHash(
        hashlib.sha256(COMMITMENT_TAG + salt + record_id + pseudonym + content_hash).digest()
    )
