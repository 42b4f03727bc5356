"""DICOMweb over the case store: QIDO-RS search, WADO-RS retrieve and metadata."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, BinaryIO

from fastapi.responses import Response, StreamingResponse

from gateway.abc import CaseStoreAPI
from gateway.domain import InstanceHeader
from gateway.exceptions import NotFound
from gateway.services import frames
from gateway.services.accept import require_json, require_multipart_dicom
from gateway.services.dicom_attrs import to_dicom_json
from gateway.services.multipart import content_type, new_boundary, stream_parts
from gateway.services.qido import Level, QidoQuery, search
from gateway.typing import DicomUID, GrantId


def search_level(
    *,
    cases: CaseStoreAPI,
    grants: Collection[GrantId],
    level: Level,
    query: QidoQuery,
    accept: str | None,
    base_url: str,
    study: DicomUID | None = None,
    series: DicomUID | None = None,
) -> list[dict[str, Any]]:
    """QIDO-RS results at ``level`` under the path's UIDs (empty when nothing matches)."""
    require_json(accept)
    instances = cases.list_instances(grants=grants, study=study, series=series)
    depth = 0 if study is None else 1 if series is None else 2
    return search(instances=instances, level=level, query=query, depth=depth, base_url=base_url)


def _instances(
    cases: CaseStoreAPI,
    grants: Collection[GrantId],
    study: DicomUID,
    series: DicomUID | None,
    sop: DicomUID | None,
) -> list[InstanceHeader]:
    found = list(cases.list_instances(grants=grants, study=study, series=series, sop=sop))
    if not found:
        what = "instance" if sop else "series" if series else "study"
        raise NotFound(f"no such {what} under this session's grants")
    return found


def retrieve(
    *,
    cases: CaseStoreAPI,
    grants: Collection[GrantId],
    accept: str | None,
    study: DicomUID,
    series: DicomUID | None = None,
    sop: DicomUID | None = None,
) -> StreamingResponse:
    """WADO-RS: the instances as ``multipart/related; type="application/dicom"``, streamed."""
    instances = _instances(cases, grants, study, series, sop)
    require_multipart_dicom(accept, stored={h.transfer_syntax for h in instances})

    def open_one(header: InstanceHeader) -> BinaryIO:
        return cases.open_instance(
            grants=grants, study=header.study_uid, series=header.series_uid, sop=header.sop_uid
        )

    first = open_one(instances[0])
    boundary = new_boundary()
    body = stream_parts(instances=instances, first=first, open_instance=open_one, boundary=boundary)
    return StreamingResponse(body, media_type=content_type(boundary))


def retrieve_frames(
    *,
    cases: CaseStoreAPI,
    grants: Collection[GrantId],
    accept: str | None,
    study: DicomUID,
    series: DicomUID,
    sop: DicomUID,
    numbers: list[int],
) -> Response:
    """WADO-RS frames: the chosen frames' pixel data as stored, one part each."""
    header = _instances(cases, grants, study, series, sop)[0]
    media_type = frames.media_type_for(header.transfer_syntax)
    frames.require_frames_acceptable(accept, media_type=media_type, syntax=header.transfer_syntax)
    stream = cases.open_instance(grants=grants, study=study, series=series, sop=sop)
    found = frames.extract(stream=stream, numbers=numbers)
    boundary = new_boundary()
    return Response(
        frames.body(frames=found, boundary=boundary),
        media_type=f'multipart/related; type="{found.media_type}"; boundary={boundary}',
    )


def metadata(
    *,
    cases: CaseStoreAPI,
    grants: Collection[GrantId],
    accept: str | None,
    study: DicomUID,
    series: DicomUID | None = None,
    sop: DicomUID | None = None,
) -> list[dict[str, Any]]:
    """WADO-RS metadata: each instance's header as DICOM JSON, bulk data omitted."""
    require_json(accept)
    return [to_dicom_json(h.dataset) for h in _instances(cases, grants, study, series, sop)]
