"""Draining the outbox to the chain, one Merkle batch (one transaction) at a time."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from node.anchor.abc import AnchorSinkAPI
from node.anchor.entry import OutboxBatch
from node.anchor.outbox import Outbox

log = logging.getLogger(__name__)

#: How long a sent batch transaction may stay unseen before it is sent again.
RESUBMIT_AFTER_S = 30.0


def drain_once(
    *,
    outbox: Outbox,
    sink: AnchorSinkAPI,
    max_batch_size: int,
    resubmit_after: float = RESUBMIT_AFTER_S,
    now: Callable[[], float] = time.time,
    current: OutboxBatch | None = None,
) -> OutboxBatch | None:
    """Advance the oldest unanchored batch (forming one from pending entries if none).

    The chain is asked first, always: a batch whose transaction landed before a crash is
    recorded as anchored instead of being sent again. Returns the batch worked on, or ``None``
    if there was nothing to do. A batch whose transaction is not final yet stays
    ``submitted``; later calls look it up again and re-submit only once ``resubmit_after``
    seconds have passed since it was sent (a transaction lost with a crashed validator's
    mempool). A re-submission that races the first transaction is refused on chain, see
    :class:`~node.anchor.abc.AnchorSinkAPI`.

    ``current`` is the batch the caller got from its previous call: if it is still the
    oldest open batch it is used as is, sparing a re-read of its members and a rebuild of
    its tree (they were checked when it was formed or first read, and a batch's members
    never change).
    """
    head = outbox.open_batch_head()
    if current is not None and head == (current.batch_id, current.root):
        batch: OutboxBatch | None = current
    else:
        opened = outbox.open_batch() if head is not None else None
        batch = opened or outbox.form_batch(max_batch_size)
    if batch is None:
        return None
    anchor = sink.lookup(batch.root)
    sent_at = outbox.submitted_at(batch.batch_id)
    if anchor is None and sent_at is not None and now() - sent_at < resubmit_after:
        return batch  # still in flight: give it time
    if anchor is None:
        tx_hash = sink.submit(batch)
        outbox.mark_submitted(batch.batch_id, tx_hash, at=now())
        log.info("batch %d (%d records) submitted in tx %s", batch.batch_id, batch.size,
                 tx_hash.hex())  # fmt: skip
        anchor = sink.lookup(batch.root)
    if anchor is not None:
        outbox.mark_anchored(batch.batch_id, anchor)
        log.info("batch %d anchored in block %d", batch.batch_id, anchor.block_number)
    return batch


def drain(*, outbox: Outbox, sink: AnchorSinkAPI, max_batch_size: int, max_rounds: int) -> int:
    """Anchor batches until nothing is pending, a batch is still in flight, or ``max_rounds``.

    Returns the number of batches anchored.
    """
    anchored = 0
    for _ in range(max_rounds):
        batch = drain_once(outbox=outbox, sink=sink, max_batch_size=max_batch_size)
        if batch is None or outbox.open_batch() == batch:
            break
        anchored += 1
    return anchored
