"""Adapters from the keys package to the node's ingest interfaces, and the read-back path.

The DEK of a record is wrapped with the associated data ``DEK_AD + record_id`` (ingest's
convention, passed to :mod:`keys.envelope` as its ``record_id`` binding), so a key wrapped
for one record never unwraps for another, for us or for a grantee.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

from keys.datakey import DataKey
from keys.envelope import EncryptionKeyring, EncryptionPublicKey
from keys.stream import decrypt_stream, encrypt_stream
from node.abc import BlobStoreAPI, KeyWrapperAPI, PayloadCipherAPI, PayloadStoreAPI
from node.exceptions import BlobNotFound
from node.ingest import DEK_AD, PAYLOAD_AD
from node.typing import CID, ContentHash, RecordId


def dek_binding(record_id: bytes) -> bytes:
    """What a record's wrapped DEK is bound to (ingest's ``DEK_AD + record_id``)."""
    return DEK_AD + record_id


class StreamCipher(PayloadCipherAPI):
    """The keys package's chunked AES-256-GCM stream as ingest's payload cipher."""

    def new_data_key(self) -> bytes:
        return bytes(DataKey.generate())

    def encrypt(self, *, data_key: bytes, plaintext: bytes, associated_data: bytes) -> bytes:
        return b"".join(encrypt_stream(data_key, [plaintext], aad=associated_data))


class KeyringWrapper(KeyWrapperAPI):
    """Wraps DEKs to this hospital's current encryption key version (HPKE)."""

    def __init__(self, keyring: EncryptionKeyring) -> None:
        self._keyring = keyring

    def wrap(self, data_key: bytes, *, associated_data: bytes) -> bytes:
        return self._keyring.wrap(DataKey(data_key), record_id=associated_data).to_bytes()


class BlobPayloads(PayloadStoreAPI):
    """Ingest's ciphertext sink over a :class:`BlobStoreAPI` (pinned on put)."""

    def __init__(self, store: BlobStoreAPI) -> None:
        self._store = store

    def put(self, ciphertext: bytes) -> CID:
        return self._store.put([ciphertext])

    def discard(self, cid: CID) -> None:
        try:
            self._store.unpin(cid)
        except BlobNotFound:
            pass


def rewrap_for(keyring: EncryptionKeyring, wrapped: bytes, *, record_id: bytes,
               recipient: EncryptionPublicKey) -> bytes:  # fmt: skip
    """Unwrap one of our DEKs and seal it to another hospital's key, same record binding."""
    binding = dek_binding(record_id)
    dek = keyring.unwrap(wrapped, record_id=binding)
    return recipient.wrap(dek, record_id=binding).to_bytes()


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
