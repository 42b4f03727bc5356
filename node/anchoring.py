"""Draining the outbox to the chain, one Merkle batch (one transaction) at a time."""

from __future__ import annotations

import logging

from node.abc import AnchorSinkAPI
from node.entry import BatchAnchor
from node.outbox import Outbox

log = logging.getLogger(__name__)


def drain_once(*, outbox: Outbox, sink: AnchorSinkAPI, max_batch_size: int) -> BatchAnchor | None:
    """Advance the oldest unanchored batch (forming one from pending entries if none).

    The chain is asked first, always: a batch whose transaction landed before a crash is
    recorded as anchored instead of being sent again. Returns the batch worked on, or ``None``
    if there was nothing to do. A batch whose transaction is not final yet stays
    ``submitted``; the next call looks it up again (and re-submits if it is still unknown,
    which the chain side makes harmless, see :class:`~node.abc.AnchorSinkAPI`).
    """
    batch = outbox.open_batch() or outbox.form_batch(max_batch_size)
    if batch is None:
        return None
    anchor = sink.lookup(batch.root)
    if anchor is None:
        tx_hash = sink.submit(batch)
        outbox.mark_submitted(batch.batch_id, tx_hash)
        log.info("batch %d (%d records) submitted in tx %s", batch.batch_id, batch.size,
                 tx_hash.hex())  # fmt: skip
        anchor = sink.lookup(batch.root)
    if anchor is not None:
        outbox.mark_anchored(batch.batch_id, anchor)
        log.info("batch %d anchored in block %d", batch.batch_id, anchor.block_number)
    return batch


def drain(*, outbox: Outbox, sink: AnchorSinkAPI, max_batch_size: int, max_rounds: int) -> int:
    """Call :func:`drain_once` until nothing is left or ``max_rounds`` is reached.

    Returns the number of rounds that did work.
    """
    rounds = 0
    while rounds < max_rounds and drain_once(
        outbox=outbox, sink=sink, max_batch_size=max_batch_size
    ):
        rounds += 1
    return rounds
