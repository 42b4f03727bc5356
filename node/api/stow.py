"""STOW-RS on the node (PS3.18 §10.5): a PACS stores studies with ``POST /studies``.

The body (``multipart/related; type="application/dicom"``) is parsed as it streams in, each
part written to its own file (:mod:`node.dimse.related`), checked and spooled as one
instance, then the spooled studies are ingested like a DIMSE association
(:class:`node.dimse.ingest.StandardIngest`: idempotent by SOP Instance UID, a study that
gains instances gets a new version holding the union). The app's body limit refuses an
oversized body with 413 before any of it is parsed.
"""

from __future__ import annotations

import json
from pathlib import Path

from fastapi import APIRouter, Depends, Request, Response, status
from starlette.concurrency import run_in_threadpool

from common.errors import CodedHTTPException, exception_code
from common.limits import BodyTooLarge
from node.api.deps import require_token
from node.api.schemas import ERRORS
from node.config import LoadedConfig
from node.dimse.ingest import StandardIngest
from node.dimse.related import BadMultipart, RelatedReader, UnsupportedMedia, boundary_of
from node.dimse.spool import Spool
from node.dimse.stow import reasons, spool_part, store_response
from node.exceptions import IngestError

DICOM_JSON = "application/dicom+json"
_RESPONSES = {
    **ERRORS,
    200: {"description": "Every instance stored (or already held)",
          "content": {DICOM_JSON: {}}},
    202: {"description": "Some instances stored, some failed (FailedSOPSequence)",
          "content": {DICOM_JSON: {}}},
    409: {"description": "No instance stored (FailedSOPSequence says why)",
          "content": {DICOM_JSON: {}}},
    415: {"description": 'Not multipart/related; type="application/dicom"'},
}  # fmt: skip
_BODY = {"requestBody": {"required": True, "content": {
    'multipart/related; type="application/dicom"': {"schema": {"type": "string",
                                                               "format": "binary"}}}}}  # fmt: skip


def stow_router(ingest: StandardIngest, *, spool_root: Path, max_instance_bytes: int,
                max_body_bytes: int) -> APIRouter:  # fmt: skip
    """``POST /studies`` and ``POST /studies/{study}`` feeding ``ingest``."""
    router = APIRouter(tags=["dicomweb"], dependencies=[Depends(require_token)])

    async def store(request: Request, study: str | None) -> Response:
        try:
            boundary = boundary_of(request.headers.get("content-type"))
        except UnsupportedMedia as exc:
            raise CodedHTTPException(415, str(exc), code="unsupported_media_type") from None
        except BadMultipart as exc:
            raise CodedHTTPException(400, str(exc), code=exception_code(exc)) from None
        spool = Spool(spool_root, max_instance_bytes=max_instance_bytes)
        try:
            reader = RelatedReader(boundary, directory=spool.directory,
                                   max_part_bytes=max_instance_bytes)  # fmt: skip
            size = 0
            try:
                async for chunk in request.stream():
                    size += len(chunk)
                    if size > max_body_bytes:
                        raise BodyTooLarge(max_body_bytes)
                    reader.feed(chunk)
                parts = reader.finish()
            except BadMultipart as exc:
                raise CodedHTTPException(400, str(exc), code=exception_code(exc)) from None
            finally:
                reader.close()

            def work() -> tuple[int, dict[str, object], list[str], list[str]]:
                results = [spool_part(spool, part, study=study) for part in parts]
                outcomes = ingest.ingest(spool)
                code, body, records = store_response(results, outcomes)
                return code, body, records, reasons(results, outcomes)

            try:
                code, body, records, why = await run_in_threadpool(work)
            except IngestError as exc:  # pragma: no cover - outcomes carry study errors
                raise CodedHTTPException(409, str(exc), code=exception_code(exc)) from None
        finally:
            spool.discard()
        headers = {"Link": ", ".join(f'</records/{r}>; rel="related"' for r in records)}
        if why:
            headers["Warning"] = "; ".join(f'299 medledger "{w}"' for w in why[:20])
        if not records:
            headers.pop("Link")
        return Response(json.dumps(body), status_code=code, media_type=DICOM_JSON,
                        headers=headers)  # fmt: skip

    @router.post("/studies", status_code=status.HTTP_200_OK, responses=_RESPONSES,
                 response_class=Response, openapi_extra=_BODY)  # fmt: skip
    async def post_studies(request: Request) -> Response:
        """Store DICOM instances of any studies (STOW-RS); a PS3.18 store response."""
        return await store(request, None)

    @router.post("/studies/{study}", status_code=status.HTTP_200_OK, responses=_RESPONSES,
                 response_class=Response, openapi_extra=_BODY)  # fmt: skip
    async def post_study(study: str, request: Request) -> Response:
        """Store DICOM instances of one study (STOW-RS); others fail with 0xA900."""
        return await store(request, study)

    return router


def stow_routers(config: LoadedConfig, ingest: StandardIngest) -> list[APIRouter]:
    """The STOW-RS router of a node run from ``config``."""
    return [stow_router(ingest, spool_root=config.data_dir / "spool",
                        max_instance_bytes=config.settings.dimse.max_instance_bytes,
                        max_body_bytes=config.settings.api.max_dicom_bytes)]  # fmt: skip
