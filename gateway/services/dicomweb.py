"""DICOMweb over the case store: QIDO-RS search, WADO-RS retrieve and metadata.

Every handler works on a :class:`Reader` (the case store, the session's readable grants,
the request's ``Accept`` and base URL) and a :class:`Scope` (the UIDs of the request path,
study → series → instance), so a level differs from another only by its scope.
"""

from __future__ import annotations

import io
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO

from fastapi.responses import Response, StreamingResponse
from pydicom.tag import BaseTag

from gateway.abc import CaseStoreAPI
from gateway.disclosure.entry import Kind
from gateway.disclosure.recorder import Discloser
from gateway.domain import InstanceHeader
from gateway.exceptions import NotFound
from gateway.services import bulkdata, frames, rendered
from gateway.services.accept import negotiate_instances, require_json
from gateway.services.multipart import Part, content_type, new_boundary, stream_parts
from gateway.services.qido import Level, QidoQuery, search
from gateway.services.transcode import transcode
from gateway.typing import DicomUID
from keys.typing import GrantId


@dataclass(frozen=True, slots=True)
class Reader:
    """What every DICOMweb request reads with."""

    cases: CaseStoreAPI
    grants: Collection[GrantId]
    accept: str | None
    base_url: str
    #: Accounts each item served (one call per instance, frame set, image or bulk value).
    disclose: Discloser

    def account(self, kind: Kind, header: InstanceHeader, size: int) -> None:
        """One disclosure entry for ``header``, before its bytes go out."""
        self.disclose.record(kind=kind, grant=header.grant_id, record=header.record_id,
                             sop_uid=header.sop_uid, size=size)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Scope:
    """The UIDs a request path names, outermost first (``None`` below the path's level)."""

    study: DicomUID | None = None
    series: DicomUID | None = None
    sop: DicomUID | None = None

    @property
    def depth(self) -> int:
        """How many levels the path fixes (0: none, 1: study, 2: series, 3: instance)."""
        return sum(uid is not None for uid in (self.study, self.series, self.sop))


def search_level(*, reader: Reader, level: Level, query: QidoQuery, scope: Scope
                 ) -> list[dict[str, Any]]:  # fmt: skip
    """QIDO-RS results at ``level`` under the path's UIDs (empty when nothing matches)."""
    require_json(reader.accept)
    instances = reader.cases.list_instances(grants=reader.grants, study=scope.study,
                                            series=scope.series)  # fmt: skip
    results = search(instances=instances, level=level, query=query, depth=scope.depth,
                     base_url=reader.base_url)  # fmt: skip
    _account_search(reader, instances, results, scope)
    return results


_STUDY_UID_TAG = "0020000D"


def _account_search(reader: Reader, instances: Sequence[InstanceHeader],
                    results: list[dict[str, Any]], scope: Scope) -> None:  # fmt: skip
    """One ``search`` entry per (grant, study record) the results came from."""
    sources: dict[str, set[tuple[GrantId, bytes | None]]] = {}
    for header in instances:
        sources.setdefault(header.study_uid, set()).add((header.grant_id, header.record_id))
    counts: dict[tuple[GrantId, bytes | None], int] = {}
    for result in results:
        uid = scope.study or (result.get(_STUDY_UID_TAG, {}).get("Value") or [None])[0]
        for source in sources.get(str(uid), ()):
            counts[source] = counts.get(source, 0) + 1
    for (grant, record), n in sorted(counts.items(), key=lambda kv: (kv[0][0], kv[0][1] or b"")):
        reader.disclose.record(kind=Kind.SEARCH, grant=grant, record=record, size=n)


def _instances(reader: Reader, scope: Scope) -> list[InstanceHeader]:
    found = list(reader.cases.list_instances(grants=reader.grants, study=scope.study,
                                             series=scope.series, sop=scope.sop))  # fmt: skip
    if not found:
        what = ("study", "series", "instance")[scope.depth - 1]
        raise NotFound(f"no such {what} under this session's grants")
    return found


def _open(reader: Reader, header: InstanceHeader) -> BinaryIO:
    return reader.cases.open_instance(grants=reader.grants, study=header.study_uid,
                                      series=header.series_uid, sop=header.sop_uid)  # fmt: skip


def instance_url(reader: Reader, header: InstanceHeader) -> str:
    """The instance's WADO-RS URL as the client reached us (``Content-Location``)."""
    return (f"{reader.base_url}/studies/{header.study_uid}/series/{header.series_uid}"
            f"/instances/{header.sop_uid}")  # fmt: skip


def _part(reader: Reader, header: InstanceHeader, target: str | None) -> Part:
    """The instance's verified bytes, transcoded to ``target`` when it is stored otherwise.

    The case store hands over bytes already re-hashed against the anchor; transcoding works
    on those, so what goes out is derived from verified bytes only.
    """
    stream = _open(reader, header)
    location = instance_url(reader, header)
    if target is None or target == header.transfer_syntax:
        reader.account(Kind.INSTANCE, header, _size(stream))
        return Part(stream, header.transfer_syntax, location)
    with stream:
        data = transcode(stream.read(), target=target)
    reader.account(Kind.INSTANCE, header, len(data))
    return Part(io.BytesIO(data), target, location)


def _size(stream: BinaryIO) -> int:
    here = stream.tell()
    end = stream.seek(0, io.SEEK_END)
    stream.seek(here)
    return end - here


def retrieve(*, reader: Reader, scope: Scope) -> Response:
    """WADO-RS: the instances as ``multipart/related; type="application/dicom"``.

    Several instances are streamed, each opened (and verified) when its turn comes, so memory
    stays flat for a large study. One instance is already verified in memory once opened:
    it is sent in one piece, sparing the per-chunk thread handoffs of a streamed body.
    Instances go out in the negotiated transfer syntax (:func:`negotiate_instances`).
    """
    instances = _instances(reader, scope)
    target = negotiate_instances(reader.accept, stored={h.transfer_syntax for h in instances})
    first = _part(reader, instances[0], target)
    boundary = new_boundary()
    body = stream_parts(instances=instances, first=first, boundary=boundary,
                        open_instance=lambda header: _part(reader, header, target))  # fmt: skip
    if len(instances) == 1:
        return Response(b"".join(body), media_type=content_type(boundary))
    return StreamingResponse(body, media_type=content_type(boundary))


def retrieve_frames(*, reader: Reader, scope: Scope, numbers: list[int]) -> Response:
    """WADO-RS frames: the chosen frames' pixel data, one part each (see ``frames``)."""
    header = _instances(reader, scope)[0]
    choice = frames.negotiate(reader.accept, syntax=header.transfer_syntax)
    found = frames.extract(stream=_open(reader, header), numbers=numbers, choice=choice)
    reader.account(Kind.FRAME, header, sum(len(p) for p in found.parts))
    where = instance_url(reader, header)
    return _frames_response(found, [f"{where}/frames/{n}" for n in numbers])


def metadata(*, reader: Reader, scope: Scope) -> list[dict[str, Any]]:
    """WADO-RS metadata: each instance's header as DICOM JSON, bulk data by ``BulkDataURI``."""
    require_json(reader.accept)
    answer = []
    for header in _instances(reader, scope):
        item = _metadata(reader, header)
        reader.account(Kind.METADATA, header, 0)  # a header, not bulk data: no byte count
        answer.append(item)
    return answer


def _metadata(reader: Reader, header: InstanceHeader) -> dict[str, Any]:
    url = instance_url(reader, header)
    return bulkdata.metadata_json(
        header.dataset, transfer_syntax=header.transfer_syntax, instance_url=url
    )


def retrieve_bulkdata(*, reader: Reader, scope: Scope, tag: BaseTag) -> Response:
    """WADO-RS bulk data: the value of one element of a verified instance."""
    header = _instances(reader, scope)[0]
    found = bulkdata.extract(stream=_open(reader, header), tag=tag, accept=reader.accept)
    reader.account(Kind.BULKDATA, header, sum(len(p) for p in found.parts))
    where = bulkdata.url(instance_url(reader, header), tag)
    return _frames_response(found, [where] * len(found.parts))


def _frames_response(found: frames.Frames, locations: list[str]) -> Response:
    boundary = new_boundary()
    return Response(
        frames.body(frames=found, boundary=boundary, locations=locations),
        media_type=f'multipart/related; type="{found.media_type}"; boundary={boundary}',
    )


def render(*, reader: Reader, scope: Scope, frame: int, options: rendered.Options) -> Response:
    """WADO-RS rendered: one frame of a verified instance as JPEG (default) or PNG."""
    media_type = rendered.negotiate(reader.accept)
    header = _instances(reader, scope)[0]
    image = rendered.render(stream=_open(reader, header), frame=frame, media_type=media_type,
                            options=options)  # fmt: skip
    reader.account(Kind.RENDERED, header, len(image))
    return Response(image, media_type=media_type)
