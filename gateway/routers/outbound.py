"""Pushes to the receiving hospital's own systems: its PACS (C-STORE) and HIS (FHIR)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from common.web import SafeJSONRoute
from gateway.deps import Disclose, ReadableGrants, ServicesDep, SettingsDep
from gateway.outbound import service
from gateway.responses import errors
from gateway.routers.dicomweb import Study
from gateway.typing import DicomUID
from keys.typing import CaseId

router = APIRouter(prefix="/outbound", tags=["outbound"], route_class=SafeJSONRoute)

Destination = Annotated[
    str, Path(pattern=r"^[A-Za-z0-9_.-]{1,64}$", description="A configured destination's name.")
]
Case = Annotated[str, Path(pattern=r"^0x[0-9a-fA-F]{64}$", description="The case id.")]


class StudyPushed(BaseModel):
    destination: str
    instances: int = Field(description="Instances the destination stored.")
    bytes: int = Field(description="Bytes sent (Part 10, as stored or transcoded).")


class RecordsPushed(BaseModel):
    destination: str
    entries: int = Field(description="Entries of the transaction Bundle the HIS accepted.")


@router.post("/dicom/{destination}/studies/{study}", response_model=StudyPushed,
             responses=errors(401, 403, 404, 502))  # fmt: skip
def push_study(settings: SettingsDep, services: ServicesDep, grants: ReadableGrants,
               disclose: Disclose, destination: Destination, study: Study
               ) -> StudyPushed:  # fmt: skip
    """Send a granted, verified study to one of this hospital's PACS (DICOM C-STORE)."""
    result = service.push_study(
        cases=services.cases, grants=grants, study=DicomUID(study), name=destination,
        destinations=settings.dicom_destinations, calling_ae=settings.dicom_ae_title,
        disclose=disclose,
    )  # fmt: skip
    return StudyPushed(destination=destination, instances=result.sent, bytes=result.bytes_sent)


@router.post("/fhir/{destination}/cases/{case}", response_model=RecordsPushed,
             responses=errors(401, 403, 404, 502))  # fmt: skip
def push_records(settings: SettingsDep, services: ServicesDep, grants: ReadableGrants,
                 disclose: Disclose, destination: Destination, case: Case
               ) -> RecordsPushed:  # fmt: skip
    """Send a granted case's verified FHIR records to this hospital's HIS (a transaction)."""
    result = service.push_records(
        cases=services.cases, grants=grants, case=CaseId(bytes.fromhex(case[2:])),
        name=destination, destinations=settings.fhir_destinations, disclose=disclose,
    )  # fmt: skip
    return RecordsPushed(destination=destination, entries=result.entries)
