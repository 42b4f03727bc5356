"""JSON-RPC 2.0 envelopes: parsing, batches, notifications, errors and size limits.

The dispatcher is synchronous and transport-free (bytes in, bytes or ``None`` out); the server
runs it on a worker thread because ledger calls block on py-evm. Unexpected exceptions are
logged here with their traceback and reach the client only as a bare -32603.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Final

import orjson

from ledger.calls import request_budget
from ledger.rpc.errors import (
    InternalError,
    InvalidRequest,
    LimitExceeded,
    ParseError,
    RPCError,
)
from ledger.rpc.registry import BoundMethod, Registry

log = logging.getLogger(__name__)

#: Who sent the request being served: the transport names it (an HTTP client's address,
#: ``ws:<n>`` for a WebSocket connection) so per-client limits (filters) can key on it.
current_client: ContextVar[str] = ContextVar("medledger_rpc_client", default="local")

_NO_ID: Final = object()


@dataclass(frozen=True, slots=True)
class Limits:
    max_batch: int = 1000
    max_response_bytes: int = 32 * 1024 * 1024


def _error(request_id: Any, error: RPCError) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "error": error.to_json()}


PARSE_ERROR_RESPONSE: Final = orjson.dumps(
    {"jsonrpc": "2.0", "id": None, "error": ParseError("parse error: invalid JSON").to_json()}
)


def _valid_id(value: Any) -> bool:
    return value is None or (isinstance(value, str | int | float) and not isinstance(value, bool))


class Dispatcher:
    """Serve JSON-RPC 2.0 requests from a :class:`Registry`."""

    def __init__(self, registry: Registry, *, limits: Limits | None = None) -> None:
        self.registry = registry
        self.limits = limits or Limits()

    def handle(
        self,
        body: bytes,
        *,
        extra: Mapping[str, BoundMethod] | None = None,
        client: str | None = None,
    ) -> bytes | None:
        """Answer one request body; ``None`` means no response (only notifications)."""
        try:
            message = orjson.loads(body)
        except orjson.JSONDecodeError:
            return PARSE_ERROR_RESPONSE
        return self.handle_message(message, extra=extra, client=client)

    def handle_message(
        self,
        message: Any,
        *,
        extra: Mapping[str, BoundMethod] | None = None,
        client: str | None = None,
    ) -> bytes | None:
        """Answer an already parsed body (the transport parses once to route it).

        The calls of one body (a batch too) share one budget of gas and time
        (``ledger.calls.request_budget``): a batch cannot multiply the call cap.
        """
        token = current_client.set(client or "local")
        try:
            with request_budget():
                if isinstance(message, list):
                    return self._batch(message, extra or {})
                response = self._one(message, extra or {})
                return None if response is None else self._encode(response)
        finally:
            current_client.reset(token)

    def _batch(self, messages: list[Any], extra: Mapping[str, BoundMethod]) -> bytes | None:
        if not messages:
            return orjson.dumps(_error(None, InvalidRequest("empty batch")))
        if len(messages) > self.limits.max_batch:
            return orjson.dumps(
                _error(
                    None,
                    InvalidRequest(
                        f"batch too large: {len(messages)} > {self.limits.max_batch} requests",
                        data={"limit": self.limits.max_batch},
                    ),
                )
            )
        responses = [r for r in (self._one(m, extra) for m in messages) if r is not None]
        if not responses:
            return None
        encoded = orjson.dumps(responses)
        if len(encoded) > self.limits.max_response_bytes:
            return orjson.dumps(_error(None, self._too_large()))
        return encoded

    def _too_large(self) -> RPCError:
        return LimitExceeded(
            f"response exceeds {self.limits.max_response_bytes} bytes",
            data={"limit": self.limits.max_response_bytes},
        )

    def _encode(self, response: dict[str, Any]) -> bytes:
        encoded = orjson.dumps(response)
        if len(encoded) > self.limits.max_response_bytes:
            return orjson.dumps(_error(response.get("id"), self._too_large()))
        return encoded

    def _one(self, message: Any, extra: Mapping[str, BoundMethod]) -> dict[str, Any] | None:
        if not isinstance(message, dict):
            return _error(None, InvalidRequest("invalid request: not an object"))
        request_id = message.get("id", _NO_ID)
        if request_id is not _NO_ID and not _valid_id(request_id):
            return _error(None, InvalidRequest("invalid request: id must be a string or number"))
        reply_id = None if request_id is _NO_ID else request_id
        if message.get("jsonrpc") != "2.0":
            return _error(reply_id, InvalidRequest('invalid request: jsonrpc must be "2.0"'))
        method = message.get("method")
        if not isinstance(method, str):
            return _error(reply_id, InvalidRequest("invalid request: method must be a string"))
        params = message.get("params")
        if params is not None and not isinstance(params, list | dict):
            return _error(
                reply_id, InvalidRequest("invalid request: params must be an array or object")
            )
        try:
            target = extra.get(method) or self.registry.lookup(method)
            result = target(params)
        except RPCError as exc:
            response = _error(reply_id, exc)
        except Exception:
            log.exception("internal error serving %s", method[:100])
            response = _error(reply_id, InternalError("internal error"))
        else:
            response = {"jsonrpc": "2.0", "id": reply_id, "result": result}
        return None if request_id is _NO_ID else response
