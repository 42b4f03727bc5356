"""A declared ``Content-Length`` over the FHIR limit: 413 as an OperationOutcome, body unread.

The app's :class:`common.limits.BodyLimitMiddleware` enforces the same limit for ``/fhir``
(a streamed body is cut there and answered by the route in FHIR's shape); this one only
answers the declared case first, because that middleware answers in the node's own error
shape, which FHIR clients cannot read.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from node.fhir_rest.outcome import FhirRestError
from node.fhir_rest.responses import outcome_response


class FhirBodyLimit:
    """Refuse a ``prefix`` request declaring more than ``limit`` bytes (413, connection closed)."""

    def __init__(self, app: ASGIApp, *, prefix: str, limit: int) -> None:
        self.app = app
        self.prefix = prefix
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(self.prefix):
            for name, value in scope["headers"]:
                if name == b"content-length":
                    text = value.decode("latin-1").strip()
                    if text.isdigit() and (len(text) > 18 or int(text) > self.limit):
                        error = FhirRestError(413, f"the body exceeds the limit of {self.limit}"
                                              " bytes")  # fmt: skip
                        response = outcome_response(error)
                        response.headers["Connection"] = "close"
                        await response(scope, receive, send)
                        return
        await self.app(scope, receive, send)


async def read_body(request: Request, limit: int) -> bytes:
    """The body, refused with a 413 OperationOutcome once it passes ``limit`` while streaming."""
    parts: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise FhirRestError(413, f"the body exceeds the limit of {limit} bytes")
        parts.append(chunk)
    return b"".join(parts)
