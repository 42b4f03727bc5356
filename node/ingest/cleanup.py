"""After a failed or interrupted ingest: discard the ciphertexts no committed record holds.

Ciphertexts are stored before the outbox commit that acknowledges their record, so a
failure in between leaves orphans: harmless (unreadable without the data key, which was
never stored) but worth reclaiming. Every step here is best effort; what it misses the
start-up sweep (:func:`sweep_orphans`) finds.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

from keys.typing import RecordId
from node.anchor.outbox import Outbox
from node.ingest.abc import PayloadStoreAPI
from node.typing import CID

log = logging.getLogger(__name__)


def settle_quietly(store: PayloadStoreAPI, cids: Iterable[CID]) -> None:
    """:meth:`PayloadStoreAPI.settle` after a commit, where a failure must not fail the ingest.

    The records are acknowledged by then; a journal line left behind only makes the next
    start-up sweep look at a CID that it will find referenced.
    """
    try:
        store.settle(cids)
    except Exception:
        log.warning("could not settle the ingest journal; the start-up sweep will")


def discard_orphans(store: PayloadStoreAPI, cids: Iterable[CID]) -> None:
    """Discard ciphertexts that no committed record holds, and settle them (best effort)."""
    settled: list[CID] = []
    for cid in cids:
        try:
            store.discard(cid)
            settled.append(cid)
        except Exception:  # the start-up sweep catches what is left
            log.warning("could not discard an orphan ciphertext %s", cid)
    settle_quietly(store, settled)


def discard_unless_held(
    store: PayloadStoreAPI, outbox: Outbox, stored: Iterable[tuple[RecordId, Sequence[CID]]]
) -> None:
    """After a failed ingest: discard each record's ciphertexts unless it was committed after all.

    The check matters when the failure (say ``KeyboardInterrupt``) lands after the outbox
    commit: the record is acknowledged and its ciphertexts must stay. They were stored for
    that record id alone (fresh data key), so they are orphans exactly when the outbox does
    not hold the record. A record the outbox cannot answer for is left to the start-up sweep.
    """
    held: list[CID] = []
    orphans: list[CID] = []
    for record_id, cids in stored:
        try:
            (held if outbox.holds(record_id) else orphans).extend(cids)
        except Exception:
            log.warning("could not tell whether record %s was committed", record_id.hex())
    settle_quietly(store, held)
    discard_orphans(store, orphans)


def sweep_orphans(*, outbox: Outbox, store: PayloadStoreAPI, stored: Iterable[CID]) -> int:
    """Discard stored ciphertexts no record references; return how many.

    Call at node start, before ingest resumes (see :meth:`Outbox.referenced_cids`);
    ``stored`` lists what the blob store holds (its pins).
    """
    orphans = set(stored) - outbox.referenced_cids()
    for cid in orphans:
        store.discard(cid)
    if orphans:
        log.info("discarded %d orphan ciphertexts left by an interrupted ingest", len(orphans))
    return len(orphans)
