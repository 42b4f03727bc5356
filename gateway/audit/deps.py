"""Dependencies of the audit routes: the configured trail and the signed-in auditor."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from gateway.audit import signin
from gateway.audit.abc import AuditTrailAPI
from gateway.audit.errors import AuditTrailNotConfigured
from gateway.deps import ServicesDep, SettingsDep
from gateway.exceptions import MissingCredentials
from gateway.typing import PhysicianAddress


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


def auditor_token(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    if credentials is None:
        raise MissingCredentials("sign in as an auditor first: Authorization: Bearer <token>")
    return credentials.credentials


AuditorToken = Annotated[str, Depends(auditor_token)]


def current_auditor(
    settings: SettingsDep, services: ServicesDep, trail: TrailDep, token: AuditorToken
) -> PhysicianAddress:
    return signin.authenticate(
        settings=settings,
        store=services.auditor_sessions,
        trail=trail,
        token=token,
        now=services.clock(),
    )


CurrentAuditor = Annotated[PhysicianAddress, Depends(current_auditor)]
