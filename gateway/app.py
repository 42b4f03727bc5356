"""The gateway's ASGI application, assembled from settings and the seams' implementations."""

from __future__ import annotations

import logging
from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match, Route

from common.guard import guard
from common.limits import RouteLimit
from common.ratelimit import RateRule, TokenBucket
from gateway import access_log, openapi
from gateway.audit.disclosure_router import router as audit_disclosures
from gateway.audit.pages import router as audit_pages
from gateway.audit.router import router as audit_api
from gateway.container import Services
from gateway.exceptions import GatewayError, IntegrityError
from gateway.routers import audit, auth, breakglass, dicomweb, grants, inbox, outbound, records
from gateway.settings import GatewaySettings, get_settings
from gateway.workspace.router import router as workspace

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
    if exc.status_code == 429:  # a slot frees up at the latest when a challenge expires
        headers = {"Retry-After": str(request.app.state.settings.challenge_ttl_seconds)}
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
    app.include_router(inbox.router)
    app.include_router(breakglass.router)
    app.include_router(records.router)
    app.include_router(dicomweb.router)
    app.include_router(outbound.router)
    app.include_router(audit.router)
    app.include_router(audit_api)
    app.include_router(audit_disclosures)
    app.include_router(audit_pages)
    app.include_router(workspace)
    openapi.install(app)
    guard(app, body_default=effective.max_body_bytes, body_routes=_body_limits(effective),
          rate_rules=_rate_rules(effective))  # fmt: skip
    access_log.install()
    return app


#: The routes that issue sign-in challenges (no credential needed to call them).
CHALLENGE_ROUTES = {"physician": "/auth/challenge", "auditor": "/audit/auth/challenge",
                    "auditor page": "/audit/signin"}  # fmt: skip
_AUTH_PATHS = "/auth/.*|/audit/auth/.*|/audit/signin(/.*)?"


#: Redemption bodies are a token, a nonce, a deadline and a signature: well under a KB.
_GRANT_PATHS = "/grants/redemption-request|/grants/redeem"


def _body_limits(settings: GatewaySettings) -> list[RouteLimit]:
    return [RouteLimit(_AUTH_PATHS, settings.max_auth_body_bytes),
            RouteLimit(_GRANT_PATHS, settings.max_auth_body_bytes)]  # fmt: skip


def _rate_rules(settings: GatewaySettings) -> list[RateRule]:
    """One bucket per challenge route and client address (so each role has its own)."""
    rate = settings.challenge_rate_per_minute / 60
    return [
        RateRule(path, frozenset({"POST"}), TokenBucket(rate=rate, burst=settings.challenge_burst))
        for path in CHALLENGE_ROUTES.values()
    ]
