"""One call that puts the shared HTTP defences on a FastAPI app (the gateway, the node API).

Body limits and rate limits are ASGI middleware (they answer before routing or parsing);
validation errors lose the submitted values; the OpenAPI document declares what the
middleware can answer (413 on routes with a body, 429 on rate-limited routes) and the real
shape of a 422, so clients and schema checks see what the app really sends.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError

from common.errors import ErrorBody, ValidationErrorBody, validation_error_handler
from common.limits import BodyLimitMiddleware, RouteLimit
from common.ratelimit import RateLimitMiddleware, RateRule

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


def guard(app: FastAPI, *, body_default: int, body_routes: Sequence[RouteLimit] = (),
          rate_rules: Sequence[RateRule] = ()) -> None:  # fmt: skip
    """Install body limits, rate limits and the 422 handler; document them in OpenAPI.

    Call after every router is included and before the OpenAPI document is first built.
    """
    app.add_exception_handler(RequestValidationError, validation_error_handler)
    app.add_middleware(BodyLimitMiddleware, default=body_default, routes=list(body_routes))
    if rate_rules:
        app.add_middleware(RateLimitMiddleware, rules=list(rate_rules))  # outermost: cheapest
    _document(app, [(re.compile(r.path), r.methods) for r in rate_rules])


def _sample(path: str) -> str:
    """A concrete path of a route template (``/blocks/{cid}`` → ``/blocks/x``)."""
    return re.sub(r"\{[^}]*\}", "x", path)


def _error(description: str) -> dict[str, Any]:
    schema = {"$ref": "#/components/schemas/ErrorBody"}
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _document(app: FastAPI, limited: list[tuple[re.Pattern[str], frozenset[str]]]) -> None:
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        schema = generate()
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.setdefault("ErrorBody", ErrorBody.model_json_schema())
        if "HTTPValidationError" in components:
            body = ValidationErrorBody.model_json_schema(
                ref_template="#/components/schemas/{model}"
            )
            components.update(body.pop("$defs", {}))
            components["HTTPValidationError"] = body
        for path, operations in schema.get("paths", {}).items():
            for method, operation in operations.items():
                responses = operation.setdefault("responses", {})
                if method.upper() in _BODY_METHODS:
                    responses.setdefault("413", _error("Body larger than the route's limit"))
                if any(method.upper() in m and p.fullmatch(_sample(path)) for p, m in limited):
                    responses.setdefault(
                        "429", _error("Too many requests from this address (see Retry-After)")
                    )
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
