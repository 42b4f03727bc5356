"""``medledger node run``: the node's drain thread plus its HTTP API until SIGTERM/SIGINT."""

from __future__ import annotations

import logging
import signal
import socket
from collections.abc import Sequence

import uvicorn
from fastapi import APIRouter

from node.api.app import create_app
from node.config import ApiSettings
from node.service import NodeService

log = logging.getLogger("medledger.node")


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(512)
    return sock


def serve(
    node: NodeService,
    *,
    api: ApiSettings,
    sock: socket.socket,
    routers: Sequence[APIRouter],
    log_level: str,
) -> None:
    """Serve the API on ``sock`` with the drain running; stop both on SIGTERM/SIGINT."""
    app = create_app(node, api=api, routers=routers)
    server = uvicorn.Server(
        uvicorn.Config(app, log_level=log_level, access_log=False, timeout_graceful_shutdown=5)
    )
    host, port = sock.getsockname()[:2]
    node.start()
    log.info("node API listening on http://%s:%d", host, port)
    received: list[int] = []
    previous = {
        sig: signal.signal(sig, lambda s, _f: received.append(s))
        for sig in (signal.SIGTERM, signal.SIGINT)
    }
    try:
        server.run(sockets=[sock])
    finally:
        node.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        log.info("node stopped cleanly")
