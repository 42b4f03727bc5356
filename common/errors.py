"""The one error body of medledger's HTTP services: ``{"error": code, "detail": why}``.

The gateway and the node API answer every refusal with it, so a client (or the gateway
calling a node) branches on one shape: ``error`` is a stable code (a snake_case name, or
the contract's custom error when the chain refused), ``detail`` a sentence without PHI.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

from fastapi.exceptions import RequestValidationError
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


class FieldError(BaseModel):
    """One failed check of a request: where, what, which kind (never the value sent)."""

    loc: list[str | int]
    msg: str
    type: str


class ValidationErrorBody(ErrorBody):
    """A 422 for a request that failed validation: the :class:`ErrorBody`, and each failure."""

    errors: list[FieldError]


#: Leaves of a submitted value searched for in a message (a bound on the work per error).
_MAX_LEAVES = 64
_REDACTED = "<value>"


def _leaves(value: object, out: list[str]) -> None:
    if len(out) >= _MAX_LEAVES:
        return
    if isinstance(value, dict):
        for key, item in value.items():
            _leaves(key, out)
            _leaves(item, out)
    elif isinstance(value, list | tuple):
        for item in value:
            _leaves(item, out)
    elif isinstance(value, str | bytes | int | float) and not isinstance(value, bool):
        text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
        if len(text) >= 3:
            out.append(text)


def redact(message: str, submitted: object) -> str:
    """``message`` without any text of ``submitted`` in it (a validator may quote the value)."""
    leaves: list[str] = []
    _leaves(submitted, leaves)
    for text in sorted(leaves, key=len, reverse=True):
        message = message.replace(text, _REDACTED)
    return message


def field_errors(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """Pydantic/FastAPI error dicts reduced to ``loc``, ``msg``, ``type``.

    FastAPI's default 422 echoes ``input`` (the submitted value) and ``ctx``; a patient name
    sent in a wrong field would come back in the body and land in whatever logs responses.
    """
    cleaned = []
    for err in errors:
        submitted = [err.get("input"), *(err.get("ctx") or {}).values()]
        cleaned.append({
            "loc": [p if isinstance(p, int) else str(p) for p in err.get("loc", ())],
            "msg": redact(str(err.get("msg", "")).splitlines()[0] if err.get("msg") else "",
                          submitted),
            "type": str(err.get("type", "")),
        })  # fmt: skip
    return cleaned


def validation_error_handler(request: Request, exc: Exception) -> JSONResponse:
    """A ``RequestValidationError`` as a :class:`ValidationErrorBody` (no submitted values)."""
    assert isinstance(exc, RequestValidationError)
    errors = field_errors(exc.errors())
    detail = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in errors[:5])
    more = len(errors) - 5
    detail += f"; and {more} more" if more > 0 else ""
    return JSONResponse(
        {"error": "validation_error", "detail": detail or "invalid request", "errors": errors},
        status_code=422,
    )
