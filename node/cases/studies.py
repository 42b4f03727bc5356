"""The instance ciphertexts of a granted DICOM study (its CID is only the encrypted manifest)."""

from __future__ import annotations

import json

from keys.envelope import EncryptionKeyring
from keys.stream import decrypt_stream
from node.anchor.entry import RecordKind
from node.blobstore.abc import BlobStoreAPI
from node.blobstore.cid import normalize
from node.cases.crypto import dek_binding
from node.cases.package import PackageRecord
from node.cases.read.aad import manifest_aad
from node.exceptions import GrantPackageError
from node.typing import CID

MAX_MANIFEST_BYTES = 16 * 1024 * 1024


def instance_cids(record: PackageRecord, *, store: BlobStoreAPI,
                  keyring: EncryptionKeyring) -> list[CID]:  # fmt: skip
    """The study's instance CIDs, read from its manifest (already in ``store``).

    Empty for records that are not DICOM studies. The manifest is decrypted with the
    granted key (bound to the record id and study root), so a grantor cannot slip in CIDs
    the study does not name.
    """
    if record.kind != RecordKind.DICOM_STUDY.value:
        return []
    dek = keyring.unwrap(record.wrapped_key, record_id=dek_binding(record.record_id))
    aad = manifest_aad(record)
    manifest = bytearray()
    for piece in decrypt_stream(dek, store.get(record.cid), aad=aad):
        manifest += piece
        if len(manifest) > MAX_MANIFEST_BYTES:
            raise GrantPackageError("a study manifest larger than any study we accept")
    try:
        # study manifest: parse via node.formats
        doc = json.loads(manifest)
        return [normalize(i["cid"]) for s in doc["series"] for i in s["instances"]]
    except (ValueError, KeyError, TypeError) as exc:
        raise GrantPackageError(f"malformed study manifest: {exc}") from None
