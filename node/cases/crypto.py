"""Re-wrap our data keys for a grantee, and read a record back (unwrap, decrypt, re-hash).

The DEK of a record is wrapped with the associated data ``DEK_AD + record_id`` (ingest's
convention, passed to :mod:`keys.envelope` as its ``record_id`` binding), so a key wrapped
for one record never unwraps for another, for us or for a grantee.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

from keys.datakey import DataKey
from keys.envelope import EncryptionKeyring, EncryptionPublicKey
from keys.exceptions import UnwrapError
from keys.stream import decrypt_stream
from keys.typing import RecordId
from node.blobstore.abc import BlobStoreAPI
from node.exceptions import RecordKeyUnavailable
from node.ingest.core import DEK_AD, PAYLOAD_AD
from node.typing import CID, ContentHash


def own_data_key(keyring: EncryptionKeyring, wrapped: bytes, *, record_id: bytes) -> DataKey:
    """Unwrap one of our own records' DEKs; a shredded record is a clear error."""
    try:
        return keyring.unwrap(wrapped, record_id=dek_binding(record_id))
    except UnwrapError:
        raise RecordKeyUnavailable(
            f"record {record_id.hex()} has no usable data key here (shredded or retired key)"
        ) from None


def dek_binding(record_id: bytes) -> bytes:
    """What a record's wrapped DEK is bound to (ingest's ``DEK_AD + record_id``)."""
    return DEK_AD + record_id


def rewrap_for(keyring: EncryptionKeyring, wrapped: bytes, *, record_id: bytes,
               recipient: EncryptionPublicKey) -> bytes:  # fmt: skip
    """Unwrap one of our DEKs and seal it to another hospital's key, same record binding."""
    dek = own_data_key(keyring, wrapped, record_id=record_id)
    return recipient.wrap(dek, record_id=dek_binding(record_id)).to_bytes()


def open_record(
    *,
    store: BlobStoreAPI,
    keyring: EncryptionKeyring,
    cid: CID,
    record_id: RecordId,
    content_hash: ContentHash,
    wrapped_key: bytes,
) -> bytes:
    """Fetch, unwrap, decrypt and re-hash one FHIR-kind record; raise if anything differs.

    Raises ``keys.exceptions.UnwrapError``/``DecryptionError`` for a wrong key or tampered
    ciphertext, and :class:`ValueError` when the plaintext does not hash to ``content_hash``.
    """
    dek = keyring.unwrap(wrapped_key, record_id=dek_binding(record_id))
    chunks: Iterator[bytes] = decrypt_stream(
        dek, store.get(cid), aad=PAYLOAD_AD + record_id + content_hash
    )
    plaintext = b"".join(chunks)
    if hashlib.sha256(plaintext).digest() != content_hash:
        raise ValueError("decrypted record does not match its content hash")
    return plaintext
