"""Dependencies of the node API: the running node and the bearer-token check.

The ones that only read ``app.state`` or compare a hash are ``async``: FastAPI runs a plain
``def`` dependency on a worker thread, and those hops were most of the event loop's time per
single-record request. :func:`get_outbox` stays a ``def``: it opens the SQLite connection of
the thread the endpoint runs on.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from node.anchor.outbox import Outbox
from node.config import ApiSettings
from node.service import NodeService

_bearer = HTTPBearer(auto_error=False)


async def get_node(request: Request) -> NodeService:
    node: NodeService = request.app.state.node
    return node


async def get_api_settings(request: Request) -> ApiSettings:
    settings: ApiSettings = request.app.state.api_settings
    return settings


async def require_token(
    settings: Annotated[ApiSettings, Depends(get_api_settings)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """Refuse any request without the hospital's API token (stored hashed in the config)."""
    if credentials is None or not settings.token_ok(credentials.credentials):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "missing or wrong API token",
            headers={"WWW-Authenticate": "Bearer"},
        )


def get_outbox(node: Annotated[NodeService, Depends(get_node)]) -> Outbox:
    return node.outbox()


CurrentNode = Annotated[NodeService, Depends(get_node)]
CurrentOutbox = Annotated[Outbox, Depends(get_outbox)]
ApiConfig = Annotated[ApiSettings, Depends(get_api_settings)]
