"""Request body limits for every HTTP surface, enforced before a route parses anything.

Why a middleware and not a check in each route: FastAPI reads and parses a JSON body before
the endpoint runs, so a route-level check comes after the whole body is in memory. The
middleware sits in front of routing: a ``Content-Length`` over the route's limit is refused at
once (the body is never read), and a chunked body is counted while it streams and cut at
the limit. Per-route limits come from path patterns: small JSON routes get a small limit,
ingest and upload routes keep their configured one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from common.errors import error_response, status_code_name

CONTENT_TOO_LARGE = 413


class BodyTooLarge(HTTPException):
    """The body is over its route's limit (413; raised while streaming, answered as usual)."""

    def __init__(self, limit: int) -> None:
        super().__init__(CONTENT_TOO_LARGE, f"the body exceeds the limit of {limit} bytes")
        self.limit = limit


@dataclass(frozen=True, slots=True)
class RouteLimit:
    """``limit`` bytes for request paths fully matching the regular expression ``path``."""

    path: str
    limit: int


class BodyLimitMiddleware:
    """Refuse bodies over their route's limit with 413, before they are parsed or fully read.

    Parameters
    ----------
    app
        The wrapped ASGI application.
    default
        The limit of every path no rule names.
    routes
        Per-path limits; the first rule whose pattern fully matches the path wins.
    """

    def __init__(self, app: ASGIApp, *, default: int, routes: Sequence[RouteLimit] = ()) -> None:
        self.app = app
        self.default = default
        self._routes = [(re.compile(r.path), r.limit) for r in routes]

    def limit_for(self, path: str) -> int:
        """The body limit of ``path``."""
        for pattern, limit in self._routes:
            if pattern.fullmatch(path):
                return limit
        return self.default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _refuse(limit, scope, receive, send)
            return
        received = 0
        started = False

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except BodyTooLarge:
            # Raised outside a route's exception handling (a middleware or a raw ASGI reader).
            if started:
                raise
            await _refuse(limit, scope, receive, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            if not text.isdigit():
                return None  # the server refuses a malformed length itself
            return int(text) if len(text) < 19 else 2**63  # no int() of a huge digit string
    return None


async def _refuse(limit: int, scope: Scope, receive: Receive, send: Send) -> None:
    response = error_response(
        status_code_name(CONTENT_TOO_LARGE),
        f"the body exceeds the limit of {limit} bytes",
        CONTENT_TOO_LARGE,
        {"Connection": "close"},
    )
    await response(scope, receive, send)
