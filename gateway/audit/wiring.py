"""Building a chain-backed audit trail from what an operator configures (RPC, addresses, store).

The CLI uses it, and so can whatever assembles a gateway's ``Services``::

    trail = open_trail(rpc="http://127.0.0.1:8545", contracts=Path("contracts.json"))
    Services(..., audit=trail, trail=trail)
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from contracts.deploy import connect
from gateway.audit.deployment_file import BadDeployment, load_suite
from gateway.audit.trail import ChainAuditTrail
from node.blobstore.abc import BlobStoreAPI
from node.blobstore.embedded import EmbeddedBlobStore
from node.blobstore.kubo import KuboBlobStore


def open_blob_store(spec: str) -> BlobStoreAPI:
    """An embedded store directory (must exist: never create one by typo) or a Kubo RPC URL.

    Raises
    ------
    BadDeployment
        The directory is not an embedded blob store.
    """
    if spec.startswith(("http://", "https://")):
        return KuboBlobStore(spec)
    path = Path(spec)
    if not (path / "FORMAT").is_file():
        raise BadDeployment(f"{spec} is not an embedded blob store (no FORMAT file)")
    return EmbeddedBlobStore(path)


def open_trail(
    *,
    rpc: str,
    contracts: Path | None,
    overrides: Mapping[str, str | None] | None = None,
    blob_store: str | None = None,
) -> ChainAuditTrail:
    """A trail reading ``rpc`` for the suite named by ``contracts`` / ``overrides``.

    Nothing is contacted yet; the first trace reads the chain.

    Raises
    ------
    BadDeployment
        Unusable contracts file, addresses or blob store path.
    """
    suite = load_suite(contracts, overrides or {})
    blobs = open_blob_store(blob_store) if blob_store is not None else None
    return ChainAuditTrail(connect(rpc), suite.deployment, from_block=suite.from_block, blobs=blobs)
