"""Records of redeemed cases (FHIR resources, prescriptions, DICOM instances as files)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, Field

from common.web import SafeJSONRoute
from gateway.deps import Disclose, ReadableGrants, ServicesDep
from gateway.responses import errors
from gateway.services import records
from keys.typing import CaseId, RecordId

router = APIRouter(tags=["records"], route_class=SafeJSONRoute)

FHIR_JSON = "application/fhir+json"

Case = Annotated[str, Path(pattern=r"^0x[0-9a-fA-F]{64}$", description="The case id.")]
Record = Annotated[
    str, Path(pattern=r"^0x([0-9a-fA-F]{2}){1,255}$", description="The record id (hex).")
]


class RecordOut(BaseModel):
    record: str = Field(description="Record id (hex).")
    case: str
    grant: str
    media_type: str
    size: int
    content_hash: str = Field(description="SHA-256 of the plaintext, as anchored (hex).")


@router.get("/cases/{case}/records", response_model=list[RecordOut], responses=errors(401, 403))
def list_records(services: ServicesDep, grants: ReadableGrants, case: Case) -> list[RecordOut]:
    """List the records of a case that this session's redeemed grants cover."""
    found = records.list_case(
        cases=services.cases, grants=grants, case=CaseId(bytes.fromhex(case[2:]))
    )
    return [
        RecordOut(
            record="0x" + r.record_id.hex(),
            case="0x" + r.case_id.hex(),
            grant="0x" + r.grant_id.hex(),
            media_type=r.media_type,
            size=r.size,
            content_hash="0x" + r.content_hash.hex(),
        )
        for r in found
    ]


@router.get(
    "/records/{record}",
    response_class=StreamingResponse,
    responses={
        200: {
            # A FHIR record is a JSON object, declared as one so clients (and the fuzzers)
            # read it as what it is; any other media type is the record's bytes as stored.
            "content": {
                FHIR_JSON: {"schema": {"type": "object", "required": ["resourceType"]}},
                "*/*": {"schema": {"type": "string", "format": "binary"}},
            },
            "description": "The verified plaintext, in the record's own media type.",
        },
        **errors(401, 403, 404, 502),
    },
)
def get_record(services: ServicesDep, grants: ReadableGrants, disclose: Disclose, record: Record
               ) -> Response:  # fmt: skip
    """Fetch one record, re-hashed against its anchored commitment before a byte is sent."""
    return records.serve(cases=services.cases, grants=grants, disclose=disclose,
                         record=RecordId(bytes.fromhex(record[2:])))  # fmt: skip
