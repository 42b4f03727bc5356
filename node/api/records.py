"""``/records``: ingest FHIR records and DICOM studies, read status and proofs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response, status
from starlette.concurrency import run_in_threadpool

from common.errors import CodedHTTPException, exception_code
from node.anchor.records import describe, parse_record_id
from node.api.deps import ApiConfig, CurrentNode, require_token
from node.api.schemas import ERRORS, NOT_FOUND, BulkIngestResult, IngestResult, RecordStatus
from node.api.upload import read_limited, spool_limited
from node.exceptions import (
    IngestError,
    OutboxError,
    PayloadTooLarge,
    ProofFormatError,
    UnknownRecord,
)
from node.formats.dicom import read_study
from node.ingest.core import IngestReceipt
from node.proof.wire_codec import encode_proof
from node.service import NodeService

router = APIRouter(prefix="/records", tags=["records"], dependencies=[Depends(require_token)])

PatientId = Annotated[
    str | None,
    Query(description="Local patient id, when the payload does not name the patient."),
]


def _fields(receipt: IngestReceipt) -> dict[str, Any]:
    """An :class:`IngestResult`'s fields (plain data, for the bulk body's JSON)."""
    return {"record_id": receipt.record_id.hex(), "kind": receipt.kind.text,
            "content_hash": receipt.content_hash.hex(), "cid": receipt.cid,
            "created": receipt.created}  # fmt: skip


def _result(receipt: IngestReceipt) -> IngestResult:
    return IngestResult(**_fields(receipt))


def _refused(exc: IngestError) -> CodedHTTPException:
    code = status.HTTP_413_CONTENT_TOO_LARGE if isinstance(exc, PayloadTooLarge) else 422
    return CodedHTTPException(code, f"{type(exc).__name__}: {exc}", code=exception_code(exc))


@router.post("/fhir", status_code=status.HTTP_201_CREATED, responses=ERRORS)
async def post_fhir(
    request: Request, node: CurrentNode, api: ApiConfig, patient_id: PatientId = None
) -> IngestResult:
    """Ingest one FHIR R4 JSON resource or Bundle; 201 once durably queued for anchoring."""
    raw = await read_limited(request, api.max_fhir_bytes)

    try:
        receipt = await run_in_threadpool(node.ingest_fhir, raw, patient_id=patient_id)
    except IngestError as exc:
        raise _refused(exc) from None
    return _result(receipt)


@router.post(
    "/fhir/bulk",
    status_code=status.HTTP_201_CREATED,
    response_model=BulkIngestResult,
    responses=ERRORS,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/x-ndjson": {"schema": {"type": "string"}}},
        }
    },
)
async def post_fhir_bulk(
    request: Request, node: CurrentNode, api: ApiConfig, patient_id: PatientId = None
) -> Response:
    """Ingest many FHIR R4 resources, one JSON per line (NDJSON), through group commit.

    All lines are validated first; one invalid line refuses the whole import (422, naming
    the line) and nothing is stored. 201 once every record is durably queued for anchoring;
    re-sending an import is safe (records already queued come back with ``created: false``).
    """
    raw = await read_limited(request, api.max_bulk_bytes)

    # The BulkIngestResult body is written as plain JSON: building and validating a model per
    # record cost more than sealing the record, for values this code made itself.
    def work() -> bytes:
        receipts = node.ingest_ndjson(raw, patient_id=patient_id)
        records = [_fields(r) for r in receipts]
        created = sum(r.created for r in receipts)
        return json.dumps({"records": records, "created": created}).encode()

    try:
        body = await run_in_threadpool(work)
    except IngestError as exc:
        raise _refused(exc) from None
    return Response(body, status_code=status.HTTP_201_CREATED, media_type="application/json")


@router.post(
    "/dicom",
    status_code=status.HTTP_201_CREATED,
    responses=ERRORS,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
async def post_dicom(
    request: Request, node: CurrentNode, api: ApiConfig, patient_id: PatientId = None
) -> IngestResult:
    """Ingest one DICOM study sent as a zip archive (streamed to disk, size-limited)."""
    spool = node.parts.outbox_path.parent / "uploads"
    spool.mkdir(exist_ok=True)
    path: Path = await spool_limited(request, api.max_dicom_bytes, spool)

    def work() -> IngestReceipt:
        return node.ingest_study(read_study(path), patient_id=patient_id)

    try:
        receipt = await run_in_threadpool(work)
    except IngestError as exc:
        raise _refused(exc) from None
    finally:
        path.unlink(missing_ok=True)
    return _result(receipt)


def _status(node: NodeService, record_id: str, *, with_proof: bool) -> dict[str, Any]:
    try:
        return describe(node.outbox(), parse_record_id(record_id), with_proof=with_proof)
    except ProofFormatError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from None
    except UnknownRecord:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such record") from None


@router.get("/{record_id}", responses=NOT_FOUND)
def get_record(record_id: str, node: CurrentNode) -> RecordStatus:
    """State of a record (pending, batched, submitted, anchored), its anchor and proof."""
    return RecordStatus.model_validate(_status(node, record_id, with_proof=True))


@router.get(
    "/{record_id}/proof",
    responses={
        **NOT_FOUND,
        409: {"description": "The record is not batched yet; no proof exists"},
        200: {"content": {"application/octet-stream": {}, "application/json": {}}},
    },
)
def get_proof(
    record_id: str,
    node: CurrentNode,
    fmt: Annotated[str, Query(alias="format", pattern="^(json|binary)$")] = "json",
) -> Response:
    """The record's inclusion proof, as JSON or in the binary wire format."""
    info = _status(node, record_id, with_proof=True)
    if "proof" not in info:
        raise HTTPException(status.HTTP_409_CONFLICT, "the record is pending; no proof yet")
    if fmt == "json":
        return Response(json.dumps(info["proof"]), media_type="application/json")
    try:
        proof = node.outbox().proof(parse_record_id(record_id))
    except OutboxError as exc:  # pragma: no cover - raced with nothing: state only advances
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    return Response(encode_proof(proof), media_type="application/octet-stream")
