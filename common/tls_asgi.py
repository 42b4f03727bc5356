"""The verified client certificate of a TLS connection, seen by the ASGI app.

uvicorn does not put the peer certificate in the request scope, so a route cannot tell a
request that came with a client certificate from one that did not. :class:`ClientCertProtocol`
(uvicorn's httptools protocol, passed as ``uvicorn.Config(http=...)``) adds the ASGI TLS
extension's ``client_cert_chain`` to every request scope of a TLS connection, and
:class:`RequireClientCert` refuses the requests to chosen paths that came without one.

The certificate there is one the TLS handshake verified: the server context loads the
consortium CA with ``CERT_OPTIONAL``, under which OpenSSL still aborts the handshake when
a presented certificate does not chain to a trusted CA. What the guard adds is the
"presented at all" check, and that the certificate is meant for clients (extended key
usage ``clientAuth``), so a leaked server certificate cannot pose as a peer.
"""

from __future__ import annotations

import asyncio
import ssl
from typing import Any

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from common.errors import error_response


class ClientCertProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, plus ``scope["extensions"]["tls"]`` per request."""

    _client_chain: list[str] | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        ssl_object: ssl.SSLObject | None = transport.get_extra_info("ssl_object")
        if ssl_object is None:
            self._client_chain = None
            return
        # asyncio calls connection_made after the handshake: the peer certificate is final.
        der = ssl_object.getpeercert(binary_form=True)
        self._client_chain = [ssl.DER_cert_to_PEM_cert(der)] if der else []

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._client_chain is not None:
            tls: dict[object, object] = {
                "client_cert_chain": list(self._client_chain),
                "client_cert_error": None,
            }
            self.scope["extensions"] = {"tls": tls}


def client_certificate(scope: Scope) -> x509.Certificate | None:
    """The verified client certificate of the request's connection, if one was presented."""
    tls: dict[str, Any] = scope.get("extensions", {}).get("tls") or {}
    chain = tls.get("client_cert_chain") or []
    if not chain:
        return None
    return x509.load_pem_x509_certificate(str(chain[0]).encode("ascii"))


def is_client_certificate(cert: x509.Certificate) -> bool:
    """Whether ``cert`` says it authenticates TLS clients (EKU ``clientAuth``)."""
    try:
        usage = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return False
    return ExtendedKeyUsageOID.CLIENT_AUTH in usage


class RequireClientCert:
    """Refuse (403) requests to ``paths`` / ``prefixes`` that came without a client certificate.

    Paths are matched on the decoded ``scope["path"]`` the router matches on, so no
    spelling of a peer route reaches it without passing here.
    """

    def __init__(
        self, app: ASGIApp, *, paths: frozenset[str], prefixes: tuple[str, ...] = ()
    ) -> None:
        self.app = app
        self.paths = paths
        self.prefixes = prefixes

    def guarded(self, path: str) -> bool:
        normal = "/" + path.lstrip("/")
        return normal.rstrip("/") in self.paths or normal.startswith(self.prefixes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.guarded(scope["path"]):
            cert = client_certificate(scope)
            if cert is None or not is_client_certificate(cert):
                response = error_response(
                    "client_certificate_required",
                    "this peer route needs a client certificate from the consortium CA",
                    403,
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
