"""Binary Merkle trees hashed as RFC 6962 / RFC 9162 (Certificate Transparency) does.

Why this shape: leaf and interior hashes are domain-separated (``0x00`` / ``0x01``
prefixes), so a leaf can never be presented as an interior node (no second-preimage
ambiguity), and an odd node is not duplicated (duplication, as in Bitcoin, lets two different
leaf lists share a root). RFC 6962 defines the tree top-down (split at the largest power of two
below ``n``); building it bottom-up and promoting a lone last node to the next level unchanged
gives the same tree, which is what :class:`MerkleTree` does in O(n).

Inclusion proofs are ordered sibling hashes, leaf to root, each marked with the side the
sibling sits on, so that proofs of nested trees (instance -> series -> study -> batch) compose
by concatenation of steps and wrapping hashes, and a verifier needs no tree size.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from node.typing import MerkleHash

HASH_LEN = 32
LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
#: A path longer than this cannot come from a tree we could ever build (2**64 leaves).
MAX_PATH_STEPS = 64


class Side(enum.IntEnum):
    """Where the sibling sits relative to the running hash."""

    LEFT = 0
    RIGHT = 1


@dataclass(frozen=True, slots=True)
class ProofStep:
    """One level of an inclusion proof: the sibling hash and its side."""

    side: Side
    sibling: MerkleHash

    def __post_init__(self) -> None:
        if len(self.sibling) != HASH_LEN:
            raise ValueError("a Merkle sibling is 32 bytes")


def leaf_hash(data: bytes) -> MerkleHash:
    """RFC 6962 ``MTH({d}) = SHA-256(0x00 || d)``."""
    return MerkleHash(hashlib.sha256(LEAF_PREFIX + data).digest())


def node_hash(left: bytes, right: bytes) -> MerkleHash:
    """RFC 6962 interior node ``SHA-256(0x01 || left || right)``."""
    return MerkleHash(hashlib.sha256(NODE_PREFIX + left + right).digest())


def apply_step(running: bytes, step: ProofStep) -> MerkleHash:
    """Combine the running hash with one sibling."""
    if step.side is Side.LEFT:
        return node_hash(step.sibling, running)
    return node_hash(running, step.sibling)


def fold_path(start: bytes, steps: Sequence[ProofStep]) -> MerkleHash:
    """Walk a path from a node (usually a leaf hash) up to the root it implies."""
    running = MerkleHash(bytes(start))
    for step in steps:
        running = apply_step(running, step)
    return running


class MerkleTree:
    """An immutable tree over leaf data, with its root and every leaf's inclusion path.

    Parameters
    ----------
    leaves
        The leaf data in order (not yet hashed); at least one.
    """

    def __init__(self, leaves: Sequence[bytes]) -> None:
        if not leaves:
            raise ValueError("a Merkle tree needs at least one leaf")
        level = [leaf_hash(d) for d in leaves]
        self._levels: list[list[MerkleHash]] = [level]
        while len(level) > 1:
            nxt = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
            if len(level) % 2:
                nxt.append(level[-1])  # promoted unchanged, as RFC 6962's split implies
            self._levels.append(nxt)
            level = nxt

    @property
    def size(self) -> int:
        return len(self._levels[0])

    @property
    def root(self) -> MerkleHash:
        return self._levels[-1][0]

    def leaf(self, index: int) -> MerkleHash:
        """The hashed leaf at ``index``."""
        return self._levels[0][index]

    def path(self, index: int) -> tuple[ProofStep, ...]:
        """The inclusion path of leaf ``index``, ordered leaf to root."""
        if not 0 <= index < self.size:
            raise IndexError(f"leaf index {index} outside a tree of {self.size} leaves")
        steps: list[ProofStep] = []
        for level in self._levels[:-1]:
            sibling = index ^ 1
            if sibling < len(level):
                side = Side.LEFT if index & 1 else Side.RIGHT
                steps.append(ProofStep(side, level[sibling]))
            index //= 2
        return tuple(steps)

    def packed(self) -> bytes:
        """Every level's hashes, leaf level first, concatenated (see :func:`packed_path`).

        What the outbox keeps per batch instead of one stored proof per member: 64 bytes a
        leaf, written once with the batch, from which any member's path is read back with
        ``log2(n)`` slices and no hashing.
        """
        return b"".join(b"".join(level) for level in self._levels)


def level_sizes(size: int) -> list[int]:
    """How many hashes each level of a tree of ``size`` leaves holds, leaves first."""
    if size < 1:
        raise ValueError("a Merkle tree needs at least one leaf")
    sizes = [size]
    while sizes[-1] > 1:
        sizes.append((sizes[-1] + 1) // 2)  # pairs, plus a lone last node promoted
    return sizes


def packed_path(read: Callable[[int, int], bytes], size: int, index: int) -> tuple[ProofStep, ...]:
    """The inclusion path of leaf ``index`` in a tree of ``size`` leaves, from its levels.

    The levels are as :meth:`MerkleTree.packed` lays them out; ``read(offset, length)``
    returns bytes of them (a slice in memory, or a read of a stored blob).
    """
    if not 0 <= index < size:
        raise IndexError(f"leaf index {index} outside a tree of {size} leaves")
    steps: list[ProofStep] = []
    offset = 0
    for count in level_sizes(size)[:-1]:
        sibling = index ^ 1
        if sibling < count:
            side = Side.LEFT if index & 1 else Side.RIGHT
            at = offset + sibling * HASH_LEN
            steps.append(ProofStep(side, MerkleHash(read(at, HASH_LEN))))
        offset += count * HASH_LEN
        index //= 2
    return tuple(steps)


def merkle_root(leaves: Sequence[bytes]) -> MerkleHash:
    """Root of the tree over ``leaves`` (convenience for callers that need no paths)."""
    return MerkleTree(leaves).root
