"""Walk a file DAG in order, verifying every block's hash before releasing a byte of it.

Shared by every backend: a backend only has to fetch raw block bytes by CID; it is never
trusted to have checked them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator

from node.blobstore import cid as cidlib
from node.blobstore.dagpb import FileNode, decode_file_node
from node.exceptions import CorruptedBlock, InvalidCID
from node.typing import CID

#: Returns the raw bytes of a block (unverified); raises BlobNotFound when absent.
FetchBlock = Callable[[CID], bytes]


def verified_block(cid: CID, fetch: FetchBlock) -> tuple[int, bytes]:
    """Fetch a block and check it hashes to ``cid``; return ``(codec, bytes)``."""
    codec, digest = cidlib.parse(cid)
    block = fetch(cid)
    if hashlib.sha256(block).digest() != digest:
        raise CorruptedBlock(f"block {cid} does not match its hash")
    return codec, block


def decode_node(cid: CID, block: bytes) -> FileNode:
    """Decode a verified dag-pb block, turning a malformed one into :class:`CorruptedBlock`."""
    try:
        return decode_file_node(block)
    except ValueError as exc:
        raise CorruptedBlock(f"block {cid} is not a UnixFS file node: {exc}") from exc


def content_size(cid: CID, fetch: FetchBlock) -> int:
    """Size of the file under ``cid``, read from its root block alone."""
    codec, block = verified_block(cid, fetch)
    return len(block) if codec == cidlib.RAW else decode_node(cid, block).filesize


def walk(root: CID, fetch: FetchBlock) -> Iterator[bytes]:
    """Yield the file's content block by block, depth first, left to right.

    Memory is bounded by depth  x  links per node; sizes declared by parents are checked
    against what the children hold, so a consistent-looking but lying DAG is refused too.
    """
    stack: list[tuple[CID, int | None]] = [(root, None)]
    while stack:
        cid, expected = stack.pop()
        codec, block = verified_block(cid, fetch)
        if codec == cidlib.RAW:
            size = len(block)
            payload: bytes | None = block
        else:
            node = decode_node(cid, block)
            size, payload = node.filesize, node.data
            for link in reversed(node.links):
                child = cidlib.cid_text(_checked_binary(cid, link.cid))
                stack.append((child, link.content_size))
        if expected is not None and size != expected:
            raise CorruptedBlock(f"block {cid} holds {size} bytes, its parent says {expected}")
        if payload:
            yield payload


def _checked_binary(parent: CID, binary: bytes) -> bytes:
    try:
        cidlib.parse_binary(binary)
    except InvalidCID as exc:
        raise CorruptedBlock(f"block {parent} links to an unusable CID: {exc}") from exc
    return binary
