"""DICOMweb (QIDO-RS search, WADO-RS retrieve) limited to the session's redeemed grants."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from common.web import SafeJSONRoute
from gateway.deps import Disclose, ReadableGrants, ServicesDep, SettingsDep
from gateway.responses import errors
from gateway.services import bulkdata, dicomweb, rendered
from gateway.services.dicomweb import Reader, Scope
from gateway.services.frames import parse_frame_list
from gateway.services.qido import Level, QidoQuery, parse_query
from gateway.typing import DicomUID

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


def reader(
    request: Request, services: ServicesDep, grants: ReadableGrants, disclose: Disclose,
    accept: Accept,
) -> Reader:  # fmt: skip
    """The case store under the session's readable grants, and how the client reads."""
    base = str(request.base_url).rstrip("/") + "/dicomweb"
    return Reader(cases=services.cases, grants=grants, accept=accept, base_url=base,
                  disclose=disclose)  # fmt: skip


def study_scope(study: Study) -> Scope:
    return Scope(study)


def series_scope(study: Study, series: Series) -> Scope:
    return Scope(study, series)


def instance_scope(study: Study, series: Series, instance: Sop) -> Scope:
    return Scope(study, series, instance)


Read = Annotated[Reader, Depends(reader)]
InStudy = Annotated[Scope, Depends(study_scope)]
InSeries = Annotated[Scope, Depends(series_scope)]
InInstance = Annotated[Scope, Depends(instance_scope)]
Search = list[dict[str, Any]]
ANYWHERE = Scope()


@router.get("/studies", **_SEARCH)
def search_studies(read: Read, query: Qido) -> Search:
    """Search the studies this session may read (QIDO-RS)."""
    return dicomweb.search_level(reader=read, level=Level.STUDY, query=query, scope=ANYWHERE)


@router.get("/series", **_SEARCH)
def search_all_series(read: Read, query: Qido) -> Search:
    """Search every series this session may read (QIDO-RS)."""
    return dicomweb.search_level(reader=read, level=Level.SERIES, query=query, scope=ANYWHERE)


@router.get("/instances", **_SEARCH)
def search_all_instances(read: Read, query: Qido) -> Search:
    """Search every instance this session may read (QIDO-RS)."""
    return dicomweb.search_level(reader=read, level=Level.INSTANCE, query=query, scope=ANYWHERE)


@router.get("/studies/{study}/series", **_SEARCH)
def search_series(read: Read, query: Qido, scope: InStudy) -> Search:
    """Search the series of one study (QIDO-RS)."""
    return dicomweb.search_level(reader=read, level=Level.SERIES, query=query, scope=scope)


@router.get("/studies/{study}/instances", **_SEARCH)
def search_study_instances(read: Read, query: Qido, scope: InStudy) -> Search:
    """Search the instances of one study (QIDO-RS)."""
    return dicomweb.search_level(reader=read, level=Level.INSTANCE, query=query, scope=scope)


@router.get("/studies/{study}/series/{series}/instances", **_SEARCH)
def search_instances(read: Read, query: Qido, scope: InSeries) -> Search:
    """Search the instances of one series (QIDO-RS)."""
    return dicomweb.search_level(reader=read, level=Level.INSTANCE, query=query, scope=scope)


@router.get("/studies/{study}", **_RETRIEVE)
def retrieve_study(read: Read, scope: InStudy) -> Response:
    """Retrieve every instance of a study as multipart/related DICOM (WADO-RS)."""
    return dicomweb.retrieve(reader=read, scope=scope)


@router.get("/studies/{study}/series/{series}", **_RETRIEVE)
def retrieve_series(read: Read, scope: InSeries) -> Response:
    """Retrieve every instance of a series as multipart/related DICOM (WADO-RS)."""
    return dicomweb.retrieve(reader=read, scope=scope)


@router.get("/studies/{study}/series/{series}/instances/{instance}", **_RETRIEVE)
def retrieve_instance(read: Read, scope: InInstance) -> Response:
    """Retrieve one instance as multipart/related DICOM (WADO-RS)."""
    return dicomweb.retrieve(reader=read, scope=scope)


@router.get("/studies/{study}/series/{series}/instances/{instance}/frames/{frames}", **_RETRIEVE)
def retrieve_frames(read: Read, scope: InInstance, frames: FrameList) -> Response:
    """Retrieve frames' pixel data (1-based, comma-separated), as stored or decoded (WADO-RS)."""
    return dicomweb.retrieve_frames(reader=read, scope=scope, numbers=parse_frame_list(frames))


_RENDERED: dict[str, Any] = {
    "response_class": Response,
    "responses": {
        200: {
            "content": {
                m: {"schema": {"type": "string", "format": "binary"}}
                for m in ("image/jpeg", "image/png")
            }
        },
        **errors(400, 401, 403, 404, 406, 502),
    },
}
OneFrame = Annotated[int, Path(ge=1, le=999_999, description="1-based frame number")]


def render_options(
    quality: Annotated[int, Query(ge=1, le=100, description="JPEG quality.")] = 90,
    viewport: Annotated[
        str | None, Query(max_length=16, description="Fit into 'width,height' pixels.")
    ] = None,
) -> rendered.Options:
    return rendered.Options(quality=quality, viewport=rendered.parse_viewport(viewport))


RenderOptions = Annotated[rendered.Options, Depends(render_options)]


@router.get("/studies/{study}/series/{series}/instances/{instance}/rendered", **_RENDERED)
def render_instance(read: Read, scope: InInstance, options: RenderOptions) -> Response:
    """The instance's first frame rendered as image/jpeg (default) or image/png (WADO-RS)."""
    return dicomweb.render(reader=read, scope=scope, frame=1, options=options)


@router.get(
    "/studies/{study}/series/{series}/instances/{instance}/frames/{frame}/rendered", **_RENDERED
)
def render_frame(read: Read, scope: InInstance, frame: OneFrame, options: RenderOptions
                 ) -> Response:  # fmt: skip
    """One frame rendered as image/jpeg (default) or image/png (WADO-RS)."""
    return dicomweb.render(reader=read, scope=scope, frame=frame, options=options)


BulkTag = Annotated[str, Path(pattern=r"^[0-9A-Fa-f]{8}$", description="e.g. 7FE00010")]


@router.get("/studies/{study}/series/{series}/instances/{instance}/bulkdata/{tag}", **_RETRIEVE)
def retrieve_bulkdata(read: Read, scope: InInstance, tag: BulkTag) -> Response:
    """Retrieve the bulk data a metadata BulkDataURI names (WADO-RS)."""
    return dicomweb.retrieve_bulkdata(reader=read, scope=scope, tag=bulkdata.parse_tag(tag))


@router.get("/studies/{study}/metadata", **_METADATA)
def study_metadata(read: Read, scope: InStudy) -> Search:
    """Every instance header of a study as DICOM JSON, bulk data by BulkDataURI (WADO-RS)."""
    return dicomweb.metadata(reader=read, scope=scope)


@router.get("/studies/{study}/series/{series}/metadata", **_METADATA)
def series_metadata(read: Read, scope: InSeries) -> Search:
    """Every instance header of a series as DICOM JSON, bulk data by BulkDataURI (WADO-RS)."""
    return dicomweb.metadata(reader=read, scope=scope)


@router.get("/studies/{study}/series/{series}/instances/{instance}/metadata", **_METADATA)
def instance_metadata(read: Read, scope: InInstance) -> Search:
    """One instance header as DICOM JSON, bulk data by BulkDataURI (WADO-RS)."""
    return dicomweb.metadata(reader=read, scope=scope)
