"""DICOM instances of a granted study, opened from our node's blob store and verified.

A study record's CID is its encrypted manifest (study UID, per-series instance UIDs,
SHA-256 and CID of each instance, see ``node.ingest``). Here the manifest is decrypted
with the granted data key, its instance hashes must rebuild the study root that is the
record's content hash (``node.study_tree``), and each instance is decrypted, re-hashed
against the manifest's hash and only then parsed or handed over.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass

import pydicom
from pydicom.errors import InvalidDicomError

from gateway.exceptions import ContentMismatch, IntegrityError
from gateway.wiring.plaintext import verified_plaintext
from keys.datakey import DataKey
from keys.envelope import EncryptionKeyring
from keys.exceptions import KeysError
from keys.stream import decrypt_stream
from node.blobstore.abc import BlobStoreAPI
from node.blobstore.cid import normalize
from node.cases.crypto import dek_binding
from node.cases.package import PackageRecord
from node.exceptions import NodeError
from node.ingest.core import INSTANCE_AD, MANIFEST_AD
from node.proof.study_tree import StudyTree

MAX_MANIFEST_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class StudyInstance:
    study_uid: str
    series_uid: str
    sop_uid: str
    sha256: bytes
    cid: str


def _decrypt(dek: DataKey, blobs: BlobStoreAPI, cid: str, aad: bytes) -> bytes:
    return b"".join(decrypt_stream(dek, blobs.get(normalize(cid)), aad=aad))


def study_instances(
    record: PackageRecord, *, blobs: BlobStoreAPI, keyring: EncryptionKeyring
) -> tuple[DataKey, list[StudyInstance]]:
    """The study's data key and its instances, the manifest checked against the study root."""
    try:
        dek = keyring.unwrap(record.wrapped_key, record_id=dek_binding(record.record_id))
        raw = _decrypt(dek, blobs, record.cid, MANIFEST_AD + record.record_id + record.content_hash)
        if len(raw) > MAX_MANIFEST_BYTES:
            raise IntegrityError("study manifest too large")
        doc = json.loads(raw)
        study_uid = str(doc["study_uid"])
        items = [
            StudyInstance(study_uid, str(s["series_uid"]), str(i["sop_uid"]),
                          bytes.fromhex(i["sha256"]), str(i["cid"]))
            for s in doc["series"] for i in s["instances"]
        ]  # fmt: skip
    except (KeysError, NodeError, ValueError, KeyError, TypeError) as exc:
        raise IntegrityError("the study manifest cannot be opened") from exc
    tree: dict[str, dict[str, bytes]] = {}
    for item in items:
        tree.setdefault(item.series_uid, {})[item.sop_uid] = item.sha256
    if not items or StudyTree(study_uid, tree).root != bytes(record.content_hash):
        raise ContentMismatch("the study manifest does not rebuild the anchored study root")
    return dek, items


def instance_bytes(
    record: PackageRecord, item: StudyInstance, *, dek: DataKey, blobs: BlobStoreAPI
) -> bytes:
    """One instance's Part 10 bytes, decrypted and re-hashed (one pass) against the manifest."""
    return verified_plaintext(blobs=blobs, cid=item.cid, dek=dek, sha256=item.sha256,
                              aad=INSTANCE_AD + record.record_id + item.sha256,
                              what="a DICOM instance")  # fmt: skip


def header_of(data: bytes) -> pydicom.Dataset:
    """The instance's attributes without pixel data (QIDO and metadata answers)."""
    try:
        return pydicom.dcmread(io.BytesIO(data), stop_before_pixels=True)
    except (InvalidDicomError, ValueError, EOFError) as exc:
        raise IntegrityError("a verified DICOM instance does not parse") from exc
