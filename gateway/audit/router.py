"""The auditor's JSON API: sign-in, traces of records, cases and grants, FHIR export.

Every trace route needs an auditor session (``/audit/auth/*``); nothing here reads or
returns plaintext: traces come from chain events and ciphertext checks only re-hash blobs.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query, Response, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from common.web import SafeJSONRoute
from gateway.audit.deps import AuditorToken, CurrentAuditor, TrailDep
from gateway.audit.disclosures import with_reads
from gateway.audit.fhir_export import to_bundle
from gateway.audit.model import Trace
from gateway.audit.signin import AUDITOR, auditor_check
from gateway.container import Services
from gateway.deps import ServicesDep, SettingsDep
from gateway.disclosure.abc import DisclosureLogAPI
from gateway.exceptions import BadRequest
from gateway.models import ChallengeRequest, ChallengeResponse, SessionRequest
from gateway.responses import errors
from gateway.services import signin
from node.exceptions import ProofError
from node.proof.json_codec import proof_from_json
from node.proof.record import RecordProof

router = APIRouter(prefix="/audit", tags=["audit"], route_class=SafeJSONRoute)

RecordPath = Annotated[
    str, Path(pattern=r"^0x[0-9a-fA-F]{64}$", description="The record id (32 bytes).")
]
CasePath = Annotated[
    str, Path(pattern=r"^0x[0-9a-fA-F]{64}$", description="The case id (32 bytes).")
]
GrantPath = Annotated[int, Path(ge=1, lt=2**256, description="The grant id (uint256).")]
Check = Annotated[
    bool,
    Query(description="Also fetch every anchored CID from the blob store, verifying each block."),
]
FHIR_JSON = "application/fhir+json"
TRACE_ERRORS = errors(401, 403, 404, 503)


class AuditorSessionResponse(BaseModel):
    token: str = Field(description="Bearer token for the audit routes (and only those).")
    token_type: str = "bearer"
    expires_at: float = Field(description="Seconds since the epoch.")
    auditor: str


class RecordTraceRequest(BaseModel):
    proof: dict[str, Any] | None = Field(
        default=None, description="The record's inclusion proof (JSON form), for batched records."
    )


@router.post("/auth/challenge", response_model=ChallengeResponse, responses=errors(400))
def auditor_challenge(
    body: ChallengeRequest, settings: SettingsDep, services: ServicesDep
) -> ChallengeResponse:
    """Issue a single-use challenge for an auditor address to sign."""
    challenge = signin.issue_challenge(
        role=AUDITOR, settings=settings, store=services.auditor_sessions, address=body.address,
        now=services.clock(),
    )  # fmt: skip
    return ChallengeResponse.of(challenge)


@router.post(
    "/auth/session", response_model=AuditorSessionResponse, responses=errors(400, 401, 403, 503)
)
def auditor_session(
    body: SessionRequest, settings: SettingsDep, services: ServicesDep, trail: TrailDep
) -> AuditorSessionResponse:
    """Exchange a signed challenge for an auditor session (the key must be a chain auditor)."""
    token, session = signin.open_session(
        role=AUDITOR,
        settings=settings,
        store=services.auditor_sessions,
        check=auditor_check(trail),
        address=body.address,
        nonce=body.nonce_bytes,
        signature=body.signature_bytes,
        now=services.clock(),
    )
    return AuditorSessionResponse(
        token=token, expires_at=session.expires_at, auditor=session.physician
    )


@router.delete(
    "/auth/session", status_code=status.HTTP_204_NO_CONTENT, responses=errors(401, 403, 503)
)
def auditor_sign_out(
    auditor: CurrentAuditor, token: AuditorToken, services: ServicesDep, settings: SettingsDep
) -> Response:
    """Sign out: the auditor token stops working at once."""
    del auditor  # authenticated above; the token names the session to end
    digest = signin.token_digest(role=AUDITOR, settings=settings, token=token)
    services.auditor_sessions.end_session(digest)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def _record(trail: TrailDep, record: str, proof: RecordProof | None, check: bool) -> Trace:
    return trail.trace_record(record=bytes.fromhex(record[2:]), proof=proof, check_ciphertext=check)


def _log(services: Services) -> DisclosureLogAPI | None:
    return None if services.disclosures is None else services.disclosures.log


def _proof(body: RecordTraceRequest) -> RecordProof | None:
    if body.proof is None:
        return None
    try:
        return proof_from_json(body.proof)
    except (ProofError, ValueError) as exc:
        raise BadRequest(f"the proof is malformed: {exc}") from exc


@router.get("/records/{record}/trace", response_model=Trace, responses=TRACE_ERRORS)
def record_trace(
    _: CurrentAuditor, trail: TrailDep, services: ServicesDep, record: RecordPath,
    check_ciphertext: Check = False,
) -> Trace:  # fmt: skip
    """A record's anchors, versions, its case's referrals, grants and accesses, and its reads."""
    return with_reads(_record(trail, record, None, check_ciphertext), _log(services))


@router.post(
    "/records/{record}/trace", response_model=Trace, responses=errors(400, 401, 403, 404, 503)
)
def record_trace_with_proof(
    _: CurrentAuditor,
    trail: TrailDep,
    services: ServicesDep,
    record: RecordPath,
    body: Annotated[RecordTraceRequest, Body()],
    check_ciphertext: Check = False,
) -> Trace:
    """As GET, with the record's inclusion proof (needed for a batched record)."""
    return with_reads(_record(trail, record, _proof(body), check_ciphertext), _log(services))


@router.get("/cases/{case}/trace", response_model=Trace, responses=TRACE_ERRORS)
def case_trace(
    _: CurrentAuditor, trail: TrailDep, services: ServicesDep, case: CasePath,
    check_ciphertext: Check = False,
) -> Trace:  # fmt: skip
    """Every chain event about a case, oldest first, and the reads this gateway served of it."""
    trace = trail.trace_case(case=bytes.fromhex(case[2:]), check_ciphertext=check_ciphertext)
    return with_reads(trace, _log(services))


@router.get("/grants/{grant}/trace", response_model=Trace, responses=TRACE_ERRORS)
def grant_trace(
    _: CurrentAuditor, trail: TrailDep, services: ServicesDep, grant: GrantPath,
    check_ciphertext: Check = False,
) -> Trace:  # fmt: skip
    """A grant's issue or break-glass, redemptions, revocation, referral states and reads."""
    trace = trail.trace_grant(grant=grant, check_ciphertext=check_ciphertext)
    return with_reads(trace, _log(services))


_FHIR: dict[int | str, dict[str, Any]] = {
    200: {"content": {FHIR_JSON: {}}, "description": "A FHIR R4 Bundle (collection)."}
}


def _fhir(trace: Trace) -> JSONResponse:
    return JSONResponse(to_bundle(trace), media_type=FHIR_JSON)


@router.get(
    "/records/{record}/fhir", response_class=JSONResponse, responses={**_FHIR, **TRACE_ERRORS}
)
def record_fhir(_: CurrentAuditor, trail: TrailDep, services: ServicesDep, record: RecordPath
                ) -> JSONResponse:  # fmt: skip
    """A record's trace (and its reads) as FHIR R4 Provenance and AuditEvent resources."""
    return _fhir(with_reads(_record(trail, record, None, False), _log(services)))


@router.get("/cases/{case}/fhir", response_class=JSONResponse, responses={**_FHIR, **TRACE_ERRORS})
def case_fhir(_: CurrentAuditor, trail: TrailDep, services: ServicesDep, case: CasePath
              ) -> JSONResponse:  # fmt: skip
    """A case's trace (and its reads) as FHIR R4 Provenance and AuditEvent resources."""
    return _fhir(with_reads(trail.trace_case(case=bytes.fromhex(case[2:])), _log(services)))


@router.get(
    "/grants/{grant}/fhir", response_class=JSONResponse, responses={**_FHIR, **TRACE_ERRORS}
)
def grant_fhir(_: CurrentAuditor, trail: TrailDep, services: ServicesDep, grant: GrantPath
               ) -> JSONResponse:  # fmt: skip
    """A grant's trace (and its reads) as FHIR R4 AuditEvent resources."""
    return _fhir(with_reads(trail.trace_grant(grant=grant), _log(services)))
