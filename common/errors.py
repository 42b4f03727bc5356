"""The one error body of medledger's HTTP services: ``{"error": code, "detail": why}``.

The gateway and the node API answer every refusal with it, so a client (or the gateway
calling a node) branches on one shape: ``error`` is a stable code (a snake_case name, or
the contract's custom error when the chain refused), ``detail`` a sentence without PHI.
"""

from __future__ import annotations

import re
from http import HTTPStatus

from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse


class ErrorBody(BaseModel):
    """Every refusal: a stable code to branch on and a sentence saying why."""

    error: str = Field(examples=["challenge_expired"])
    detail: str = Field(examples=["the challenge expired; request a new one"])


def status_code_name(status: int) -> str:
    """The code of a bare HTTP refusal: its reason phrase in snake_case (``not_found``)."""
    return HTTPStatus(status).phrase.lower().replace(" ", "_").replace("-", "_")


def exception_code(exc: BaseException) -> str:
    """The code of an exception: its class name in snake_case (InvalidFhir: invalid_fhir)."""
    return re.sub(
        r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", type(exc).__name__
    ).lower()


def error_response(code: str, detail: str, status: int,
                   headers: dict[str, str] | None = None) -> JSONResponse:  # fmt: skip
    """An :class:`ErrorBody` response."""
    return JSONResponse({"error": code, "detail": detail}, status_code=status, headers=headers)


class CodedHTTPException(HTTPException):
    """An HTTP refusal carrying its stable code (else the status name is the code)."""

    def __init__(self, status_code: int, detail: str, *, code: str | None = None) -> None:
        super().__init__(status_code, detail)
        self.code = code or status_code_name(status_code)


def http_error_handler(request: Request, exc: Exception) -> JSONResponse:
    """Framework and route refusals (``HTTPException``) as an :class:`ErrorBody`."""
    assert isinstance(exc, HTTPException)
    code = exc.code if isinstance(exc, CodedHTTPException) else status_code_name(exc.status_code)
    return error_response(code, str(exc.detail), exc.status_code, dict(exc.headers or {}) or None)
