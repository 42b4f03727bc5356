"""The RPC transport: HTTP POST and WebSocket on the same port (ASGI on uvicorn).

HTTP requests go through :mod:`ledger.rpc.fastpath` (cheap methods on the loop, the rest on
worker threads); WebSocket messages run the synchronous dispatcher on worker threads so a
slow ledger call never stalls the event loop, and one connection's are answered in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from anyio import to_thread
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from ledger.abc import LedgerAPI
from ledger.rpc.dispatch import Dispatcher, Limits
from ledger.rpc.fastpath import FastRPC, too_large_body
from ledger.rpc.modules import default_modules
from ledger.rpc.modules.eth_filters import EthFilters
from ledger.rpc.registry import Registry
from ledger.rpc.subscriptions import _CLOSE, Session, SubscriptionHub

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ServerLimits:
    max_body_bytes: int = 5 * 1024 * 1024
    rpc: Limits = field(default_factory=Limits)
    #: Browser origins allowed to open the WebSocket ("*": any). A request without an
    #: Origin header is a non-browser client and always allowed; a web page of another
    #: origin must not drive the node from a user's browser (cross-site WebSocket).
    ws_origins: tuple[str, ...] = ()
    max_filters_per_client: int = 100


def origin_allowed(origin: str | None, allowed: tuple[str, ...]) -> bool:
    """Whether a WebSocket handshake with this ``Origin`` header may proceed."""
    if origin is None:
        return True
    wanted = origin.strip().lower().rstrip("/")
    return any(a == "*" or a.strip().lower().rstrip("/") == wanted for a in allowed)


def create_app(
    ledger: LedgerAPI, *, client_version: str, limits: ServerLimits | None = None
) -> FastRPC:
    """The ASGI app serving ``ledger``; the hub subscribes to new blocks for its lifetime.

    HTTP JSON-RPC is answered by :class:`FastRPC`; Starlette serves the WebSocket and the
    lifespan behind it.
    """
    limits = limits or ServerLimits()
    registry = Registry(
        default_modules(
            ledger,
            client_version=client_version,
            max_filters_per_client=limits.max_filters_per_client,
        )
    )
    filters = [m for m in registry.modules if isinstance(m, EthFilters)]
    dispatcher = Dispatcher(registry, limits=limits.rpc)
    hub = SubscriptionHub()
    connections = itertools.count(1)

    async def ws_endpoint(websocket: WebSocket) -> None:
        if not origin_allowed(websocket.headers.get("origin"), limits.ws_origins):
            await websocket.close(code=1008)  # before accept: the server answers 403
            return
        await websocket.accept()
        session = hub.open_session()
        client = f"ws:{next(connections)}"
        sender = asyncio.create_task(_send_loop(websocket, session))
        try:
            await _receive_loop(websocket, session, dispatcher, limits.max_body_bytes, client)
        finally:
            hub.close_session(session)
            for module in filters:
                module.drop_client(client)
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

    app = Starlette(routes=[WebSocketRoute("/", ws_endpoint)], lifespan=lifespan)
    return FastRPC(app, dispatcher, max_body_bytes=limits.max_body_bytes)


async def _receive_loop(
    websocket: WebSocket, session: Session, dispatcher: Dispatcher, max_bytes: int, client: str
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
            session.send(too_large_body(max_bytes))
            continue
        answer = await to_thread.run_sync(
            functools.partial(dispatcher.handle, raw, extra=extra, client=client)
        )
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
