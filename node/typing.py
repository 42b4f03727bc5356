"""NewType identifiers of the node package, so a CID is never confused with any other string."""

from __future__ import annotations

from typing import NewType

#: A content identifier in its canonical text form: CIDv1, base32 lower case (``bafy…``,
#: ``bafkrei…``), exactly what Kubo prints for ``--cid-version=1``.
CID = NewType("CID", str)

#: The name of an import profile (``unixfs-v1-2025`` or ``cidv1-256k``).
ProfileName = NewType("ProfileName", str)
