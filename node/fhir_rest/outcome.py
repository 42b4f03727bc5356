"""FHIR errors: every refusal of the ``/fhir`` facade is an ``OperationOutcome``.

Why not the node's ``{"error", "detail"}`` body: FHIR clients (``fhirclient``, HAPI, a HIS)
parse an ``OperationOutcome`` and show its ``diagnostics``. The diagnostics come from our own
messages, which name field paths and never values (see :mod:`node.formats.fhir`), so no PHI
is echoed.
"""

from __future__ import annotations

from typing import Any

from node.exceptions import (
    IngestError,
    InvalidFhir,
    NodeError,
    PatientUnresolved,
    PayloadTooLarge,
    UnsupportedFhirResource,
)

FHIR_JSON = "application/fhir+json"

#: HTTP status → the FHIR ``IssueType`` code used when nothing more precise applies.
ISSUE_CODES = {400: "structure", 401: "login", 404: "not-found", 405: "not-supported",
               409: "conflict", 413: "too-costly", 415: "not-supported", 422: "invalid",
               500: "exception"}  # fmt: skip
REASONS = {200: "OK", 201: "Created", 400: "Bad Request", 401: "Unauthorized",
           404: "Not Found", 405: "Method Not Allowed", 409: "Conflict",
           413: "Content Too Large", 415: "Unsupported Media Type",
           422: "Unprocessable Entity", 500: "Internal Server Error"}  # fmt: skip


class FhirRestError(NodeError):
    """A request the facade refuses: the HTTP status, the FHIR issue code, the diagnostics."""

    def __init__(self, status: int, diagnostics: str, *, code: str | None = None) -> None:
        super().__init__(diagnostics)
        self.status = status
        self.code = code or ISSUE_CODES.get(status, "processing")
        self.diagnostics = diagnostics


def status_line(status: int) -> str:
    """``Bundle.entry.response.status`` text: ``"201 Created"``."""
    return f"{status} {REASONS.get(status, '')}".rstrip()


def operation_outcome(diagnostics: str, *, code: str, severity: str = "error") -> dict[str, Any]:
    """An ``OperationOutcome`` with one issue."""
    issue = {"severity": severity, "code": code, "diagnostics": diagnostics}
    return {"resourceType": "OperationOutcome", "issue": [issue]}


def _is_syntax(exc: InvalidFhir) -> bool:
    # load_strict_json words its syntax refusals this way; every other InvalidFhir is a
    # value the parser read but we refuse (NaN, a 5,000-digit number, a bad code): 422.
    return str(exc).startswith(("not JSON", "FHIR JSON must be UTF-8", "JSON nested"))


def from_ingest_error(exc: IngestError, where: str | None = None) -> FhirRestError:
    """The FHIR refusal of an ingest error (400 for syntax, 413 for size, else 422)."""
    text = f"{where}: {exc}" if where else str(exc)
    if isinstance(exc, PayloadTooLarge):
        return FhirRestError(413, text)
    if isinstance(exc, InvalidFhir) and _is_syntax(exc):
        return FhirRestError(400, text)
    if isinstance(exc, UnsupportedFhirResource):
        return FhirRestError(422, text, code="not-supported")
    if isinstance(exc, PatientUnresolved):
        return FhirRestError(422, text, code="required")
    return FhirRestError(422, text, code="invalid")
