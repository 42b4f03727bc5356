"""``AnchorSinkAPI`` on the ``Anchors`` contract: one ``anchorBatch`` per outbox batch."""

from __future__ import annotations

import logging

from node.abc import AnchorSinkAPI, BlobStoreAPI
from node.batch_manifest import encode_manifest
from node.chain import ChainClient
from node.entry import BatchAnchor
from node.exceptions import BatchAlreadyAnchored, ChainError, ChainUnavailable
from node.proof import AnchorInfo
from node.typing import MerkleHash, TxHash

log = logging.getLogger(__name__)

#: A batch anchor costs a bounded amount of gas (fixed storage + event); a fixed limit saves
#: the estimate round trip only when the caller asks for it, see ``ChainAnchorSink.fixed_gas``.
ANCHOR_BATCH_GAS = 300_000


class ChainAnchorSink(AnchorSinkAPI):
    """Publish the manifest, anchor ``(root, count, manifestCid)``, find roots by event.

    Parameters
    ----------
    chain
        A chain client; a read-only one (no account) is enough for ``lookup``.
    blobs
        Where manifests go; ``None`` for a lookup-only sink (``verify``).
    """

    def __init__(self, *, chain: ChainClient, blobs: BlobStoreAPI | None = None) -> None:
        self.chain = chain
        self.blobs = blobs
        self._anchors = chain.contract("Anchors")

    def submit(self, batch: BatchAnchor) -> TxHash:
        if self.blobs is None:
            raise ChainError("this anchor sink has no blob store for manifests")
        manifest_cid = self.blobs.put([encode_manifest(batch.root, batch.commitments)], pin=True)
        fn = self._anchors.functions.anchorBatch(batch.root, batch.size, manifest_cid)
        try:
            return self.chain.send(fn)
        except BatchAlreadyAnchored:
            # A crash after sending: the first transaction landed. Report where it is.
            found = self.lookup(batch.root)
            if found is None:
                raise
            log.info("batch %d was already anchored; not sent again", batch.batch_id)
            return found.tx_hash

    def lookup(self, root: MerkleHash) -> AnchorInfo | None:
        try:
            logs = self._anchors.events.BatchAnchored.get_logs(
                argument_filters={"root": root}, from_block=0, to_block="latest"
            )
        except OSError as exc:
            raise ChainUnavailable(f"chain RPC failed: {exc}") from exc
        for entry in logs:
            if bytes(entry["args"]["root"]) == root:
                return AnchorInfo(TxHash(bytes(entry["transactionHash"])), entry["blockNumber"])
        return None
