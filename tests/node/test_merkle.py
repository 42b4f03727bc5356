"""Merkle trees: RFC 6962 shape, every leaf's proof verifies, every mutation fails."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from node.proof.merkle import (
    MerkleTree,
    ProofStep,
    Side,
    fold_path,
    leaf_hash,
    level_sizes,
    node_hash,
    packed_path,
)


def rfc6962_mth(leaves: list[bytes]) -> bytes:
    """The RFC 6962 section 2.1 definition, written top-down independently of MerkleTree."""
    n = len(leaves)
    if n == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    k = 1
    while k * 2 < n:
        k *= 2
    return hashlib.sha256(b"\x01" + rfc6962_mth(leaves[:k]) + rfc6962_mth(leaves[k:])).digest()


leaf_lists = st.lists(st.binary(max_size=40), min_size=1, max_size=70)


@given(leaf_lists)
def test_root_equals_rfc6962_definition_for_any_size(leaves: list[bytes]) -> None:
    assert MerkleTree(leaves).root == rfc6962_mth(leaves)


def test_rfc6962_known_shape_for_three_leaves() -> None:
    a, b, c = (leaf_hash(x) for x in (b"a", b"b", b"c"))
    assert MerkleTree([b"a", b"b", b"c"]).root == node_hash(node_hash(a, b), c)


def test_leaf_and_node_hashes_are_domain_separated() -> None:
    # A two-leaf tree's root must differ from the leaf hash of the concatenated children.
    tree = MerkleTree([b"x", b"y"])
    forged_leaf = leaf_hash(tree.leaf(0) + tree.leaf(1))
    assert tree.root != forged_leaf
    assert MerkleTree([tree.leaf(0) + tree.leaf(1)]).root != tree.root


@given(leaf_lists)
def test_every_leaf_proof_of_any_tree_size_verifies(leaves: list[bytes]) -> None:
    tree = MerkleTree(leaves)
    for i, data in enumerate(leaves):
        path = tree.path(i)
        assert len(path) <= max(1, len(leaves)).bit_length()
        assert fold_path(leaf_hash(data), path) == tree.root


@given(leaf_lists)
def test_paths_read_from_the_packed_levels_are_the_trees_paths(leaves: list[bytes]) -> None:
    tree = MerkleTree(leaves)
    packed = tree.packed()
    assert len(packed) == 32 * sum(level_sizes(len(leaves)))
    assert packed.endswith(tree.root) and packed.startswith(tree.leaf(0))

    def read(offset: int, length: int) -> bytes:
        assert 0 <= offset and offset + length <= len(packed)  # never reads past the levels
        return packed[offset : offset + length]

    for i in range(len(leaves)):
        assert packed_path(read, len(leaves), i) == tree.path(i)
    with pytest.raises(IndexError):
        packed_path(read, len(leaves), len(leaves))


@given(leaf_lists, st.data())
def test_any_single_mutation_of_leaf_or_path_fails(
    leaves: list[bytes], data: st.DataObject
) -> None:
    tree = MerkleTree(leaves)
    i = data.draw(st.integers(0, len(leaves) - 1))
    path = list(tree.path(i))
    leaf = leaves[i]
    kinds = ["leaf"] + (["side", "sibling", "drop", "extra"] if path else ["extra"])
    kind = data.draw(st.sampled_from(kinds))
    if kind == "leaf":
        leaf = leaf + b"\x00"
    elif kind == "side":
        j = data.draw(st.integers(0, len(path) - 1))
        path[j] = ProofStep(Side(1 - path[j].side), path[j].sibling)
    elif kind == "sibling":
        j = data.draw(st.integers(0, len(path) - 1))
        bit = data.draw(st.integers(0, 255))
        sib = bytearray(path[j].sibling)
        sib[bit // 8] ^= 1 << (bit % 8)
        path[j] = ProofStep(path[j].side, bytes(sib))  # type: ignore[arg-type]
    elif kind == "drop":
        del path[data.draw(st.integers(0, len(path) - 1))]
    else:
        path.append(ProofStep(Side.RIGHT, tree.root))
    # Swapping the side of a step whose sibling equals the running hash is a no-op; the
    # leaves here are distinct-by-hash almost surely, and equal siblings are excluded:
    if kind == "side" and fold_path(leaf_hash(leaf), path[:j]) == path[j].sibling:
        return
    assert fold_path(leaf_hash(leaf), path) != tree.root


def test_empty_tree_and_out_of_range_index_are_refused() -> None:
    with pytest.raises(ValueError, match="at least one leaf"):
        MerkleTree([])
    with pytest.raises(IndexError):
        MerkleTree([b"a"]).path(1)
