"""Group ingest: many small records share one blob barrier and one outbox commit.

:func:`node.ingest.core.ingest_payload` makes each record durable on its own (a blob fsync and an
outbox fsync per record, ~20 ms). Here the work is split in two:

- :func:`seal` (CPU, per record, any thread): pseudonymize, hash, fresh data key, encrypt,
  wrap the data key to this hospital. Nothing is stored, so a refusal leaves nothing behind.
- :func:`commit_group` (I/O, per group): every ciphertext through
  :meth:`PayloadStoreAPI.put_many` (one durability barrier), then every anchor entry in one
  outbox transaction (:meth:`Outbox.append_many`, one fsync). Only when both returned are
  the records acknowledged, so "written durably before anything is acknowledged" holds for
  the whole group. If either step fails, no record of the group is acknowledged and the
  ciphertexts stored for it are discarded (best effort; the start-up sweep catches the rest).

Each record keeps its own data key and its own wrapped key. Bulk imports seal each group with
:meth:`SealParts.for_group`: the data keys are wrapped under one fresh group KEK, itself
HPKE-sealed once to the hospital's key (format 2 of :mod:`keys.envelope_group`, 145 bytes,
self-contained per record), so grants, key rotation and shredding treat group-ingested
records exactly like the others.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field

from node.anchor.entry import AnchorEntry, RecordKind
from node.anchor.outbox import Outbox
from node.exceptions import OutboxError
from node.ingest.abc import KeyWrapperAPI, PayloadCipherAPI, PayloadStoreAPI
from node.ingest.core import (
    DEK_AD,
    PAYLOAD_AD,
    IngestReceipt,
    discard_orphans,
    discard_unless_held,
    settle_quietly,
)
from node.pseudonym import ConsortiumPseudonymizer
from node.typing import CID, ContentHash, PatientPseudonym, RecordId

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SealParts:
    """What sealing needs: no store and no outbox, so it can run anywhere."""

    pseudonymizer: ConsortiumPseudonymizer
    cipher: PayloadCipherAPI
    wrapper: KeyWrapperAPI

    def for_group(self) -> SealParts:
        """These parts with the wrapper of one group (one HPKE seal for the whole group)."""
        return SealParts(self.pseudonymizer, self.cipher, self.wrapper.for_group())


@dataclass(frozen=True, slots=True)
class SealedRecord:
    """One record encrypted and its data key wrapped; not stored, not acknowledged yet."""

    record_id: RecordId
    kind: RecordKind
    pseudonym: PatientPseudonym
    content_hash: ContentHash
    salt: bytes = field(repr=False)
    wrapped_key: bytes = field(repr=False)
    ciphertext: bytes = field(repr=False)

    def entry(self, cid: CID) -> AnchorEntry:
        return AnchorEntry(self.record_id, self.kind, self.pseudonym, self.content_hash,
                           self.salt, cid, self.wrapped_key)  # fmt: skip


def seal(*, parts: SealParts, kind: RecordKind, canonical: bytes,
         local_patient_id: str) -> SealedRecord:  # fmt: skip
    """Encrypt one payload under a fresh data key and wrap that key (CPU only)."""
    pseudonym = parts.pseudonymizer.pseudonym(local_patient_id)
    content_hash = ContentHash(hashlib.sha256(canonical).digest())
    record_id = RecordId(os.urandom(32))
    dek = parts.cipher.new_data_key()
    ciphertext = parts.cipher.encrypt(
        data_key=dek, plaintext=canonical, associated_data=PAYLOAD_AD + record_id + content_hash
    )
    wrapped = parts.wrapper.wrap(dek, associated_data=DEK_AD + record_id)
    return SealedRecord(record_id, kind, pseudonym, content_hash, os.urandom(16), wrapped,
                        ciphertext)  # fmt: skip


def commit_group(*, store: PayloadStoreAPI, outbox: Outbox,
                 records: Sequence[SealedRecord]) -> list[IngestReceipt]:  # fmt: skip
    """Store, then durably queue, a group of sealed records; receipts in order.

    A record whose content this patient already has (queued earlier, or twice in this group)
    gets the existing record back (``created=False``) and its new ciphertext is discarded.
    """
    if not records:
        return []
    cids = store.put_many([r.ciphertext for r in records])
    try:
        results = outbox.append_many(
            [(r.entry(cid), ()) for r, cid in zip(records, cids, strict=True)]
        )
    except BaseException:
        stored = [(r.record_id, [cid]) for r, cid in zip(records, cids, strict=True)]
        discard_unless_held(store, outbox, stored)
        raise
    receipts: list[IngestReceipt] = []
    orphans: list[CID] = []
    for record, cid, (record_id, created) in zip(records, cids, results, strict=True):
        if created:
            receipts.append(IngestReceipt(record_id, record.kind, record.content_hash, cid, True))
            continue
        orphans.append(cid)
        existing = outbox.entry(record_id)
        if existing.content_hash != record.content_hash:  # pragma: no cover - outbox invariant
            raise OutboxError("the outbox returned a record with other content")
        receipts.append(IngestReceipt(record_id, existing.kind, existing.content_hash,
                                      existing.cid, created=False))  # fmt: skip
    discard_orphans(store, orphans)  # fresh ciphertexts of records that were not created
    settle_quietly(store, [r.cid for r in receipts if r.created])
    log.info("group of %d records queued for anchoring (%d new)", len(records),
             len(records) - len(orphans))  # fmt: skip
    return receipts
