"""Response bodies of the node API (the OpenAPI schema is generated from them)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from common.errors import ErrorBody


class IngestResult(BaseModel):
    record_id: str
    kind: str
    content_hash: str
    cid: str
    created: bool


class BulkIngestResult(BaseModel):
    """One result per NDJSON line with a record, in order."""

    records: list[IngestResult]
    created: int


class AnchorOut(BaseModel):
    tx_hash: str
    block_number: int


class RecordStatus(BaseModel):
    record_id: str
    kind: str
    state: str
    cid: str
    anchor: AnchorOut | None
    proof: dict[str, Any] | None = None


#: Every error response is a :class:`common.errors.ErrorBody` (the gateway's shape).
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "Malformed request"},
    401: {"model": ErrorBody, "description": "Missing or wrong API token"},
    413: {"model": ErrorBody, "description": "Body larger than the configured limit"},
    422: {"model": ErrorBody, "description": "Not a valid FHIR record / DICOM study"},
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "No such record"},
    400: {"model": ErrorBody, "description": "Malformed record id"},
    401: {"model": ErrorBody, "description": "Missing or wrong API token"},
}
