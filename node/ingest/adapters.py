"""The real collaborators of ingest: keys.stream, keys.envelope and the blob store.

Each adapter maps one seam of :mod:`node.ingest.abc` onto the package that does the work, adding
nothing but the shape change, so the tested properties of those packages (STREAM chunking,
HPKE binding, Kubo-equal CIDs) are what production ingest gets.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Sequence
from contextlib import closing
from pathlib import Path

from keys.abc import KeyringAPI
from keys.datakey import DataKey
from keys.envelope import EncryptionPublicKey
from keys.envelope_group import GroupWrapper
from keys.stream import decrypt_stream, encrypt_stream
from node.blobstore.abc import BlobStoreAPI
from node.exceptions import BlobNotFound
from node.ingest.abc import KeyWrapperAPI, PayloadCipherAPI, PayloadStoreAPI
from node.typing import CID


class StreamCipher(PayloadCipherAPI):
    """Chunked AES-256-GCM (:mod:`keys.stream`): a payload is one self-describing stream."""

    def new_data_key(self) -> bytes:
        return bytes(DataKey.generate())

    def encrypt(self, *, data_key: bytes, plaintext: bytes, associated_data: bytes) -> bytes:
        return b"".join(encrypt_stream(data_key, [plaintext], aad=associated_data))

    @staticmethod
    def decrypt(*, data_key: bytes, ciphertext: bytes, associated_data: bytes) -> bytes:
        """The inverse of :meth:`encrypt` (used by readers and tests, not by ingest)."""
        return b"".join(decrypt_stream(data_key, [ciphertext], aad=associated_data))


class KeyringWrapper(KeyWrapperAPI):
    """HPKE-wraps data keys to the keyring's current version (:mod:`keys.envelope`).

    The ingest associated data becomes the HPKE ``record_id`` binding (it holds the record
    id), so a wrapped key moved to another record does not unwrap.
    """

    def __init__(self, keyring: KeyringAPI) -> None:
        self._keyring = keyring

    def wrap(self, data_key: bytes, *, associated_data: bytes) -> bytes:
        return self._keyring.wrap(DataKey(data_key), record_id=associated_data).to_bytes()

    def unwrap(self, wrapped: bytes, *, associated_data: bytes) -> bytes:
        return bytes(self._keyring.unwrap(wrapped, record_id=associated_data))

    def for_group(self) -> KeyWrapperAPI:
        return GroupKeyWrapper(self._keyring.public_key().group_wrapper())


class PublicKeyWrapper(KeyWrapperAPI):
    """Wraps to one public encryption key version: ingest needs no private key at all."""

    def __init__(self, public_key: EncryptionPublicKey) -> None:
        self._public = public_key

    def wrap(self, data_key: bytes, *, associated_data: bytes) -> bytes:
        return self._public.wrap(DataKey(data_key), record_id=associated_data).to_bytes()

    def for_group(self) -> KeyWrapperAPI:
        return GroupKeyWrapper(self._public.group_wrapper())


class GroupKeyWrapper(KeyWrapperAPI):
    """Wraps the data keys of one ingest group under one fresh KEK (format 2 wraps).

    One HPKE seal (one X25519) per group instead of per record; the keyring unwraps each
    record's key alone, so grants, rotation and shredding are unchanged.
    """

    def __init__(self, group: GroupWrapper) -> None:
        self._group = group

    def wrap(self, data_key: bytes, *, associated_data: bytes) -> bytes:
        return self._group.wrap(DataKey(data_key), record_id=associated_data).to_bytes()


class BlobPayloadStore(PayloadStoreAPI):
    """Ciphertexts in the content-addressed blob store, pinned; discard = unpin.

    Every CID put is noted in a small journal (SQLite next to the outbox) so that the sweep
    at node start discards only what an interrupted ingest stored, never another pin (batch
    manifests, CIDs pinned for a grant from another hospital). A crash between ``put`` and the
    journal line leaks one unreadable ciphertext; it cannot lose a record.
    """

    def __init__(self, blobs: BlobStoreAPI, *, journal: Path) -> None:
        self.blobs = blobs
        self._journal_path = journal
        self._local = threading.local()
        with closing(self._db()) as db:
            db.execute("CREATE TABLE IF NOT EXISTS stored (cid TEXT PRIMARY KEY)")

    def _db(self) -> sqlite3.Connection:
        db = sqlite3.connect(self._journal_path, isolation_level=None, timeout=30)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        return db

    def _conn(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = self._local.db = self._db()
        return db

    def put(self, ciphertext: bytes) -> CID:
        cid = self.blobs.put([ciphertext], pin=True)
        self._conn().execute("INSERT OR IGNORE INTO stored (cid) VALUES (?)", (cid,))
        return cid

    def put_many(self, ciphertexts: Sequence[bytes]) -> list[CID]:
        """Group commit: every ciphertext durable after one barrier (small records)."""
        cids = self.blobs.put_many(ciphertexts, pin=True)
        self._each("INSERT OR IGNORE INTO stored (cid) VALUES (?)", cids)
        return cids

    def _each(self, sql: str, cids: Iterable[CID]) -> None:
        """Run ``sql`` once per CID in one journal transaction (one WAL commit, not one each)."""
        db = self._conn()
        db.execute("BEGIN")
        try:
            db.executemany(sql, [(c,) for c in cids])
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def journal(self) -> set[CID]:
        """CIDs stored by ingest and not yet settled by :meth:`settle`."""
        return {CID(r[0]) for r in self._conn().execute("SELECT cid FROM stored")}

    def settle(self, cids: Iterable[CID]) -> None:
        """Forget journal lines of settled CIDs (referenced by a committed record, or discarded).

        Ingest settles its CIDs once its outbox commit returned, so the journal holds only
        ingests in flight: a table that grew with every record until the next restart made
        each group's journal insert touch more pages as it grew.
        """
        self._each("DELETE FROM stored WHERE cid = ?", cids)

    def discard(self, cid: CID) -> None:
        try:
            self.blobs.unpin(cid)
        except BlobNotFound:
            pass
