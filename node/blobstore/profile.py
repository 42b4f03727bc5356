"""Import profiles: the parameters that, with the bytes, fully determine a CID.

Every profile here is CIDv1, sha2-256, raw leaves, balanced layout; they differ in chunk size
and in how many links a node holds. ``unixfs-v1-2025`` is Kubo's profile of that name
(IPIP-499); ``cidv1-256k`` is the layout Kubo produced for ``--cid-version=1`` before it
(``size-262144`` chunks, 174 links per node).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from node.exceptions import BlobStoreError
from node.typing import ProfileName


@dataclass(frozen=True, slots=True)
class Profile:
    """Chunk size and node width of a balanced, raw-leaves, CIDv1 import."""

    name: ProfileName
    chunk_size: int
    max_links: int

    @property
    def chunker(self) -> str:
        """The ``chunker`` argument of Kubo's ``add`` for this profile."""
        return f"size-{self.chunk_size}"


UNIXFS_V1_2025: Final = Profile(ProfileName("unixfs-v1-2025"), 1024 * 1024, 1024)
CIDV1_256K: Final = Profile(ProfileName("cidv1-256k"), 256 * 1024, 174)
PROFILES: Final = {p.name: p for p in (UNIXFS_V1_2025, CIDV1_256K)}
DEFAULT_PROFILE: Final = UNIXFS_V1_2025


def get_profile(name: str) -> Profile:
    """Look a profile up by name, with a clear error listing the known ones."""
    try:
        return PROFILES[ProfileName(name)]
    except KeyError:
        raise BlobStoreError(
            f"unknown profile {name!r}; known: {', '.join(sorted(PROFILES))}"
        ) from None
