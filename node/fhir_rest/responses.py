"""FHIR response bodies: transaction/batch-response Bundles, single-write headers."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse

from node.fhir_rest.outcome import FHIR_JSON, FhirRestError, operation_outcome, status_line
from node.fhir_rest.writer import Written

#: Extension on ``Bundle.entry.response`` (and header on single writes) naming the node
#: record behind a write, for ``GET /records/{id}`` (status, anchor, proof) and for
#: attaching it to a case (``POST /cases/{case_id}/records``).
RECORD_ID_EXTENSION = "urn:medledger:fhir:record-id"
RECORD_ID_HEADER = "X-Medledger-Record-Id"


def location(w: Written) -> str:
    """The relative versioned location of a write (``Type/id/_history/n``)."""
    return f"{w.rtype}/{w.rid}/_history/{w.version}"


def etag(w: Written) -> str:
    return f'W/"{w.version}"'


def response_entry(base: str, result: Written | FhirRestError) -> dict[str, Any]:
    """One ``Bundle.entry`` of a transaction/batch response."""
    if isinstance(result, FhirRestError):
        outcome = operation_outcome(result.diagnostics, code=result.code)
        return {"response": {"status": status_line(result.status), "outcome": outcome}}
    record = {"url": RECORD_ID_EXTENSION, "valueString": result.record_id.hex()}
    return {
        "fullUrl": f"{base}/{result.rtype}/{result.rid}",
        "response": {"status": status_line(result.status), "location": location(result),
                     "etag": etag(result), "extension": [record]},
    }  # fmt: skip


def response_bundle(base: str, kind: str, results: list[Written | FhirRestError]) -> JSONResponse:
    """A ``transaction-response`` or ``batch-response`` (HTTP 200)."""
    body = {"resourceType": "Bundle", "type": f"{kind}-response",
            "entry": [response_entry(base, r) for r in results]}  # fmt: skip
    return JSONResponse(body, media_type=FHIR_JSON)


def written_resource(base: str, w: Written) -> JSONResponse:
    """A single create/update: the resource as stored, ``Location`` and ``ETag`` headers."""
    headers = {"Location": f"{base}/{location(w)}", "ETag": etag(w),
               RECORD_ID_HEADER: w.record_id.hex()}  # fmt: skip
    return JSONResponse(w.resource, status_code=w.status, headers=headers, media_type=FHIR_JSON)


def outcome_response(exc: FhirRestError) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    return JSONResponse(operation_outcome(exc.diagnostics, code=exc.code),
                        status_code=exc.status, headers=headers, media_type=FHIR_JSON)  # fmt: skip
