"""The gateway's ASGI application, assembled from settings and the seams' implementations."""

from __future__ import annotations

import logging
from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match, Route

from gateway import access_log, openapi
from gateway.audit.pages import router as audit_pages
from gateway.audit.router import router as audit_api
from gateway.container import Services
from gateway.exceptions import GatewayError, IntegrityError
from gateway.routers import audit, auth, dicomweb, grants, records
from gateway.settings import GatewaySettings, get_settings

log = logging.getLogger(__name__)

DESCRIPTION = """\
A hospital's gateway to the medledger consortium. Physicians sign in by signing a
challenge with their registered key, then read the records and DICOM studies of the
grants they redeemed (DICOMweb under `/dicomweb`). Auditors see each case's story as
rebuilt from chain events. Every refusal is `{"error": code, "detail": why}`.
"""


def _error_response(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, GatewayError)
    if isinstance(exc, IntegrityError):
        # Reported, never served. The path is left out: it may carry identifiers.
        log.error("integrity failure refused: %s", exc.code)
    elif exc.status_code >= 500:
        log.error("gateway error %s", exc.code)
    headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
    return JSONResponse(
        {"error": exc.code, "detail": str(exc)}, status_code=exc.status_code, headers=headers
    )


def _http_error(request: Request, exc: Exception) -> JSONResponse:
    """Framework refusals (bad JSON, unknown method) in the same body shape as ours."""
    assert isinstance(exc, StarletteHTTPException)
    headers = dict(exc.headers or {})
    if exc.status_code == 405:  # Starlette lists only the first route's methods
        headers["Allow"] = ", ".join(sorted(_methods(request)))
    code = HTTPStatus(exc.status_code).phrase.lower().replace(" ", "_").replace("-", "_")
    return JSONResponse(
        {"error": code, "detail": str(exc.detail)}, status_code=exc.status_code, headers=headers
    )


def _methods(request: Request) -> set[str]:
    allowed: set[str] = set()
    for route in request.app.routes:
        if isinstance(route, Route) and route.methods:
            match, _ = route.matches({**request.scope, "method": "GET"})
            if match is not Match.NONE:
                allowed |= route.methods
    return allowed


def create_app(*, services: Services, settings: GatewaySettings | None = None) -> FastAPI:
    """A gateway app over ``services``; ``settings`` overrides the environment's.

    Parameters
    ----------
    services
        The seams' implementations (chain view, case store, session store, audit source).
    settings
        When given, served instead of :func:`~gateway.settings.get_settings` (tests, embedding).
    """
    app = FastAPI(title="medledger gateway", version="0.1.0", description=DESCRIPTION)
    app.state.services = services
    effective = settings or get_settings()
    app.state.settings = effective
    if effective.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=effective.cors_origins,
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "Accept", "Content-Type"],
            expose_headers=["Content-Type", "Content-Length", "Repr-Digest"],
            max_age=600,
        )
    app.add_exception_handler(GatewayError, _error_response)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.include_router(auth.router)
    app.include_router(grants.router)
    app.include_router(records.router)
    app.include_router(dicomweb.router)
    app.include_router(audit.router)
    app.include_router(audit_api)
    app.include_router(audit_pages)
    openapi.install(app)
    access_log.install()
    return app
