"""``create_app``: the node's FastAPI application, with extra routers plugged in."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import APIRouter, FastAPI
from starlette.exceptions import HTTPException as StarletteHTTPException

from common.errors import http_error_handler
from common.version import __version__
from node.api import records
from node.config import ApiSettings
from node.service import NodeService


def create_app(
    node: NodeService, *, api: ApiSettings, routers: Sequence[APIRouter] = ()
) -> FastAPI:
    """The node API: ``/records`` plus ``routers`` (the case routers of referrals/grants).

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
    for router in routers:
        app.include_router(router)

    @app.get("/health", tags=["health"])
    def health() -> dict[str, str | None]:
        """Liveness, and the last anchoring error class if the drain is failing."""
        return {"status": "ok", "anchoring_error": node.last_error}

    return app
