"""``medledger node run``: the node's drain thread plus its HTTP API until SIGTERM/SIGINT.

With TLS configured (``node.json`` ``tls``) the API is HTTPS with the hospital's server
certificate and asks every client for a certificate from the consortium CA without
requiring one: the hospital's own systems reach the operator routes with the API token
alone, while the peer routes (:data:`PEER_PATHS`, :data:`PEER_PREFIXES`: grant deliveries
and block fetches between hospitals, which carry no API token) refuse a request that came
without a verified client certificate (:class:`common.tls_asgi.RequireClientCert`). One
port serves both, so the endpoint on chain stays the one URL peers use.
"""

from __future__ import annotations

import logging
import signal
import socket
import ssl
from collections.abc import Sequence
from typing import Any

import uvicorn
from fastapi import APIRouter
from starlette.types import ASGIApp

from common.tls import TLSFiles, check_server_files
from common.tls_asgi import ClientCertProtocol, RequireClientCert
from keys.abc import KeyringAPI
from node.api.app import create_app
from node.config import ApiSettings, Hl7Settings
from node.fhir_rest.routes import fhir_writer
from node.hl7.ingest import Hl7Ingest
from node.hl7.listener import Hl7Listener
from node.service import NodeService

log = logging.getLogger("medledger.node")

#: Routes other hospitals' nodes call: mutual TLS required when TLS is on.
PEER_PATHS = frozenset({"/deliveries"})
PEER_PREFIXES = ("/blocks/",)


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(512)
    return sock


def tls_options(tls: TLSFiles | None) -> dict[str, Any]:
    """The TLS settings of uvicorn: the server certificate, client certificates optional.

    Raises :class:`common.tls.TLSConfigError` when a file cannot be loaded.
    """
    if tls is None:
        return {}
    check_server_files(tls)
    return {
        "ssl_certfile": str(tls.certfile),
        "ssl_keyfile": str(tls.keyfile),
        "ssl_ca_certs": str(tls.ca_file),
        "ssl_cert_reqs": ssl.CERT_OPTIONAL,
        "http": ClientCertProtocol,
    }


def serve(
    node: NodeService,
    *,
    api: ApiSettings,
    sock: socket.socket,
    routers: Sequence[APIRouter],
    log_level: str,
    tls: TLSFiles | None = None,
    hl7: Hl7Settings | None = None,
    keyring: KeyringAPI | None = None,
) -> None:
    """Serve the API on ``sock`` with the drain running; stop both on SIGTERM/SIGINT.

    With ``hl7`` enabled the MLLP listener runs too, writing through the same FHIR writer
    (and identifier index) as the app's ``/fhir`` routes; it is bound before the drain
    starts, so a taken port fails the start (:class:`node.exceptions.NodeError`). ``keyring``
    lets ``GET /fhir/Type/id`` decrypt (ingest itself needs only the public key).
    """
    fastapi_app = create_app(node, api=api, routers=routers)
    fhir_writer(fastapi_app).keyring = keyring  # FHIR reads decrypt with the hospital's keyring
    app: ASGIApp = fastapi_app
    if tls is not None:
        app = RequireClientCert(app, paths=PEER_PATHS, prefixes=PEER_PREFIXES)
    config = uvicorn.Config(
        app, log_level=log_level, access_log=False, timeout_graceful_shutdown=5, **tls_options(tls)
    )
    server = uvicorn.Server(config)
    host, port = sock.getsockname()[:2]
    listener = None
    if hl7 is not None and hl7.enabled:
        listener = Hl7Listener(Hl7Ingest(fhir_writer(fastapi_app)).handle, hl7)
        listener.start()
    node.start()
    log.info("node API listening on %s://%s:%d", "https" if tls else "http", host, port)
    received: list[int] = []
    previous = {
        sig: signal.signal(sig, lambda s, _f: received.append(s))
        for sig in (signal.SIGTERM, signal.SIGINT)
    }
    try:
        server.run(sockets=[sock])
    finally:
        if listener is not None:
            listener.stop()
        node.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        log.info("node stopped cleanly")
