"""Interfaces of the node package.

The ingest/anchoring interfaces below are what the pure building blocks (``node.ingest``,
``node.anchoring``) call; the real implementations come from other layers: the keys package
(cipher, key wrapping), the blob store, and the chain client (anchor sink). Each is small
so a stand-in for tests is a few honest lines, not a mock.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from node.entry import BatchAnchor
from node.proof import AnchorInfo
from node.typing import CID, MerkleHash, TxHash

# --- ingest: encrypt, store, wrap ----------------------------------------------------------


class PayloadCipherAPI(ABC):
    """Authenticated encryption of one payload under a fresh data key (the keys package)."""

    @abstractmethod
    def new_data_key(self) -> bytes:
        """A fresh random data key (DEK) for one record; never reused across records."""

    @abstractmethod
    def encrypt(self, *, data_key: bytes, plaintext: bytes, associated_data: bytes) -> bytes:
        """Encrypt ``plaintext``; ``associated_data`` (record id, content hash) is bound to it.

        The result is self-describing (format version, nonces, chunking), so it can be
        decrypted from the ciphertext, the DEK and the same associated data alone.
        """


class PayloadStoreAPI(ABC):
    """Where ciphertexts go (the content-addressed blob store, a thin adapter over it)."""

    @abstractmethod
    def put(self, ciphertext: bytes) -> CID:
        """Store and pin ``ciphertext`` and return its CID.

        Storing the same bytes twice is idempotent and returns the same CID.
        """

    @abstractmethod
    def discard(self, cid: CID) -> None:
        """Best-effort unpin of a ciphertext that no record will reference.

        Called when ingest fails after ``put``; must not raise if the CID is unknown.
        """


class KeyWrapperAPI(ABC):
    """Wraps a data key to this hospital's current encryption key (HPKE, keys package)."""

    @abstractmethod
    def wrap(self, data_key: bytes, *, associated_data: bytes) -> bytes:
        """The DEK encrypted to the hospital's encryption key, bound to ``associated_data``.

        The result names the key version it was wrapped to, so rotation can re-wrap it.
        """


# --- anchoring: the chain side -------------------------------------------------------------


class AnchorSinkAPI(ABC):
    """The chain as the outbox sees it (the chain client implements it with ``Anchors``).

    Expected implementation: ``submit`` stores ``batch.commitments`` as the batch manifest in
    the blob store and sends ``Anchors.anchorBatch(root, count, manifestCid)``; ``lookup``
    reads the ``BatchAnchored`` event whose indexed ``root`` matches (``eth_getLogs``), which
    gives both the block and the transaction hash.

    Exactly-once anchoring rests on two properties of the implementation:

    - ``lookup`` only reports a root that is in a final block (BFT finality: no reorgs);
    - the contract refuses a root that is already anchored (``BatchAlreadyAnchored``), so the
      re-``submit`` that follows a crash between "transaction sent" and "transaction noted"
      can never anchor a root twice, even when ``lookup`` did not see the first one yet.
    """

    @abstractmethod
    def submit(self, batch: BatchAnchor) -> TxHash:
        """Send one transaction anchoring ``batch.root`` and return its hash.

        Does not wait for inclusion. Raises a ``NodeError`` subclass if the transaction
        cannot be sent.
        """

    @abstractmethod
    def lookup(self, root: MerkleHash) -> AnchorInfo | None:
        """Where ``root`` is anchored (transaction and block), or ``None``.

        ``None`` means not in a final block (yet). Read-only; any node's RPC can answer it.
        """
