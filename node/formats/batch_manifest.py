"""The batch manifest: a batch's ordered commitments, published to the blob store.

Binary, fixed layout (the manifest CID goes on chain, so its bytes must be canonical)::

    b"MLBATCH1" | count u32 BE | root (32) | commitment_0 (32) | ... | commitment_{n-1} (32)

Commitments are salted (see :mod:`node.proof.commitment`), so the manifest is public-safe. With it,
an auditor rebuilds the Merkle tree of a batch from the chain and the blob store alone.
"""

from __future__ import annotations

import struct

from node.exceptions import ProofFormatError
from node.proof.merkle import MerkleTree
from node.typing import MerkleHash

MAGIC = b"MLBATCH1"
_HEAD = struct.Struct(">8sI32s")
MAX_COUNT = 1 << 20


def encode_manifest(root: MerkleHash, commitments: tuple[MerkleHash, ...]) -> bytes:
    if not commitments or len(commitments) > MAX_COUNT:
        raise ValueError(f"a batch manifest holds 1..{MAX_COUNT} commitments")
    return _HEAD.pack(MAGIC, len(commitments), root) + b"".join(commitments)


def decode_manifest(data: bytes) -> tuple[MerkleHash, tuple[MerkleHash, ...]]:
    """Parse and check a manifest: the commitments must lead to the root it names."""
    if len(data) < _HEAD.size:
        raise ProofFormatError("batch manifest truncated")
    magic, count, root = _HEAD.unpack_from(data)
    if magic != MAGIC:
        raise ProofFormatError("not a batch manifest")
    if not 1 <= count <= MAX_COUNT or len(data) != _HEAD.size + 32 * count:
        raise ProofFormatError("batch manifest length does not match its count")
    body = data[_HEAD.size :]
    commitments = tuple(MerkleHash(body[i * 32 : i * 32 + 32]) for i in range(count))
    if MerkleTree(commitments).root != root:
        raise ProofFormatError("batch manifest commitments do not lead to its root")
    return MerkleHash(root), commitments
