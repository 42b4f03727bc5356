"""The running hospital node: ingest front, durable outbox, and the anchoring drain thread.

Start order (``NodeService.start``): open the outbox, sweep the ciphertexts an interrupted
ingest left behind (only those this node's ingest journal names, see
:class:`~node.ingest.adapters.BlobPayloadStore`), then start the drain thread. ``stop`` lets the
thread finish its current step; a hard kill at any point is covered by the outbox's state
machine (see :mod:`node.anchor.outbox` and :mod:`node.anchor.drain`).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from node.anchor.abc import AnchorSinkAPI
from node.anchor.drain import drain_once
from node.anchor.entry import OutboxBatch
from node.anchor.outbox import Outbox
from node.config import AnchorSettings
from node.exceptions import NodeError
from node.formats.dicom import DicomStudy
from node.formats.fhir import parse_fhir
from node.ingest.abc import KeyWrapperAPI, PayloadCipherAPI
from node.ingest.adapters import BlobPayloadStore
from node.ingest.bulk import ingest_payloads, parse_ndjson
from node.ingest.cleanup import sweep_orphans
from node.ingest.core import IngestReceipt, IngestServices, SealedRecord, SealParts, seal
from node.ingest.group import commit_group
from node.ingest.group_commit import GroupCommitter
from node.ingest.pool import SealPool
from node.ingest.study import ingest_dicom_study
from node.pseudonym import ConsortiumPseudonymizer
from node.typing import MerkleHash

log = logging.getLogger(__name__)

#: Groups committing at once (see :mod:`node.ingest.group_commit`). A group commit mostly waits on
#: the disk, so a second one could overlap that wait; measured with the blob store's
#: ``syncfs`` barrier, 2 was slower than 1 (two whole-file-system flushes at once) in two
#: interleaved pairs of runs. Worth re-measuring once the blob store's barrier changes.
COMMITS_IN_FLIGHT = 1
#: How often an in-flight batch is looked up on chain (blocks come every ~100 ms).
POLL_S = 0.02


@dataclass(frozen=True, slots=True)
class NodeParts:
    """What a node is made of; :func:`node.bootstrap.open_parts` builds it from a config."""

    outbox_path: Path
    pseudonymizer: ConsortiumPseudonymizer
    cipher: PayloadCipherAPI
    store: BlobPayloadStore
    wrapper: KeyWrapperAPI
    sink: AnchorSinkAPI | None
    anchor: AnchorSettings
    seal_pool: SealPool | None = None


class NodeService:
    """One hospital node. Thread-safe: each thread gets its own outbox connection."""

    def __init__(self, parts: NodeParts) -> None:
        self.parts = parts
        self._local = threading.local()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_error: str | None = None
        #: Coalesces concurrent small-record ingests into groups
        #: (see :mod:`node.ingest.group_commit`).
        self.committer: GroupCommitter[SealedRecord, IngestReceipt] = GroupCommitter(
            self._commit_group, max_in_flight=COMMITS_IN_FLIGHT
        )

    # --- ingest side -----------------------------------------------------------------------

    def outbox(self) -> Outbox:
        """The calling thread's outbox connection (SQLite connections stay in their thread)."""
        box: Outbox | None = getattr(self._local, "outbox", None)
        if box is None:
            box = self._local.outbox = Outbox(self.parts.outbox_path)
        return box

    def ingest_services(self) -> IngestServices:
        p = self.parts
        return IngestServices(p.pseudonymizer, p.cipher, p.store, p.wrapper, self.outbox())

    def seal_parts(self) -> SealParts:
        p = self.parts
        return SealParts(p.pseudonymizer, p.cipher, p.wrapper)

    def _commit_group(self, records: list[SealedRecord]) -> list[IngestReceipt]:
        """One group: one blob barrier, one outbox commit (runs in the leader's thread)."""
        receipts = commit_group(store=self.parts.store, outbox=self.outbox(), records=records)
        self.notify()
        return receipts

    def ingest_fhir(self, raw: bytes, *, patient_id: str | None = None) -> IngestReceipt:
        """One FHIR R4 resource or Bundle (HTTP and CLI): validate, seal, group-commit.

        The commit joins whatever other requests are committing: one fsync pair per group.
        """
        payload = parse_fhir(raw, patient_id=patient_id)
        sealed = seal(parts=self.seal_parts(), kind=payload.kind, canonical=payload.canonical,
                      local_patient_id=payload.patient_id)  # fmt: skip
        return self.committer.submit(sealed)

    def ingest_study(self, study: DicomStudy, *, patient_id: str | None = None) -> IngestReceipt:
        """One DICOM study read by :func:`node.formats.dicom.read_study` (HTTP and CLI)."""
        receipt = ingest_dicom_study(services=self.ingest_services(), study=study,
                                     patient_id=patient_id)  # fmt: skip
        self.notify()
        return receipt

    def ingest_ndjson(self, data: bytes, *, patient_id: str | None = None) -> list[IngestReceipt]:
        """A bulk import (see :mod:`node.ingest.bulk`), on the seal pool's workers if any."""
        pool = self.parts.seal_pool
        if pool is None:
            payloads = parse_ndjson(data, patient_id=patient_id)
            return ingest_payloads(parts=self.seal_parts(), submit=self.committer.submit_many,
                                   payloads=payloads)  # fmt: skip
        return pool.ingest_ndjson(data, patient_id=patient_id, submit=self.committer.submit_many)

    def notify(self) -> None:
        """Tell the drain thread new entries are pending (it may form a full batch early)."""
        self._wake.set()

    # --- lifecycle -------------------------------------------------------------------------

    def sweep(self) -> int:
        """Discard ciphertexts of ingests that never reached the outbox; return how many."""
        outbox = self.outbox()
        journal = self.parts.store.journal()
        unreferenced = journal - outbox.referenced_cids()
        count = sweep_orphans(outbox=outbox, store=self.parts.store, stored=unreferenced)
        self.parts.store.settle(journal)
        return count

    def start(self) -> None:
        if self.parts.sink is None:
            raise NodeError("this node has no chain sink; it cannot anchor")
        self.sweep()
        if self.parts.seal_pool is not None:
            self.parts.seal_pool.warm()
        self._stop.clear()
        self._thread = threading.Thread(target=self._drain_loop, name="anchor-drain", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        if self.parts.seal_pool is not None:
            self.parts.seal_pool.close()

    def _fill(self, outbox: Outbox, settings: AnchorSettings) -> None:
        """Let a batch fill up: wait until ``batch_size`` are pending or ``interval_s`` passed."""
        deadline = time.monotonic() + settings.interval_s
        while not self._stop.is_set() and outbox.open_batch_head() is None:
            left = deadline - time.monotonic()
            if left <= 0 or outbox.pending_count() >= settings.batch_size:
                return
            self._wake.wait(left)
            self._wake.clear()

    def _await_final(self, sink: AnchorSinkAPI, root: MerkleHash, limit_s: float) -> None:
        """Poll the chain (cheap log lookups) until ``root`` is final, then let the drain note it.

        Polling here instead of through ``drain_once`` spares re-reading the batch's members
        and rebuilding its tree on every poll (measured: that capped anchoring of 4096-record
        batches). Gives up after ``limit_s``; the next ``drain_once`` then re-submits.
        """
        deadline = time.monotonic() + limit_s
        while not self._stop.is_set() and time.monotonic() < deadline:
            try:
                if sink.lookup(root) is not None:
                    return
            except NodeError:
                pass  # the drain reports chain errors; just keep polling within the limit
            self._stop.wait(POLL_S)

    def _drain_loop(self) -> None:
        sink = self.parts.sink
        assert sink is not None
        outbox = Outbox(self.parts.outbox_path)
        settings = self.parts.anchor
        batch: OutboxBatch | None = None
        try:
            while not self._stop.is_set():
                self._fill(outbox, settings)
                if self._stop.is_set():
                    break
                try:
                    batch = drain_once(
                        outbox=outbox,
                        sink=sink,
                        max_batch_size=settings.batch_size,
                        resubmit_after=settings.resubmit_after_s,
                        current=batch,
                    )
                    self.last_error = None
                except NodeError as exc:
                    self.last_error = type(exc).__name__
                    log.warning("anchoring failed (%s); retrying", type(exc).__name__)
                    self._stop.wait(settings.interval_s)
                    continue
                if batch is not None and outbox.batch_state(batch.batch_id) != "anchored":
                    self._await_final(sink, batch.root, settings.resubmit_after_s)
        finally:
            outbox.close()
