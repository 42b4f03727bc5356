"""Interfaces of anchoring: the chain as the outbox's drain sees it (the anchor sink)."""

from __future__ import annotations

from abc import ABC, abstractmethod

from node.anchor.entry import OutboxBatch
from node.proof.record import AnchorInfo
from node.typing import MerkleHash, TxHash


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
    def submit(self, batch: OutboxBatch) -> TxHash:
        """Send one transaction anchoring ``batch.root`` and return its hash.

        Does not wait for inclusion. Raises a ``NodeError`` subclass if the transaction
        cannot be sent.
        """

    @abstractmethod
    def lookup(self, root: MerkleHash) -> AnchorInfo | None:
        """Where ``root`` is anchored (transaction and block), or ``None``.

        ``None`` means not in a final block (yet). Read-only; any node's RPC can answer it.
        """
