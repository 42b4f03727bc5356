"""The Kubo backend: the Kubo RPC HTTP API (``/api/v0/…``) through httpx.

``put`` streams the bytes to ``add`` with the profile's parameters passed explicitly on every
call (``cid-version=1``, ``raw-leaves=true``, ``chunker=size-N``, ``trickle=false`` for the
balanced layout, and ``max-file-links=N``, Kubo's experimental per-call override of
``Import.UnixFSFileMaxLinks``) while computing the CID ourselves in the same pass, and refuses
the result (:class:`CIDMismatch`) if the daemon's CID differs: a daemon that ignores one of
these parameters (js-ipfs ignores ``max-file-links``) cannot go unnoticed.

``get`` fetches raw blocks (``block/get``) and verifies each against its CID before releasing
a byte, so the daemon is never trusted; ``cat`` is offered for speed and verifies the whole
stream only at its end (bytes already released must then be discarded).

Every call has a timeout; connection failures are retried with backoff, then reported as
:class:`DaemonUnreachable` naming the URL (see :mod:`node.blobstore.rpc`).
``ipfshttpclient`` is not used: its last release (2021) refuses every Kubo >= 0.8.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator

import httpx

from node.blobstore import cid as cidlib
from node.blobstore import reader
from node.blobstore.abc import BlobStoreAPI
from node.blobstore.chunker import fixed_size
from node.blobstore.layout import BalancedBuilder
from node.blobstore.multipart import boundary, file_part
from node.blobstore.profile import DEFAULT_PROFILE, Profile
from node.blobstore.rpc import RpcClient
from node.exceptions import BlobNotFound, BlobStoreError, CIDMismatch, CorruptedBlock, DaemonError
from node.typing import CID

#: Kubo refuses blocks over 2 MiB (bitswap's limit); ours are at most 1 MiB + a few bytes.
MAX_BLOCK_SIZE = 4 * 1024 * 1024


class KuboBlobStore(BlobStoreAPI):
    """Blob store backed by an IPFS daemon speaking the Kubo RPC API.

    Parameters
    ----------
    api_url
        Base URL of the RPC API, e.g. ``http://127.0.0.1:5001``.
    profile
        Import profile; its parameters go on every ``add``.
    timeout
        Seconds for connect/read/write of one request.
    retries
        Extra attempts after a connection failure (never after a request was sent).
    lookup_timeout
        How long the daemon may search for a block before we call it absent (sent as the
        RPC ``timeout`` option; the daemon runs offline, so absent means absent).
    """

    def __init__(
        self,
        api_url: str,
        *,
        profile: Profile = DEFAULT_PROFILE,
        timeout: float = 30.0,
        retries: int = 3,
        lookup_timeout: float = 2.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.profile = profile
        self._rpc = RpcClient(api_url, timeout=timeout, retries=retries, transport=transport)
        self.api_url = self._rpc.api_url
        self._lookup = f"{lookup_timeout}s"

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._rpc.close()

    def put(self, source: Iterable[bytes], *, pin: bool = True) -> CID:
        """Stream ``source`` to ``add`` and check the daemon's CID against ours."""
        builder = BalancedBuilder(profile=self.profile)

        def tee() -> Iterator[bytes]:
            for chunk in fixed_size(source, self.profile.chunk_size):
                builder.add_leaf(chunk)
                yield chunk

        mark = boundary()
        params = {
            "cid-version": "1",
            "raw-leaves": "true",
            "chunker": self.profile.chunker,
            "trickle": "false",
            "max-file-links": str(self.profile.max_links),
            "hash": "sha2-256",
            "cid-base": "base32",
            "pin": "true" if pin else "false",
            "progress": "false",
        }
        request = self._rpc.request(
            "add",
            params,
            content=file_part(tee(), boundary=mark),
            headers={"Content-Type": f"multipart/form-data; boundary={mark}"},
        )
        lines = list(self._rpc.lines(self._rpc.send(request), "add"))
        ours = builder.finish()
        try:
            theirs = json.loads(lines[-1])["Hash"]
        except (IndexError, KeyError, ValueError) as exc:
            raise DaemonError("add: the daemon's answer has no Hash") from exc
        if theirs != ours:
            if pin:
                self._unpin_quietly(theirs)  # leave no pin on a layout we do not recognise
            raise CIDMismatch(
                f"daemon stored the bytes as {theirs}, we computed {ours} "
                f"(is the daemon configured for profile {self.profile.name}?)"
            )
        return ours

    def _unpin_quietly(self, cid: str) -> None:
        try:
            self._rpc.call("pin/rm", arg=cid, recursive="true")
        except BlobStoreError:
            pass  # best effort: the CID mismatch is the error to report

    def _block(self, cid: CID) -> bytes:
        """Raw bytes of one block, refusing a daemon that sends more than any block holds."""
        block = bytearray()
        for piece in self._rpc.stream("block/get", arg=cid, timeout=self._lookup):
            block += piece
            if len(block) > MAX_BLOCK_SIZE:
                raise CorruptedBlock(
                    f"block {cid}: the daemon sent more than {MAX_BLOCK_SIZE} bytes"
                )
        return bytes(block)

    def get(self, cid: CID) -> Iterator[bytes]:
        """Walk the DAG block by block, verifying each block before releasing it."""
        return reader.walk(cidlib.normalize(cid), self._block)

    def block(self, cid: CID) -> bytes:
        """One raw block (``block/get``), verified against its CID."""
        return reader.verified_block(cidlib.normalize(cid), self._block)[1]

    def cat(self, cid: CID) -> Iterator[bytes]:
        """Stream ``cat``; the whole stream's CID is checked at the end (after release)."""
        cid = cidlib.normalize(cid)
        builder = BalancedBuilder(profile=self.profile)
        raw = self._rpc.stream("cat", arg=cid, timeout=self._lookup)
        for chunk in fixed_size(raw, self.profile.chunk_size):
            builder.add_leaf(chunk)
            yield chunk
        if builder.finish() != cid:
            raise CorruptedBlock(f"the content served for {cid} does not hash to it")

    def has(self, cid: CID) -> bool:
        """``block/stat`` on the root, offline, with the lookup timeout."""
        try:
            self._rpc.call(
                "block/stat", arg=cidlib.normalize(cid), offline="true", timeout=self._lookup
            )
        except BlobNotFound:
            return False
        return True

    def size(self, cid: CID) -> int:
        """Content size read from the verified root block."""
        return reader.content_size(cidlib.normalize(cid), self._block)

    def pin(self, cid: CID) -> None:
        """``pin/add`` (recursive); the daemon fetches every block, so absence is detected."""
        self._rpc.call("pin/add", arg=cidlib.normalize(cid), recursive="true", timeout=self._lookup)

    def unpin(self, cid: CID) -> None:
        """``pin/rm``."""
        self._rpc.call("pin/rm", arg=cidlib.normalize(cid), recursive="true")

    def pins(self) -> set[CID]:
        """``pin/ls`` of recursive pins, normalized to base32."""
        answer = self._rpc.call("pin/ls", type="recursive", **{"cid-base": "base32"})
        keys = (answer or {}).get("Keys") or {}
        return {cidlib.normalize(key) for key in keys}

    def gc(self) -> int:
        """``repo/gc``; counts the keys the daemon reports as removed."""
        removed = 0
        for line in self._rpc.lines(self._rpc.send(self._rpc.request("repo/gc", {})), "repo/gc"):
            entry = json.loads(line)
            if entry.get("Error"):
                raise DaemonError(f"repo/gc: {entry['Error']}")
            removed += 1
        return removed
