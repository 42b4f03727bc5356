"""STOW-RS (PS3.18 §10.5): parts of a request into the spool, outcomes into a store response.

Each part is one instance: checked and spooled on its own (:class:`~node.dimse.spool.Spool`),
so one bad part fails alone, listed in the FailedSOPSequence with its reason, while the
others are stored. The response status follows §10.5.3: 200 every instance stored (or
already held), 202 some stored and some failed, 409 none stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pydicom.filereader import read_file_meta_info

from node.dimse.exceptions import DimseError, InstanceTooLarge, StudyMismatch
from node.dimse.ingest import StudyOutcome
from node.dimse.related import DICOM, Part
from node.dimse.spool import Accepted, Spool
from node.exceptions import IngestError, MissingDicomUid

FAILED_PROCESSING = 0xC000  # "Processing failure"
FAILED_MISMATCH = 0xA900  # "Data Set does not match SOP Class", also used for a wrong study
FAILED_RESOURCES = 0xA700  # "Out of resources": over the per-instance limit


@dataclass(frozen=True, slots=True)
class PartResult:
    """One part: the UIDs it was accepted under, or why it failed."""

    accepted: Accepted | None
    sop_class: str = ""
    failure: int = 0
    reason: str = field(default="", repr=False)


def _failure(exc: IngestError) -> int:
    if isinstance(exc, InstanceTooLarge):
        return FAILED_RESOURCES
    if isinstance(exc, MissingDicomUid | StudyMismatch):
        return FAILED_MISMATCH
    return FAILED_PROCESSING


def spool_part(spool: Spool, part: Part, *, study: str | None) -> PartResult:
    """Check one part and keep it in ``spool`` (its file is deleted either way)."""
    try:
        if part.too_large:
            raise InstanceTooLarge(f"a part is larger than {spool.max_instance_bytes} bytes")
        if part.content_type not in ("", DICOM):
            raise DimseError(f"a part of type {part.content_type!r} is not {DICOM}")
        data = part.path.read_bytes()
        accepted = spool.add(data, source=part.path)
        if study is not None and accepted.study_uid != study:
            spool.forget(accepted)
            raise StudyMismatch("an instance of another study was sent to this study's URL")
        sop_class = str(read_file_meta_info(spool.directory / accepted.study_uid /
                                            f"{accepted.sop_uid}.dcm").get(
                                                "MediaStorageSOPClassUID", ""))  # fmt: skip
        return PartResult(accepted, sop_class)
    except IngestError as exc:
        return PartResult(None, failure=_failure(exc), reason=f"{type(exc).__name__}: {exc}")
    finally:
        part.path.unlink(missing_ok=True)


def _ui(value: str) -> dict[str, Any]:
    return {"vr": "UI", "Value": [value]} if value else {"vr": "UI"}


def store_response(results: Sequence[PartResult], outcomes: Sequence[StudyOutcome],
                   ) -> tuple[int, dict[str, Any], list[str]]:  # fmt: skip
    """``(status, DICOM JSON body, record ids)`` of a STOW-RS response."""
    by_study = {o.study_uid: o for o in outcomes}
    stored: list[dict[str, Any]] = []
    failed: list[dict[str, Any]] = []
    for r in results:
        outcome = by_study.get(r.accepted.study_uid) if r.accepted else None
        if r.accepted is not None and outcome is not None and outcome.receipt is not None:
            stored.append({"00081150": _ui(r.sop_class), "00081155": _ui(r.accepted.sop_uid)})
            continue
        failure = r.failure or FAILED_PROCESSING
        item = {"00081150": _ui(r.sop_class),
                "00081155": _ui(r.accepted.sop_uid if r.accepted else ""),
                "00081197": {"vr": "US", "Value": [failure]}}  # fmt: skip
        failed.append(item)
    body: dict[str, Any] = {}
    if stored:
        body["00081199"] = {"vr": "SQ", "Value": stored}
    if failed:
        body["00081198"] = {"vr": "SQ", "Value": failed}
    status = 200 if not failed else (202 if stored else 409)
    records = [o.receipt.record_id.hex() for o in outcomes if o.receipt is not None]
    return status, body, records


def _header_safe(text: str) -> str:
    """Printable ASCII without quotes or backslashes (a part's media type is the sender's)."""
    return "".join(c if " " <= c <= "~" and c not in '"\\' else "?" for c in text)[:300]


def reasons(results: Sequence[PartResult], outcomes: Sequence[StudyOutcome]) -> list[str]:
    """Why each failure failed, for the ``Warning`` header (class names and our messages)."""
    out = [r.reason for r in results if r.reason]
    out += [f"{type(o.error).__name__}: {o.error}" for o in outcomes if o.error is not None]
    return [_header_safe(text) for text in out]
