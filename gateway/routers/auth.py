"""Sign-in by proof of possession of a registered physician key."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from common.web import SafeJSONRoute
from gateway.deps import CurrentSession, ServicesDep, SettingsDep
from gateway.models import ChallengeRequest, ChallengeResponse, SessionRequest, SessionResponse
from gateway.responses import errors
from gateway.services import signin
from gateway.services.auth import PHYSICIAN, physician_check

router = APIRouter(prefix="/auth", tags=["auth"], route_class=SafeJSONRoute)


@router.post("/challenge", response_model=ChallengeResponse, responses=errors(400))
def create_challenge(
    body: ChallengeRequest, settings: SettingsDep, services: ServicesDep
) -> ChallengeResponse:
    """Issue a single-use, short-lived challenge for a physician address to sign."""
    challenge = signin.issue_challenge(
        role=PHYSICIAN, settings=settings, store=services.sessions, address=body.address,
        now=services.clock(),
    )  # fmt: skip
    return ChallengeResponse.of(challenge)


@router.post("/session", response_model=SessionResponse, responses=errors(400, 401, 403))
def create_session(
    body: SessionRequest, settings: SettingsDep, services: ServicesDep
) -> SessionResponse:
    """Exchange a signed challenge for a short-lived bearer session token."""
    token, session = signin.open_session(
        role=PHYSICIAN,
        settings=settings,
        store=services.sessions,
        check=physician_check(settings=settings, chain=services.chain),
        address=body.address,
        nonce=body.nonce_bytes,
        signature=body.signature_bytes,
        now=services.clock(),
    )
    return SessionResponse(
        token=token,
        expires_at=session.expires_at,
        physician=session.physician,
        hospital=session.hospital,
    )


@router.delete("/session", status_code=status.HTTP_204_NO_CONTENT, responses=errors(401, 403))
def end_session(session: CurrentSession, services: ServicesDep) -> Response:
    """Sign out: the session token stops working at once."""
    services.sessions.end_session(session.digest)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
