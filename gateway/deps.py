"""FastAPI dependencies as ``Annotated`` aliases: routers declare what they need by type."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from gateway.container import Services
from gateway.domain import Session
from gateway.exceptions import MissingCredentials
from gateway.services import signin
from gateway.services.auth import PHYSICIAN, physician_check
from gateway.settings import GatewaySettings, get_settings
from gateway.typing import GrantId, PhysicianAddress


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


SettingsDep = Annotated[GatewaySettings, Depends(get_settings)]
ServicesDep = Annotated[Services, Depends(get_services)]

_bearer = HTTPBearer(auto_error=False, description="Session token from POST /auth/session.")


def current_session(
    settings: SettingsDep,
    services: ServicesDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Session:
    if credentials is None:
        raise MissingCredentials("sign in first: Authorization: Bearer <session token>")
    return signin.authenticate(
        role=PHYSICIAN,
        settings=settings,
        store=services.sessions,
        check=physician_check(settings=settings, chain=services.chain),
        token=credentials.credentials,
        now=services.clock(),
    )


CurrentSession = Annotated[Session, Depends(current_session)]


def current_physician(session: CurrentSession) -> PhysicianAddress:
    return session.physician


CurrentPhysician = Annotated[PhysicianAddress, Depends(current_physician)]


def readable_grants(
    session: CurrentSession, settings: SettingsDep, services: ServicesDep
) -> frozenset[GrantId]:
    """The session's redeemed grants that are still readable (not revoked, not expired)."""
    now = services.clock()
    readable = set()
    for grant in session.grants:
        state = services.chain.grant_state(grant=grant)
        if state is not None and state.grantee == settings.hospital and state.readable_at(now):
            readable.add(grant)
    return frozenset(readable)


ReadableGrants = Annotated[frozenset[GrantId], Depends(readable_grants)]
