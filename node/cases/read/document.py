"""A FHIR-kind granted record (a resource, a prescription): one document, one ciphertext."""

from __future__ import annotations

from contracts.typing import RecordKind
from keys.datakey import DataKey
from keys.envelope import EncryptionKeyring
from keys.exceptions import KeysError
from node.blobstore.abc import BlobStoreAPI
from node.cases.crypto import dek_binding
from node.cases.package import PackageRecord
from node.cases.read.aad import payload_aad
from node.cases.read.plaintext import verified_plaintext
from node.exceptions import ContentHashMismatch

#: What each document kind is read back as (FHIR resources and prescriptions are FHIR JSON).
MEDIA_TYPES = {
    RecordKind.RECORD.text: "application/fhir+json",
    RecordKind.PRESCRIPTION.text: "application/fhir+json",
}
#: The kind whose CID is an encrypted study manifest (:mod:`node.cases.read.study`).
STUDY = RecordKind.DICOM_STUDY.text


def granted_key(keyring: EncryptionKeyring, record: PackageRecord) -> DataKey:
    """The record's data key, unwrapped with our keyring (bound to the record id)."""
    try:
        return keyring.unwrap(record.wrapped_key, record_id=dek_binding(record.record_id))
    except KeysError as exc:
        raise ContentHashMismatch(
            "the record's key does not unwrap", record_id=bytes(record.record_id)
        ) from exc


def document_bytes(record: PackageRecord, *, dek: DataKey, blobs: BlobStoreAPI) -> bytes:
    """The record's plaintext, decrypted and re-hashed against its anchored content hash."""
    return verified_plaintext(blobs=blobs, cid=record.cid, dek=dek, aad=payload_aad(record),
                              sha256=record.content_hash, what="the record",
                              record_id=bytes(record.record_id))  # fmt: skip
