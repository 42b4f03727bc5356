"""Identifier types; ``NewType`` keeps ids and versions from mixing.

The consortium-wide ids (record, case, grant, hospital) are defined here once, at the
bottom layer next to ``contracts``, and imported from here by node and gateway.
"""

from __future__ import annotations

from typing import NewType

from eth_typing import ChecksumAddress

#: Any contiguous byte buffer the AEAD accepts without a copy.
BytesLike = bytes | bytearray | memoryview
#: Version number of a hospital's X25519 encryption key (1, 2, ... ; rotation adds one).
KeyVersion = NewType("KeyVersion", int)
#: A record: 32 random bytes naming one anchored record (a FHIR payload or a DICOM study),
#: consortium-wide. Key wrapping binds it as opaque bytes (at most 255).
RecordId = NewType("RecordId", bytes)
#: A referral case, as the Referrals and Grants contracts name it (32 bytes).
CaseId = NewType("CaseId", bytes)
#: A grant, as the Grants contract names it (32 bytes).
GrantId = NewType("GrantId", bytes)
#: A hospital's chain account (its signing key's address), EIP-55 checksummed.
HospitalAddress = NewType("HospitalAddress", ChecksumAddress)

__all__ = [
    "BytesLike",
    "CaseId",
    "ChecksumAddress",
    "GrantId",
    "HospitalAddress",
    "KeyVersion",
    "RecordId",
]
