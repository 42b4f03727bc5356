"""Identifier types of the keys package; ``NewType`` keeps ids and versions from mixing."""

from __future__ import annotations

from typing import NewType

from eth_typing import ChecksumAddress

#: Any contiguous byte buffer the AEAD accepts without a copy.
BytesLike = bytes | bytearray | memoryview
#: Version number of a hospital's X25519 encryption key (1, 2, ... ; rotation adds one).
KeyVersion = NewType("KeyVersion", int)
#: A record's identifier as bound into its wrapped data key (opaque bytes, at most 255).
RecordId = NewType("RecordId", bytes)
#: A referral case, as the Grants contract names it (32 bytes).
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
