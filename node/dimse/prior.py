"""The instances of a study version this node stored, read back to build the next version.

A study that gains an instance gets a new record holding the union, under a fresh data key
(one key per study record, as :mod:`node.ingest.study` requires). The instances already
stored are therefore decrypted with our own keyring, re-hashed against the manifest (the
read path a grantee uses, :mod:`node.cases.read.study`) and written into the spool of the
new version, which is deleted once that version is ingested.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from keys.envelope import EncryptionKeyring
from keys.typing import RecordId
from node.anchor.outbox import Outbox
from node.blobstore.abc import BlobStoreAPI
from node.cases.package import PackageRecord
from node.cases.read.study import instance_bytes, study_instances
from node.dimse.abc import PriorInstancesAPI
from node.dimse.exceptions import PriorUnreadable
from node.exceptions import NodeError


class KeyringPriorInstances(PriorInstancesAPI):
    """Reads our own study records with the hospital's keyring from our blob store."""

    def __init__(self, *, outbox: Callable[[], Outbox], blobs: BlobStoreAPI,
                 keyring: EncryptionKeyring) -> None:  # fmt: skip
        self._outbox = outbox  # the calling thread's connection (SQLite stays in its thread)
        self._blobs = blobs
        self._keyring = keyring

    def write_instances(self, record_id: RecordId, directory: Path, *, skip: set[str]) -> int:
        try:
            entry = self._outbox().entry(record_id)
            record = PackageRecord(record_id, entry.cid, entry.content_hash, entry.wrapped_key,
                                   entry.salt, entry.pseudonym, entry.kind.text)  # fmt: skip
            dek, items = study_instances(record, blobs=self._blobs, keyring=self._keyring)
            written = 0
            for item in items:
                if item.sop_uid in skip:
                    continue
                data = instance_bytes(record, item, dek=dek, blobs=self._blobs)
                (directory / f"{item.sop_uid}.dcm").write_bytes(data)
                written += 1
        except NodeError as exc:
            raise PriorUnreadable(
                f"the study's earlier version cannot be read back ({type(exc).__name__})"
            ) from None
        return written
