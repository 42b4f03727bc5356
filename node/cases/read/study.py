"""DICOM instances of a granted study, opened from our own blob store and verified.

A study record's CID is its encrypted manifest (study UID, per-series instance UIDs,
SHA-256 and CID of each instance, see ``node.ingest.core``). Here the manifest is decrypted
with the granted data key, its instance hashes must rebuild the study root that is the
record's content hash (``node.proof.study_tree``), and each instance is decrypted, re-hashed
against the manifest's hash and only then parsed or handed over.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import pydicom
from pydicom.errors import InvalidDicomError

from keys.datakey import DataKey
from keys.envelope import EncryptionKeyring
from keys.exceptions import KeysError
from keys.stream import decrypt_stream
from node.blobstore.abc import BlobStoreAPI
from node.blobstore.cid import normalize
from node.cases.crypto import dek_binding
from node.cases.package import PackageRecord
from node.cases.read.aad import instance_aad, manifest_aad
from node.cases.read.plaintext import verified_plaintext
from node.exceptions import ContentHashMismatch, InstanceUnparsable, NodeError, StudyUnreadable
from node.formats.study_manifest import parse_manifest
from node.proof.study_tree import StudyTree


@dataclass(frozen=True, slots=True)
class StudyInstance:
    """One instance as the study manifest names it."""

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
    """The study's data key and its instances, the manifest checked against the study root.

    Raises
    ------
    StudyUnreadable
        The manifest does not unwrap, decrypt or parse, or is too large.
    ContentHashMismatch
        Its instance hashes do not rebuild the anchored study root.
    """
    rid = bytes(record.record_id)
    try:
        dek = keyring.unwrap(record.wrapped_key, record_id=dek_binding(record.record_id))
        raw = _decrypt(dek, blobs, record.cid, manifest_aad(record))
        manifest = parse_manifest(raw)
        study_uid = manifest.study_uid
        items = [
            StudyInstance(study_uid, i.series_uid, i.sop_uid, i.sha256, i.cid)
            for i in manifest.instances
        ]
    except StudyUnreadable:
        raise
    except (KeysError, NodeError, ValueError, KeyError, TypeError) as exc:
        raise StudyUnreadable("the study manifest cannot be opened", record_id=rid) from exc
    if not items or StudyTree(study_uid, manifest.tree()).root != bytes(record.content_hash):
        raise ContentHashMismatch(
            "the study manifest does not rebuild the anchored study root", record_id=rid
        )
    return dek, items


def instance_bytes(
    record: PackageRecord, item: StudyInstance, *, dek: DataKey, blobs: BlobStoreAPI
) -> bytes:
    """One instance's Part 10 bytes, decrypted and re-hashed (one pass) against the manifest."""
    return verified_plaintext(blobs=blobs, cid=item.cid, dek=dek, sha256=item.sha256,
                              aad=instance_aad(record, item.sha256), what="a DICOM instance",
                              record_id=bytes(record.record_id))  # fmt: skip


def instance_header(data: bytes) -> pydicom.Dataset:
    """The instance's attributes without pixel data (what searches and metadata answer)."""
    try:
        return pydicom.dcmread(io.BytesIO(data), stop_before_pixels=True)
    except (InvalidDicomError, ValueError, EOFError) as exc:
        raise InstanceUnparsable("a verified DICOM instance does not parse") from exc
