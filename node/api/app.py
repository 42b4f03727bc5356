"""``create_app``: the node's FastAPI application, with extra routers plugged in."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import APIRouter, FastAPI
from starlette.exceptions import HTTPException as StarletteHTTPException

from common.errors import http_error_handler
from common.guard import guard
from common.limits import RouteLimit
from common.ratelimit import RateRule, TokenBucket
from common.version import __version__
from node.api import records
from node.config import ApiSettings
from node.fhir_rest.routes import fhir_routers, install_fhir
from node.service import NodeService


def create_app(
    node: NodeService, *, api: ApiSettings, routers: Sequence[APIRouter] = ()
) -> FastAPI:
    """The node API: ``/records``, ``/fhir`` (the FHIR facade) and ``routers`` (case routers).

    Extra routers should depend on :func:`node.api.deps.require_token` (as ``/records``
    does) and read the node through :data:`node.api.deps.CurrentNode`.
    """
    app = FastAPI(
        title="medledger hospital node",
        version=__version__,
        description="Ingest records for anchoring; read their status and proofs. Every refusal"
        ' is `{"error": code, "detail": why}` (the gateway\'s shape).',
    )
    app.add_exception_handler(StarletteHTTPException, http_error_handler)
    app.state.node = node
    app.state.api_settings = api
    app.include_router(records.router)
    for fhir in fhir_routers():
        app.include_router(fhir)
    for router in routers:
        app.include_router(router)

    @app.get("/health", tags=["health"])
    def health() -> dict[str, str | None]:
        """Liveness, and the last anchoring error class if the drain is failing."""
        return {"status": "ok", "anchoring_error": node.last_error}

    guard(app, body_default=api.max_json_bytes, body_routes=body_limits(api),
          rate_rules=peer_rate_rules(api))  # fmt: skip
    install_fhir(app, limit=api.max_fhir_bytes)
    return app


def body_limits(api: ApiSettings) -> list[RouteLimit]:
    """Per-route body limits: ingest keeps its configured limits, peers get a small one."""
    return [
        RouteLimit("/records/fhir", api.max_fhir_bytes),
        RouteLimit("/fhir(/.*)?", api.max_fhir_bytes),
        RouteLimit("/records/fhir/bulk", api.max_bulk_bytes),
        RouteLimit("/records/dicom", api.max_dicom_bytes),
        RouteLimit("/studies(/[^/]+)?", api.max_dicom_bytes),  # STOW-RS (node.api.stow)
        RouteLimit("/deliveries", api.max_delivery_bytes),
    ]


def peer_rate_rules(api: ApiSettings) -> list[RateRule]:
    """Rate limits per client address on the routes other nodes call without a token."""
    deliveries = TokenBucket(rate=api.delivery_rate_per_minute / 60, burst=api.delivery_burst)
    blocks = TokenBucket(rate=api.block_rate_per_second, burst=api.block_burst)
    return [
        RateRule("/deliveries", frozenset({"POST"}), deliveries),
        RateRule("/blocks/.*", frozenset({"GET", "HEAD"}), blocks),
    ]
