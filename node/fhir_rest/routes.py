"""The ``/fhir`` router: metadata, transaction/batch, create, update, read (FHIR R4 JSON).

Routes read the raw body under the route's limit and do every JSON parse, validation and
seal on a worker thread (:func:`starlette.concurrency.run_in_threadpool`), as ``/records``
does, so a large Bundle never blocks the event loop. Every refusal is an OperationOutcome
(:func:`install_fhir` registers the handler and a declared-length check that answers 413
in FHIR's shape before the body is read).
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from common.limits import BodyTooLarge
from node.config import ApiSettings
from node.exceptions import IngestError
from node.fhir_rest.capability import capability_statement
from node.fhir_rest.entries import bundle_entries, check_id, check_type, plan_entry, plan_resource
from node.fhir_rest.index import ResourceIndex
from node.fhir_rest.limits import FhirBodyLimit, read_body
from node.fhir_rest.outcome import FHIR_JSON, FhirRestError, from_ingest_error
from node.fhir_rest.read import read_record
from node.fhir_rest.responses import outcome_response, response_bundle, written_resource
from node.fhir_rest.writer import FhirWriter
from node.formats.fhir_json import load_strict_json
from node.service import NodeService

PREFIX = "/fhir"
#: The body every write route reads itself (declared so clients and fuzzers see it).
_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            FHIR_JSON: {"schema": {"type": "object"}},
            "application/json": {"schema": {"type": "object"}},
        },
    }
}
_OUT: dict[str, Any] = {"content": {FHIR_JSON: {}}}
_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"description": f"{what} (an OperationOutcome)", "content": {FHIR_JSON: {}}}
    for code, what in (
        (400, "Not JSON, or not a valid request"),
        (401, "No or wrong token"),
        (413, "Body over the limit"),
        (415, "Not JSON"),
        (422, "Not valid FHIR R4, or not supported"),
    )
}
_STARTED = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


_WRITER_LOCK = threading.Lock()


def fhir_writer(app: FastAPI) -> FhirWriter:
    """The app's writer, made on first use (the docs build the app without a real node)."""
    with _WRITER_LOCK:
        writer: FhirWriter | None = getattr(app.state, "fhir_writer", None)
        if writer is None:
            node: NodeService = app.state.node
            index = ResourceIndex(node.parts.outbox_path.parent / "fhir.sqlite")
            writer = app.state.fhir_writer = FhirWriter(node, index)
        return writer


async def _writer(request: Request) -> FhirWriter:
    return fhir_writer(request.app)


async def require_fhir_token(request: Request) -> None:
    """The node's operator token, refused as an OperationOutcome (401) when wrong."""
    settings: ApiSettings = request.app.state.api_settings
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not settings.token_ok(token.strip()):
        raise FhirRestError(401, "missing or wrong API token (Authorization: Bearer ...)")


Writer = Annotated[FhirWriter, Depends(_writer)]
public = APIRouter(prefix=PREFIX, tags=["fhir"])
router = APIRouter(prefix=PREFIX, tags=["fhir"], dependencies=[Depends(require_fhir_token)])


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + PREFIX


async def _body(request: Request) -> bytes:
    kind = request.headers.get("content-type", "application/fhir+json").split(";")[0].strip()
    if "json" not in kind:
        raise FhirRestError(415, "send FHIR JSON (application/fhir+json)")
    limit: int = request.app.state.api_settings.max_fhir_bytes
    try:
        return await read_body(request, limit)
    except BodyTooLarge:  # the app's BodyLimitMiddleware cut the stream first
        raise FhirRestError(413, f"the body exceeds the limit of {limit} bytes") from None


def _load(raw: bytes) -> Any:
    try:
        return load_strict_json(raw, max_bytes=len(raw))
    except IngestError as exc:
        raise from_ingest_error(exc) from None


@public.get("/metadata", responses={200: _OUT})
def metadata(request: Request) -> JSONResponse:
    """The CapabilityStatement (FHIR 4.0.1): what this facade supports (no token needed)."""
    return JSONResponse(capability_statement(_base(request), released=_STARTED),
                        media_type=FHIR_JSON)  # fmt: skip


@router.post("", responses={200: _OUT, **_ERRORS}, openapi_extra=_BODY)
@router.post("/", include_in_schema=False)  # clients join "base/" + "": the same endpoint
async def transaction_or_batch(request: Request, writer: Writer) -> JSONResponse:
    """A transaction (all or nothing) or batch (each entry alone) Bundle."""
    raw = await _body(request)

    def work() -> tuple[str, list[Any]]:
        kind, entries = bundle_entries(_load(raw))
        if kind == "transaction":
            return kind, list(writer.transaction([plan_entry(e, i) for i, e in
                                                  enumerate(entries)]))  # fmt: skip
        planned: list[Any] = []
        for i, e in enumerate(entries):
            try:
                planned.append(plan_entry(e, i))
            except FhirRestError as exc:
                planned.append(exc)
        return kind, list(writer.batch(planned))

    kind, results = await run_in_threadpool(work)
    return response_bundle(_base(request), kind, results)


async def _write_one(request: Request, writer: Writer, rtype: str, rid: str | None) -> JSONResponse:
    raw = await _body(request)
    method = "POST" if rid is None else "PUT"

    def work() -> Any:
        planned = plan_resource(_load(raw), index=0, method=method, url_type=rtype, url_id=rid,
                                where="resource")  # fmt: skip
        return writer.transaction([planned])[0]

    return written_resource(_base(request), await run_in_threadpool(work))


@router.post("/{rtype}", status_code=201, responses={201: _OUT, **_ERRORS}, openapi_extra=_BODY)
async def create(rtype: str, request: Request, writer: Writer) -> JSONResponse:
    """Create a resource with a server-assigned id; 201 with ``Location``."""
    return await _write_one(request, writer, rtype, None)


@router.put("/{rtype}/{rid}", responses={200: _OUT, 201: _OUT, **_ERRORS}, openapi_extra=_BODY)
async def update(rtype: str, rid: str, request: Request, writer: Writer) -> JSONResponse:
    """A new version of ``Type/id`` (200), or its first one (201); same content: unchanged."""
    return await _write_one(request, writer, rtype, rid)


def _read(writer: FhirWriter, rtype: str, rid: str, version: int | None) -> JSONResponse:
    check_type(rtype, "request")
    check_id(rid, "request")
    if version is None:
        current = writer.index.current(rtype, rid)
        found = None if current is None else current[1]
        version = None if current is None else current[0]
    else:
        found = writer.index.version(rtype, rid, version)
    if found is None:
        raise FhirRestError(404, "no such resource (or version)")
    resource = read_record(writer.node, found, writer.keyring)
    return JSONResponse(resource, media_type=FHIR_JSON, headers={"ETag": f'W/"{version}"'})


@router.get("/{rtype}/{rid}", responses={200: _OUT, 404: _OUT, **_ERRORS})
def read(rtype: str, rid: str, writer: Writer) -> JSONResponse:
    """The current version of ``Type/id``, decrypted and checked against its anchored hash."""
    return _read(writer, rtype, rid, None)


@router.get("/{rtype}/{rid}/_history/{vid}", responses={200: _OUT, 404: _OUT, **_ERRORS})
def vread(rtype: str, rid: str, vid: int, writer: Writer) -> JSONResponse:
    """One version of ``Type/id``, decrypted and checked against its anchored hash."""
    return _read(writer, rtype, rid, vid)


def _handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, FhirRestError)
    return outcome_response(exc)


def install_fhir(app: FastAPI, *, limit: int) -> None:
    """Mount ``/fhir`` on the node app: routes, OperationOutcome errors, the 413 check.

    Call after :func:`common.guard.guard`, so the declared-length check is the outermost
    middleware for ``/fhir`` and answers before the generic 413.
    """
    app.add_exception_handler(FhirRestError, _handler)
    app.add_middleware(FhirBodyLimit, prefix=PREFIX, limit=limit)


def fhir_routers() -> list[APIRouter]:
    """The routers to include (before :func:`common.guard.guard` documents them)."""
    return [public, router]
