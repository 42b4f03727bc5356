"""HTTP plumbing shared by the FastAPI services (the gateway and the node API).

Every process that imports web3.py or py-evm runs with the interpreter recursion limit raised
to 100,000 (``py_ecc`` does it on import). The standard library's JSON parser relies on that
limit to stop deep nesting, so a request body of a few hundred kilobytes of ``[`` overflows
the C stack and kills the process: one request could take a hospital's node down. Request
bodies are therefore parsed with orjson, which bounds nesting itself and never recurses in
Python. A body above :data:`THREAD_PARSE_BYTES` is parsed in a worker thread: orjson parses
about 1 GB/s, so a body of megabytes would otherwise hold the event loop (and every other
request) for milliseconds to seconds.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

import orjson
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

#: Bodies up to this size are parsed on the event loop (a thread hop costs more than that).
THREAD_PARSE_BYTES = 64 * 1024


async def loads(
    body: bytes,
    *,
    threshold: int = THREAD_PARSE_BYTES,
    parse: Callable[[bytes], Any] = orjson.loads,
) -> Any:
    """``parse(body)``, in a worker thread when ``body`` is over ``threshold`` bytes."""
    if len(body) > threshold:
        return await run_in_threadpool(parse, body)
    return parse(body)


class SafeJSONRequest(Request):
    """A request whose ``json()`` uses orjson (bounded nesting, no Python recursion)."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            # orjson.JSONDecodeError subclasses json.JSONDecodeError, so FastAPI still answers
            # a malformed body with its usual 422 validation error.
            self._json = await loads(await self.body())
        return self._json


class SafeJSONRoute(APIRoute):
    """An ``APIRoute`` that hands its endpoint a :class:`SafeJSONRequest`.

    Use as ``APIRouter(route_class=SafeJSONRoute)`` or ``app.router.route_class = ...`` before
    routes are added.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def safe_handler(request: Request) -> Response:
            return await handler(SafeJSONRequest(request.scope, request.receive))

        return safe_handler
