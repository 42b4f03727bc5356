"""The HTTP JSON-RPC endpoint as a bare ASGI callable, in front of the Starlette app.

Every JSON-RPC POST to ``/`` is answered here: the body is read with its size limit,
parsed once with orjson, and dispatched. Methods that never wait for the ledger's lock
and cost well under a millisecond (:data:`LOOP_METHODS`: submitting a transaction, the
chain constants) run right on the event loop; anything else goes to a worker thread, as
before, so a slow ``eth_call`` or ``eth_getLogs`` never stalls the loop.

Why: submitting a transaction is the hottest request a node serves, and most of its
cost used to be transport rather than work (the framework's request and response
objects, and a thread hand-off with two GIL switches per request). Admission itself
never takes the ledger lock (it reads the committed head), so on the loop it competes
with the block producer only for the GIL, as any thread would.

Other verbs on ``/`` get 405; everything else (WebSocket, other paths, the lifespan)
goes to the Starlette app.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, Final

import orjson
from anyio import to_thread

from ledger.rpc.dispatch import PARSE_ERROR_RESPONSE, Dispatcher
from ledger.rpc.errors import InvalidRequest

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: Methods answered on the event loop: no ledger lock, no py-evm execution, no disk scan
#: (admission reads a few committed keys and recovers one signature).
LOOP_METHODS: Final = frozenset(
    {
        "eth_sendRawTransaction",
        "eth_chainId",
        "eth_blockNumber",
        "net_version",
        "net_listening",
        "web3_clientVersion",
        "eth_gasPrice",
        "eth_maxPriorityFeePerGas",
    }
)
#: Larger batches go to a worker thread even if every call is cheap: a thousand
#: admissions in a row would hold the loop (and every other connection) for a while.
LOOP_BATCH_MAX: Final = 32
_JSON_HEADERS: Final = [(b"content-type", b"application/json")]
_DISCONNECTED: Final = b"\0disconnected"  # a sentinel, compared by identity


def too_large_body(limit: int) -> bytes:
    """The JSON-RPC error answered (with HTTP 413) for a body over ``limit`` bytes."""
    error = InvalidRequest(f"request body exceeds {limit} bytes", data={"limit": limit})
    return orjson.dumps({"jsonrpc": "2.0", "id": None, "error": error.to_json()})


def _on_loop(message: Any) -> bool:
    if isinstance(message, dict):
        return message.get("method") in LOOP_METHODS
    if isinstance(message, list):
        return 0 < len(message) <= LOOP_BATCH_MAX and all(
            isinstance(m, dict) and m.get("method") in LOOP_METHODS for m in message
        )
    return True  # a bare value: an invalid request, answered without any ledger call


class FastRPC:
    """ASGI app: JSON-RPC over HTTP POST ``/`` here, everything else to ``app``."""

    def __init__(self, app: ASGIApp, dispatcher: Dispatcher, *, max_body_bytes: int) -> None:
        self.app = app
        self._dispatcher = dispatcher
        self._limit = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != "/":
            await self.app(scope, receive, send)
            return
        if scope["method"] != "POST":
            headers = [(b"allow", b"POST"), (b"content-length", b"18")]
            await send({"type": "http.response.start", "status": 405, "headers": headers})
            await send({"type": "http.response.body", "body": b"Method Not Allowed"})
            return
        body = await self._read(scope, receive)
        if body is _DISCONNECTED:
            return  # the client left mid-request: nothing to answer, nothing to run
        if body is None:
            await _respond(send, 413, too_large_body(self._limit))
            return
        try:
            message = orjson.loads(body)
        except orjson.JSONDecodeError:
            await _respond(send, 200, PARSE_ERROR_RESPONSE)
            return
        peer = scope.get("client")
        client = f"http:{peer[0]}" if peer else "http:?"
        handle = functools.partial(self._dispatcher.handle_message, message, client=client)
        answer = handle() if _on_loop(message) else await to_thread.run_sync(handle)
        if answer is None:
            await send({"type": "http.response.start", "status": 204, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return
        await _respond(send, 200, answer)

    async def _read(self, scope: Scope, receive: Receive) -> bytes | None:
        for name, value in scope["headers"]:
            if name == b"content-length":
                if value.isdigit() and int(value) > self._limit:
                    return None
                break
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return _DISCONNECTED
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self._limit:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)


async def _respond(send: Send, status: int, body: bytes) -> None:
    headers = [*_JSON_HEADERS, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
