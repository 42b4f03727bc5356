"""Interface of the blob store: ciphertext addressed by CID.

Two backends implement :class:`BlobStoreAPI` (the embedded on-disk store and a Kubo RPC
client) and both pass one shared test suite (``tests/node/blob_suite.py``), so the node never
depends on which one it runs with.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence

from node.typing import CID


class BlobStoreAPI(ABC):
    """A content-addressed, pinning blob store whose CIDs equal Kubo's for the same bytes."""

    @abstractmethod
    def put(self, source: Iterable[bytes], *, pin: bool = True) -> CID:
        """Store the bytes of ``source`` and return their CID.

        ``source`` is consumed once, chunk by chunk, in constant memory; chunk boundaries of
        the source do not matter (the store re-chunks to the profile's chunk size), so the
        same bytes always give the same CID. Pinned by default, as ``ipfs add`` does, so a
        garbage collection right after cannot remove the new blob.
        """

    def put_many(self, payloads: Sequence[bytes], *, pin: bool = True) -> list[CID]:
        """:meth:`put` for a group of small payloads held in memory; CIDs in order.

        Every payload is durable (and pinned) when this returns. Backends that can share one
        durability barrier across the group override this; the default puts one by one.
        """
        return [self.put([p], pin=pin) for p in payloads]

    @abstractmethod
    def get(self, cid: CID) -> Iterator[bytes]:
        """Stream the blob's bytes, verifying every block's hash before releasing its bytes.

        Raises :class:`~node.exceptions.BlobNotFound` when a block is missing and
        :class:`~node.exceptions.CorruptedBlock` when a block does not match its CID (both may
        surface mid-stream: bytes of earlier, verified blocks were already yielded).
        """

    @abstractmethod
    def block(self, cid: CID) -> bytes:
        """The raw bytes of one block (root or child), verified against ``cid``.

        What a peer serves on ``GET /blocks/{cid}`` so another node can replicate a blob
        block by block (the fetcher re-verifies: CIDs are self-verifying). Raises
        :class:`~node.exceptions.BlobNotFound` / :class:`~node.exceptions.CorruptedBlock`.
        """

    @abstractmethod
    def has(self, cid: CID) -> bool:
        """Whether the root block of ``cid`` is in the store (children are not walked)."""

    @abstractmethod
    def size(self, cid: CID) -> int:
        """Size in bytes of the blob's content (not of its DAG), read from the root block."""

    @abstractmethod
    def pin(self, cid: CID) -> None:
        """Protect ``cid`` and every block under it from garbage collection (idempotent)."""

    @abstractmethod
    def unpin(self, cid: CID) -> None:
        """Remove the pin on ``cid``; raises :class:`~node.exceptions.BlobNotFound` if none."""

    @abstractmethod
    def pins(self) -> set[CID]:
        """The CIDs pinned directly (recursively protected roots)."""

    @abstractmethod
    def gc(self) -> int:
        """Delete every block not reachable from a pin; return how many were deleted."""
