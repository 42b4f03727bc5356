"""The Merkle tree of one DICOM study: study -> series -> instance.

A study is anchored as one record whose ``content_hash`` is the *study root* below, so one
instance can be proven alone: its proof chains instance -> series root -> study tree root ->
study root, and the record's batch proof takes it from there to the on-chain batch root.

Construction (every hash SHA-256, every tree an RFC 6962 tree from :mod:`node.proof.merkle`):

- instance leaf data ``= H(INSTANCE_TAG || uid(SOPInstanceUID) || sha256(instance bytes))``;
- a series tree over its instance leaves, ordered by SOPInstanceUID;
- series leaf data ``= H(SERIES_TAG || uid(SeriesInstanceUID) || series tree root)``;
- a study tree over the series leaves, ordered by SeriesInstanceUID;
- study root ``= H(STUDY_TAG || uid(StudyInstanceUID) || study tree root)``.

``uid(x)`` is one length byte followed by the UID's ASCII (DICOM UIDs are at most 64
characters of digits and dots), so no two (uid, hash) pairs share a preimage. Binding the
UIDs lets a verifier check that the proven instance is the one its header names.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass

from node.proof.merkle import MerkleTree, ProofStep, fold_path, leaf_hash
from node.typing import ContentHash, MerkleHash

INSTANCE_TAG = b"medledger:dicom-instance:v1\x00"
SERIES_TAG = b"medledger:dicom-series:v1\x00"
STUDY_TAG = b"medledger:dicom-study:v1\x00"
MAX_UID_LEN = 64
_UID_RE = re.compile(r"[0-9]+(\.[0-9]+)*")


def is_valid_uid(uid: str) -> bool:
    """True for a DICOM UID: 1..64 characters, digits and dots, no empty component."""
    return 0 < len(uid) <= MAX_UID_LEN and _UID_RE.fullmatch(uid) is not None


def encode_uid(uid: str) -> bytes:
    """Length-prefixed ASCII of a UID (raises ``ValueError`` for a malformed one)."""
    if not is_valid_uid(uid):
        raise ValueError("not a DICOM UID (1..64 digits and dots)")
    raw = uid.encode("ascii")
    return bytes([len(raw)]) + raw


def instance_leaf(sop_uid: str, instance_hash: bytes) -> bytes:
    return hashlib.sha256(INSTANCE_TAG + encode_uid(sop_uid) + instance_hash).digest()


def series_leaf(series_uid: str, series_root: bytes) -> bytes:
    return hashlib.sha256(SERIES_TAG + encode_uid(series_uid) + series_root).digest()


def study_root_of(study_uid: str, tree_root: bytes) -> ContentHash:
    return ContentHash(hashlib.sha256(STUDY_TAG + encode_uid(study_uid) + tree_root).digest())


@dataclass(frozen=True, slots=True)
class InstanceProof:
    """Path from one instance's content hash to its study root."""

    study_uid: str
    series_uid: str
    sop_uid: str
    instance_hash: ContentHash
    series_path: tuple[ProofStep, ...]
    study_path: tuple[ProofStep, ...]

    def study_root(self) -> ContentHash:
        """The study root this proof implies."""
        series_root = fold_path(
            leaf_hash(instance_leaf(self.sop_uid, self.instance_hash)), self.series_path
        )
        tree_root = fold_path(leaf_hash(series_leaf(self.series_uid, series_root)), self.study_path)
        return study_root_of(self.study_uid, tree_root)


class StudyTree:
    """The tree of one study, built from ``{series_uid: {sop_uid: instance_hash}}``."""

    def __init__(self, study_uid: str, series: Mapping[str, Mapping[str, bytes]]) -> None:
        if not series or any(not instances for instances in series.values()):
            raise ValueError("a study tree needs at least one instance in every series")
        self.study_uid = study_uid
        self._series_order = sorted(series)
        self._instance_order: dict[str, list[str]] = {}
        self._hashes: dict[tuple[str, str], ContentHash] = {}
        self._series_trees: dict[str, MerkleTree] = {}
        for s_uid in self._series_order:
            order = sorted(series[s_uid])
            self._instance_order[s_uid] = order
            for sop in order:
                self._hashes[(s_uid, sop)] = ContentHash(bytes(series[s_uid][sop]))
            self._series_trees[s_uid] = MerkleTree(
                [instance_leaf(sop, series[s_uid][sop]) for sop in order]
            )
        self._study_tree = MerkleTree(
            [series_leaf(s, self._series_trees[s].root) for s in self._series_order]
        )
        self.root: ContentHash = study_root_of(study_uid, self._study_tree.root)

    def series_root(self, series_uid: str) -> MerkleHash:
        return self._series_trees[series_uid].root

    def instance_proof(self, series_uid: str, sop_uid: str) -> InstanceProof:
        """The proof of one instance (``KeyError`` if the study has no such instance)."""
        instance_hash = self._hashes[(series_uid, sop_uid)]
        return InstanceProof(
            study_uid=self.study_uid,
            series_uid=series_uid,
            sop_uid=sop_uid,
            instance_hash=instance_hash,
            series_path=self._series_trees[series_uid].path(
                self._instance_order[series_uid].index(sop_uid)
            ),
            study_path=self._study_tree.path(self._series_order.index(series_uid)),
        )
