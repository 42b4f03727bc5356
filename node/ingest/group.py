"""Group ingest: many small records share one blob barrier and one outbox commit.

:func:`node.ingest.core.ingest_payload` makes each record durable on its own (a blob fsync
and an outbox fsync per record, ~20 ms). Here the work is split in two:

- :func:`node.ingest.core.seal` (CPU, per record, any thread; the same sealing as a single
  record): pseudonymize, hash, fresh data key, encrypt, wrap the data key to this hospital.
  Nothing is stored, so a refusal leaves nothing behind.
- :func:`commit_group` (I/O, per group): every ciphertext through
  :meth:`PayloadStoreAPI.put_many` (one durability barrier), then every anchor entry in one
  outbox transaction (:meth:`Outbox.append_many`, one fsync). Only when both returned are
  the records acknowledged, so "written durably before anything is acknowledged" holds for
  the whole group. If either step fails, no record of the group is acknowledged and the
  ciphertexts stored for it are discarded (best effort; the start-up sweep catches the rest).

Each record keeps its own data key and its own wrapped key. Bulk imports seal each group with
:meth:`node.ingest.core.SealParts.for_group`: the data keys are wrapped under one fresh
group KEK, itself HPKE-sealed once to the hospital's key (format 2 of
:mod:`keys.envelope_group`, 145 bytes, self-contained per record), so grants, key rotation
and shredding treat group-ingested records exactly like the others.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from node.anchor.outbox import Outbox
from node.exceptions import OutboxError
from node.ingest.abc import PayloadStoreAPI
from node.ingest.cleanup import discard_orphans, discard_unless_held, settle_quietly
from node.ingest.core import IngestReceipt, SealedRecord
from node.typing import CID

log = logging.getLogger(__name__)


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
