"""DICOMweb (QIDO-RS search, WADO-RS retrieve) limited to the session's redeemed grants."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from gateway.deps import ReadableGrants, ServicesDep, SettingsDep
from gateway.responses import errors
from gateway.services import dicomweb
from gateway.services.frames import parse_frame_list
from gateway.services.qido import Level, QidoQuery, parse_query
from gateway.typing import DicomUID
from medledger.web import SafeJSONRoute

router = APIRouter(prefix="/dicomweb", tags=["dicomweb"], route_class=SafeJSONRoute)

_UID = r"^[0-9]+(\.[0-9]+)*$"
Study = Annotated[DicomUID, Path(pattern=_UID, max_length=64, description="StudyInstanceUID")]
Series = Annotated[DicomUID, Path(pattern=_UID, max_length=64, description="SeriesInstanceUID")]
Sop = Annotated[DicomUID, Path(pattern=_UID, max_length=64, description="SOPInstanceUID")]
Accept = Annotated[str | None, Header(description="Media types the client accepts.")]


FrameList = Annotated[
    str,
    Path(pattern=r"^[1-9][0-9]{0,5}(,[1-9][0-9]{0,5}){0,99}$", description="e.g. 1 or 1,3,5"),
]


class DicomJSONResponse(JSONResponse):
    media_type = "application/dicom+json"


class MultipartResponse(StreamingResponse):
    media_type = "multipart/related"


def qido_query(
    request: Request,
    settings: SettingsDep,
    limit: Annotated[int | None, Query(ge=1, description="At most this many results.")] = None,
    offset: Annotated[int, Query(ge=0, description="Skip this many results.")] = 0,
    includefield: Annotated[
        list[str], Query(description="Extra attributes (keyword or tag), or 'all'.")
    ] = [],  # noqa: B006  # FastAPI copies defaults per request
    fuzzymatching: Annotated[bool, Query(description="Accepted; matching is exact.")] = False,
) -> QidoQuery:
    """Parse a QIDO-RS query; any DICOM keyword or tag is also a matching key."""
    limit = min(limit or settings.qido_max_results, settings.qido_max_results)
    return parse_query(
        request.query_params.multi_items(), includefield=includefield, limit=limit, offset=offset
    )


Qido = Annotated[QidoQuery, Depends(qido_query)]
_SEARCH: dict[str, Any] = {
    "response_class": DicomJSONResponse,
    "response_model": list[dict[str, Any]],
    "responses": errors(400, 401, 403, 406),
}
_RETRIEVE: dict[str, Any] = {
    "response_class": MultipartResponse,
    "responses": {
        200: {"content": {"multipart/related": {"schema": {"type": "string", "format": "binary"}}}},
        **errors(401, 403, 404, 406, 502),
    },
}
_METADATA: dict[str, Any] = {
    "response_class": DicomJSONResponse,
    "response_model": list[dict[str, Any]],
    "responses": errors(401, 403, 404, 406),
}


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/dicomweb"


@router.get("/studies", **_SEARCH)
def search_studies(
    request: Request, services: ServicesDep, grants: ReadableGrants, query: Qido, accept: Accept
) -> list[dict[str, Any]]:
    """Search the studies this session may read (QIDO-RS)."""
    return dicomweb.search_level(
        cases=services.cases, grants=grants, level=Level.STUDY, query=query,
        accept=accept, base_url=_base(request),
    )  # fmt: skip


@router.get("/series", **_SEARCH)
def search_all_series(
    request: Request, services: ServicesDep, grants: ReadableGrants, query: Qido, accept: Accept
) -> list[dict[str, Any]]:
    """Search every series this session may read (QIDO-RS)."""
    return dicomweb.search_level(
        cases=services.cases, grants=grants, level=Level.SERIES, query=query,
        accept=accept, base_url=_base(request),
    )  # fmt: skip


@router.get("/instances", **_SEARCH)
def search_all_instances(
    request: Request, services: ServicesDep, grants: ReadableGrants, query: Qido, accept: Accept
) -> list[dict[str, Any]]:
    """Search every instance this session may read (QIDO-RS)."""
    return dicomweb.search_level(
        cases=services.cases, grants=grants, level=Level.INSTANCE, query=query,
        accept=accept, base_url=_base(request),
    )  # fmt: skip


@router.get("/studies/{study}/series", **_SEARCH)
def search_series(
    request: Request,
    services: ServicesDep,
    grants: ReadableGrants,
    query: Qido,
    accept: Accept,
    study: Study,
) -> list[dict[str, Any]]:
    """Search the series of one study (QIDO-RS)."""
    return dicomweb.search_level(
        cases=services.cases, grants=grants, level=Level.SERIES, query=query,
        accept=accept, base_url=_base(request), study=study,
    )  # fmt: skip


@router.get("/studies/{study}/instances", **_SEARCH)
def search_study_instances(
    request: Request,
    services: ServicesDep,
    grants: ReadableGrants,
    query: Qido,
    accept: Accept,
    study: Study,
) -> list[dict[str, Any]]:
    """Search the instances of one study (QIDO-RS)."""
    return dicomweb.search_level(
        cases=services.cases, grants=grants, level=Level.INSTANCE, query=query,
        accept=accept, base_url=_base(request), study=study,
    )  # fmt: skip


@router.get("/studies/{study}/series/{series}/instances", **_SEARCH)
def search_instances(
    request: Request,
    services: ServicesDep,
    grants: ReadableGrants,
    query: Qido,
    accept: Accept,
    study: Study,
    series: Series,
) -> list[dict[str, Any]]:
    """Search the instances of one series (QIDO-RS)."""
    return dicomweb.search_level(
        cases=services.cases, grants=grants, level=Level.INSTANCE, query=query,
        accept=accept, base_url=_base(request), study=study, series=series,
    )  # fmt: skip


@router.get("/studies/{study}", **_RETRIEVE)
def retrieve_study(
    services: ServicesDep, grants: ReadableGrants, accept: Accept, study: Study
) -> StreamingResponse:
    """Retrieve every instance of a study as multipart/related DICOM (WADO-RS)."""
    return dicomweb.retrieve(cases=services.cases, grants=grants, accept=accept, study=study)


@router.get("/studies/{study}/series/{series}", **_RETRIEVE)
def retrieve_series(
    services: ServicesDep, grants: ReadableGrants, accept: Accept, study: Study, series: Series
) -> StreamingResponse:
    """Retrieve every instance of a series as multipart/related DICOM (WADO-RS)."""
    return dicomweb.retrieve(
        cases=services.cases, grants=grants, accept=accept, study=study, series=series
    )


@router.get("/studies/{study}/series/{series}/instances/{instance}", **_RETRIEVE)
def retrieve_instance(
    services: ServicesDep,
    grants: ReadableGrants,
    accept: Accept,
    study: Study,
    series: Series,
    instance: Sop,
) -> StreamingResponse:
    """Retrieve one instance as multipart/related DICOM (WADO-RS)."""
    return dicomweb.retrieve(
        cases=services.cases, grants=grants, accept=accept,
        study=study, series=series, sop=instance,
    )  # fmt: skip


@router.get("/studies/{study}/series/{series}/instances/{instance}/frames/{frames}", **_RETRIEVE)
def retrieve_frames(
    services: ServicesDep,
    grants: ReadableGrants,
    accept: Accept,
    study: Study,
    series: Series,
    instance: Sop,
    frames: FrameList,
) -> Response:
    """Retrieve frames' pixel data (1-based, comma-separated) as stored (WADO-RS)."""
    return dicomweb.retrieve_frames(
        cases=services.cases, grants=grants, accept=accept, study=study, series=series,
        sop=instance, numbers=parse_frame_list(frames),
    )  # fmt: skip


@router.get("/studies/{study}/metadata", **_METADATA)
def study_metadata(
    services: ServicesDep, grants: ReadableGrants, accept: Accept, study: Study
) -> list[dict[str, Any]]:
    """Every instance header of a study as DICOM JSON, bulk data omitted (WADO-RS)."""
    return dicomweb.metadata(cases=services.cases, grants=grants, accept=accept, study=study)


@router.get("/studies/{study}/series/{series}/metadata", **_METADATA)
def series_metadata(
    services: ServicesDep, grants: ReadableGrants, accept: Accept, study: Study, series: Series
) -> list[dict[str, Any]]:
    """Every instance header of a series as DICOM JSON, bulk data omitted (WADO-RS)."""
    return dicomweb.metadata(
        cases=services.cases, grants=grants, accept=accept, study=study, series=series
    )


@router.get("/studies/{study}/series/{series}/instances/{instance}/metadata", **_METADATA)
def instance_metadata(
    services: ServicesDep,
    grants: ReadableGrants,
    accept: Accept,
    study: Study,
    series: Series,
    instance: Sop,
) -> list[dict[str, Any]]:
    """One instance header as DICOM JSON, bulk data omitted (WADO-RS)."""
    return dicomweb.metadata(
        cases=services.cases, grants=grants, accept=accept,
        study=study, series=series, sop=instance,
    )  # fmt: skip
