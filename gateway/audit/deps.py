"""Dependencies of the audit routes: the configured trail and the signed-in auditor.

An auditor session is presented as ``Authorization: Bearer`` (API clients) or as the
``medledger_auditor`` cookie that the browser sign-in (:mod:`gateway.audit.pages`) sets.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer

from gateway.abc import AuditTrailAPI
from gateway.audit.errors import AuditTrailNotConfigured
from gateway.audit.signin import AUDITOR, auditor_check
from gateway.deps import ServicesDep, SettingsDep
from gateway.exceptions import MissingCredentials
from gateway.services import signin
from gateway.typing import PhysicianAddress

COOKIE = "medledger_auditor"


def get_trail(services: ServicesDep) -> AuditTrailAPI:
    if services.trail is None:
        raise AuditTrailNotConfigured("this gateway has no chain reader for audits")
    return services.trail


TrailDep = Annotated[AuditTrailAPI, Depends(get_trail)]

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="AuditorBearer",
    description="Auditor session token from POST /audit/auth/session.",
)
_cookie = APIKeyCookie(
    name=COOKIE,
    auto_error=False,
    scheme_name="AuditorCookie",
    description="Auditor session set by the browser sign-in at /audit/signin.",
)


def presented_token(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    cookie: Annotated[str | None, Depends(_cookie)],
) -> str | None:
    """The auditor token of the request, bearer first, then the cookie; ``None`` if neither."""
    if credentials is not None:
        return credentials.credentials
    return cookie or None


PresentedToken = Annotated[str | None, Depends(presented_token)]


def auditor_token(token: PresentedToken) -> str:
    if token is None:
        raise MissingCredentials("sign in as an auditor first: Authorization: Bearer <token>")
    return token


AuditorToken = Annotated[str, Depends(auditor_token)]


def current_auditor(
    settings: SettingsDep, services: ServicesDep, trail: TrailDep, token: AuditorToken
) -> PhysicianAddress:
    session = signin.authenticate(
        role=AUDITOR, settings=settings, store=services.auditor_sessions,
        check=auditor_check(trail), token=token, now=services.clock(),
    )  # fmt: skip
    return session.physician


CurrentAuditor = Annotated[PhysicianAddress, Depends(current_auditor)]
