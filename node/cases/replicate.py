"""Copy a blob from another hospital's node into ours, trusting nothing it sends.

The peer serves raw blocks (``GET {endpoint}/blocks/{cid}``); :func:`node.blobstore.reader.walk`
re-verifies every block against its CID and every declared size, and our store re-imports the
content, which must give the same CID (both nodes use the same import profile).
"""

from __future__ import annotations

import httpx

from node.blobstore import cid as cidlib
from node.blobstore import reader
from node.blobstore.abc import BlobStoreAPI
from node.exceptions import BlobNotFound, CorruptedBlock, PeerUnavailable
from node.typing import CID

#: Larger than any block our profiles write (1 MiB leaves), with room for a dag-pb node.
MAX_BLOCK_BYTES = 2 * 1024 * 1024


class BlockFetcher:
    """Raw blocks from one peer node over HTTP (unverified here; the walker verifies)."""

    def __init__(self, endpoint: str, *, client: httpx.Client | None = None) -> None:
        self._base = endpoint.rstrip("/")
        self._client = client or httpx.Client(timeout=10.0)

    def __call__(self, cid: CID) -> bytes:
        try:
            with self._client.stream("GET", f"{self._base}/blocks/{cid}") as resp:
                if resp.status_code == 404:
                    raise BlobNotFound(f"peer has no block {cid}")
                if resp.status_code != 200:
                    raise PeerUnavailable(f"peer answered {resp.status_code} for block {cid}")
                data = bytearray()
                for piece in resp.iter_bytes():
                    data += piece
                    if len(data) > MAX_BLOCK_BYTES:
                        raise CorruptedBlock(f"peer sent more than a block's size for {cid}")
                return bytes(data)
        except httpx.HTTPError as exc:
            raise PeerUnavailable(f"peer {self._base} unreachable: {exc}") from exc


def fetch_bytes(cid: CID, fetch: reader.FetchBlock, *, limit: int) -> bytes:
    """A small blob (a grant package) read from a peer, verified, at most ``limit`` bytes."""
    out = bytearray()
    for piece in reader.walk(cidlib.normalize(cid), fetch):
        out += piece
        if len(out) > limit:
            raise CorruptedBlock(f"{cid} is larger than {limit} bytes")
    return bytes(out)


def replicate(cid: CID, *, fetch: reader.FetchBlock, store: BlobStoreAPI) -> bool:
    """Make ``cid`` present and pinned in ``store``; return whether it had to be copied."""
    cid = cidlib.normalize(cid)
    if store.has(cid):
        try:
            store.pin(cid)  # walks the DAG: a partial local copy fails here, not later
            return False
        except BlobNotFound:
            pass  # some child block is missing: copy the whole blob again
    copied = store.put(reader.walk(cid, fetch))
    if copied != cid:
        store.unpin(copied)
        raise CorruptedBlock(f"re-importing {cid} gave {copied}: import profiles differ")
    return True
