"""Distinct types for the node's identifiers, so a record id is never passed as a hash.

The consortium-wide ids (``RecordId``, ``CaseId``, ``GrantId``, ``HospitalAddress``) are
defined once, in :mod:`keys.typing`, and imported from there.
"""

from __future__ import annotations

from typing import NewType

#: HMAC-SHA256 of a local patient id under the consortium secret (32 bytes).
PatientPseudonym = NewType("PatientPseudonym", bytes)
#: SHA-256 of a payload's canonical bytes, or a DICOM study root (32 bytes).
ContentHash = NewType("ContentHash", bytes)
#: A Merkle node or root (32 bytes).
MerkleHash = NewType("MerkleHash", bytes)
#: A 32-byte transaction hash on the chain.
TxHash = NewType("TxHash", bytes)
#: Local id of an outbox batch (SQLite rowid).
BatchId = NewType("BatchId", int)

#: A content identifier in its canonical text form: CIDv1, base32 lower case (``bafy…``,
#: ``bafkrei…``), exactly what Kubo prints for ``--cid-version=1``.
CID = NewType("CID", str)

#: The name of an import profile (``unixfs-v1-2025`` or ``cidv1-256k``).
ProfileName = NewType("ProfileName", str)
