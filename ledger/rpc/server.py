"""The RPC transport: HTTP POST and WebSocket on the same port (Starlette on uvicorn).

Request handling runs the synchronous dispatcher on worker threads so a slow ledger call never
stalls the event loop; WebSocket messages of one connection are answered in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Final

import orjson
from anyio import to_thread
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from ledger.abc import LedgerAPI
from ledger.rpc.dispatch import Dispatcher, Limits
from ledger.rpc.errors import InvalidRequest
from ledger.rpc.modules import default_modules
from ledger.rpc.registry import Registry
from ledger.rpc.subscriptions import _CLOSE, Session, SubscriptionHub

log = logging.getLogger(__name__)

JSON: Final = "application/json"


@dataclass(frozen=True, slots=True)
class ServerLimits:
    max_body_bytes: int = 5 * 1024 * 1024
    rpc: Limits = field(default_factory=Limits)


def _too_large(limit: int) -> Response:
    body = orjson.dumps(
        {
            "jsonrpc": "2.0",
            "id": None,
            "error": InvalidRequest(
                f"request body exceeds {limit} bytes", data={"limit": limit}
            ).to_json(),
        }
    )
    return Response(body, status_code=413, media_type=JSON)


async def _read_limited(request: Request, limit: int) -> bytes | None:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def create_app(
    ledger: LedgerAPI, *, client_version: str, limits: ServerLimits | None = None
) -> Starlette:
    """The ASGI app serving ``ledger``; the hub subscribes to new blocks for its lifetime."""
    limits = limits or ServerLimits()
    registry = Registry(default_modules(ledger, client_version=client_version))
    dispatcher = Dispatcher(registry, limits=limits.rpc)
    hub = SubscriptionHub()

    async def http_endpoint(request: Request) -> Response:
        body = await _read_limited(request, limits.max_body_bytes)
        if body is None:
            return _too_large(limits.max_body_bytes)
        answer = await to_thread.run_sync(dispatcher.handle, body)
        if answer is None:
            return Response(status_code=204)
        return Response(answer, media_type=JSON)

    async def ws_endpoint(websocket: WebSocket) -> None:
        await websocket.accept()
        session = hub.open_session()
        sender = asyncio.create_task(_send_loop(websocket, session))
        try:
            await _receive_loop(websocket, session, dispatcher, limits.max_body_bytes)
        finally:
            hub.close_session(session)
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sender

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        hub.start(ledger, asyncio.get_running_loop())
        try:
            yield
        finally:
            hub.stop()
            registry.close()

    return Starlette(
        routes=[
            Route("/", http_endpoint, methods=["POST"]),
            WebSocketRoute("/", ws_endpoint),
        ],
        lifespan=lifespan,
    )


async def _receive_loop(
    websocket: WebSocket, session: Session, dispatcher: Dispatcher, max_bytes: int
) -> None:
    extra = session.methods()
    while True:
        try:
            message = await websocket.receive()
        except WebSocketDisconnect:
            return
        if message["type"] == "websocket.disconnect":
            return
        raw = message.get("bytes")
        if raw is None:
            raw = (message.get("text") or "").encode()
        if len(raw) > max_bytes:
            session.send(bytes(_too_large(max_bytes).body))
            continue
        answer = await to_thread.run_sync(functools.partial(dispatcher.handle, raw, extra=extra))
        if answer is not None:
            session.send(answer)
        session.activate_pending()


async def _send_loop(websocket: WebSocket, session: Session) -> None:
    while True:
        payload = await session.queue.get()
        if payload == _CLOSE:
            log.warning("closing a WebSocket client that stopped reading its notifications")
            await websocket.close(code=1008, reason="notification queue overflow")
            return
        try:
            await websocket.send_text(payload.decode())
        except (WebSocketDisconnect, RuntimeError):
            return
