"""Touch-ups FastAPI's OpenAPI generator cannot express through route arguments."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi


def _errors_as_json(schema: dict[str, Any]) -> None:
    # FastAPI files every declared response under the route's own media type, so a DICOM
    # JSON route would claim its 404 is application/dicom+json; error bodies are JSON.
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            for status, response in operation.get("responses", {}).items():
                content = response.get("content")
                if status[:1] in {"4", "5"} and content:
                    response["content"] = {"application/json": next(iter(content.values()))}


def install(app: FastAPI) -> None:
    """Replace ``app.openapi`` with a generator that applies the touch-ups (cached)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            _errors_as_json(schema)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
