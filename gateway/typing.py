"""Identifier types of the gateway; ``NewType`` keeps addresses, UIDs and digests from mixing.

Record, case, grant and hospital ids are the keys package's own (one definition per id):
import them from :mod:`keys.typing`.
"""

from __future__ import annotations

from typing import NewType

from eth_typing import ChecksumAddress

#: A physician's chain account (their registered signing key's address), EIP-55 checksummed.
PhysicianAddress = NewType("PhysicianAddress", ChecksumAddress)
#: SHA-256 of a session token: what the session store keys on (never the token itself).
SessionDigest = NewType("SessionDigest", bytes)
#: A DICOM unique identifier (dotted digits, at most 64 characters).
DicomUID = NewType("DicomUID", str)

__all__ = [
    "DicomUID",
    "PhysicianAddress",
    "SessionDigest",
]
