"""The instance ciphertexts of a granted DICOM study (its CID is only the encrypted manifest)."""

from __future__ import annotations

from contracts.typing import RecordKind
from keys.envelope import EncryptionKeyring
from keys.stream import decrypt_stream
from node.blobstore.abc import BlobStoreAPI
from node.blobstore.cid import normalize
from node.cases.crypto import dek_binding
from node.cases.package import PackageRecord
from node.cases.read.aad import manifest_aad
from node.exceptions import GrantPackageError, InvalidStudyManifest
from node.formats.study_manifest import MAX_MANIFEST_BYTES, parse_manifest
from node.typing import CID


def instance_cids(record: PackageRecord, *, store: BlobStoreAPI,
                  keyring: EncryptionKeyring) -> list[CID]:  # fmt: skip
    """The study's instance CIDs, read from its manifest (already in ``store``).

    Empty for records that are not DICOM studies. The manifest is decrypted with the
    granted key (bound to the record id and study root), so a grantor cannot slip in CIDs
    the study does not name.
    """
    if record.kind != RecordKind.DICOM_STUDY.text:
        return []
    dek = keyring.unwrap(record.wrapped_key, record_id=dek_binding(record.record_id))
    aad = manifest_aad(record)
    manifest = bytearray()
    for piece in decrypt_stream(dek, store.get(record.cid), aad=aad):
        manifest += piece
        if len(manifest) > MAX_MANIFEST_BYTES:
            raise GrantPackageError("a study manifest larger than any study we accept")
    try:
        parsed = parse_manifest(bytes(manifest))
    except InvalidStudyManifest as exc:
        raise GrantPackageError(str(exc)) from None
    return [normalize(i.cid) for i in parsed.instances]
