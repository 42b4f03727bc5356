"""Bulk import of small FHIR records (NDJSON, one resource per line) through group commit.

All or nothing at the door: every line is parsed and validated before anything is stored,
and one bad line refuses the whole import with its line number (nothing is stored). Then the
records are sealed and committed in groups of ``group_size`` through the node's
:class:`~node.ingest.group_commit.GroupCommitter` (so bulk imports and concurrent API requests share
groups), sealing group *k + 1* while group *k* is being made durable.

An import interrupted by a crash may have queued its first groups; running it again is safe:
a record already queued is returned with ``created=False`` and nothing new is stored for it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor

from node.exceptions import IngestError, InvalidFhir
from node.formats.fhir import FhirPayload, parse_fhir
from node.ingest.core import IngestReceipt, SealedRecord, SealParts, seal

#: Most records in one import (memory: every validated payload is held until sealed).
MAX_BULK_RECORDS = 200_000
GROUP_SIZE = 1024


def parse_ndjson(data: bytes, *, patient_id: str | None = None) -> list[FhirPayload]:
    """Validate every non-blank line as one FHIR resource; refuse all on the first bad one."""
    payloads: list[FhirPayload] = []
    for number, line in enumerate(data.split(b"\n"), start=1):
        if not line.strip():
            continue
        if len(payloads) == MAX_BULK_RECORDS:
            raise InvalidFhir(f"an import holds at most {MAX_BULK_RECORDS} records")
        try:
            payloads.append(parse_fhir(line, patient_id=patient_id))
        except IngestError as exc:
            raise type(exc)(f"line {number}: {exc}; nothing was imported") from None
    if not payloads:
        raise InvalidFhir("the import holds no record (NDJSON: one FHIR resource per line)")
    return payloads


def ingest_payloads(
    *,
    parts: SealParts,
    submit: Callable[[Sequence[SealedRecord]], list[IngestReceipt]],
    payloads: Sequence[FhirPayload],
    group_size: int = GROUP_SIZE,
) -> list[IngestReceipt]:
    """Seal and commit ``payloads`` group by group; receipts in order.

    ``submit`` is usually ``node.committer.submit_many``. Sealing (CPU) of the next group
    overlaps the commit (mostly waiting on the disk, GIL released) of the current one.
    """
    receipts: list[IngestReceipt] = []
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="bulk-commit") as pool:
        in_flight: Future[list[IngestReceipt]] | None = None
        for start in range(0, len(payloads), group_size):
            group = parts.for_group()
            sealed = [
                seal(parts=group, kind=p.kind, canonical=p.canonical, local_patient_id=p.patient_id)
                for p in payloads[start : start + group_size]
            ]
            if in_flight is not None:
                receipts.extend(in_flight.result())
            in_flight = pool.submit(submit, sealed)
        if in_flight is not None:
            receipts.extend(in_flight.result())
    return receipts
