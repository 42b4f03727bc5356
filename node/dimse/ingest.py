"""Spooled instances into study records: idempotent by SOP Instance UID, versions as unions.

For each study folder of a :class:`~node.dimse.spool.Spool`:

* every instance already in the study's latest record (by SOP Instance UID): nothing is
  stored or anchored again, the latest record is the answer (``created=False``);
* some new instances: a new record holding the union is ingested, the instances of the
  latest record read back (:class:`~node.dimse.abc.PriorInstancesAPI`) next to the new ones,
  and the index links it to the version it supersedes. On chain the versions are two batch
  anchors; the ``Anchors`` version link (``anchorRecord(previous)``) needs a case id, which
  a pushed study does not have yet, so it is made when the study is amended into a case
  (``medledger node ingest --amends``), from the link kept here.

Case and patient are derived as the zip route does: the PatientID the instances name
becomes the consortium pseudonym (:func:`node.ingest.study.ingest_dicom_study`); it is never
logged. Ingests run one at a time (pydicom's read settings are process-wide).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path

from keys.typing import RecordId
from node.dimse.abc import PriorInstancesAPI
from node.dimse.exceptions import PriorUnreadable
from node.dimse.index import StudyIndex
from node.dimse.spool import PARSE_LOCK, Spool
from node.exceptions import IngestError
from node.formats.dicom import read_study
from node.ingest.core import IngestReceipt
from node.service import NodeService

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class StudyOutcome:
    """What became of one study of a push."""

    study_uid: str
    sent: frozenset[str]
    receipt: IngestReceipt | None = None
    #: Instances of this push that the study did not hold before.
    new: frozenset[str] = frozenset()
    previous: RecordId | None = None
    error: IngestError | None = field(default=None, repr=False)


class StandardIngest:
    """Ingests spooled pushes (DIMSE associations, STOW-RS requests) into the node."""

    def __init__(self, node: NodeService, index: StudyIndex,
                 prior: PriorInstancesAPI | None) -> None:  # fmt: skip
        self.node = node
        self.index = index
        self.prior = prior
        self._lock = threading.Lock()

    def ingest(self, spool: Spool) -> list[StudyOutcome]:
        """Ingest every study of ``spool`` (which the caller discards afterwards)."""
        return [self._study(spool, folder) for folder in spool.studies()]

    def _study(self, spool: Spool, folder: Path) -> StudyOutcome:
        study_uid = folder.name
        sent = frozenset(p.stem for p in folder.glob("*.dcm"))
        with self._lock:
            latest = self.index.latest(study_uid)
            new = sent - self.index.known(study_uid)
            try:
                if latest is not None and not new:
                    return StudyOutcome(study_uid, sent, self._existing(latest))
                if latest is None:  # every file came through the spool's checks
                    study = spool.study(folder)
                else:
                    if self.prior is None:
                        raise PriorUnreadable("this node cannot read back its earlier version")
                    self.prior.write_instances(latest, folder, skip=set(sent))
                    with PARSE_LOCK:
                        study = read_study(folder)
                receipt = self.node.ingest_study(study)
            except IngestError as exc:
                log.warning("a pushed study was refused (%s)", type(exc).__name__)
                return StudyOutcome(study_uid, sent, error=exc)
            self.index.add(study_uid, receipt.record_id, previous=latest,
                           sop_uids=[i.sop_uid for i in study.instances])  # fmt: skip
        log.info("pushed study: %d new of %d instances, record %s", len(new), len(sent),
                 receipt.record_id.hex())  # fmt: skip
        return StudyOutcome(study_uid, sent, receipt, new, latest)

    def _existing(self, record_id: RecordId) -> IngestReceipt:
        entry = self.node.outbox().entry(record_id)
        return IngestReceipt(record_id, entry.kind, entry.content_hash, entry.cid, created=False)
