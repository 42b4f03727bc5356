"""FastAPI dependencies as ``Annotated`` aliases: routers declare what they need by type."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from gateway.container import Services
from gateway.disclosure.recorder import Discloser
from gateway.domain import Session
from gateway.exceptions import MissingCredentials
from gateway.services import signin
from gateway.services.auth import PHYSICIAN, physician_check
from gateway.settings import GatewaySettings
from gateway.typing import PhysicianAddress
from keys.typing import GrantId

# The two below are ``async`` on purpose: FastAPI runs a plain ``def`` dependency in the
# thread pool, a round trip through a worker thread (and the GIL) per dependency and per
# request, for what is an attribute read (bench/gateway.py).


async def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


async def app_settings(request: Request) -> GatewaySettings:
    """The app's settings, fixed by ``create_app``.

    Not a ``dependency_overrides`` entry: FastAPI re-analyses an overriding callable's
    signature (``get_dependant``, pydantic schemas) on every request that uses it.
    """
    settings: GatewaySettings = request.app.state.settings
    return settings


SettingsDep = Annotated[GatewaySettings, Depends(app_settings)]
ServicesDep = Annotated[Services, Depends(get_services)]

_bearer = HTTPBearer(auto_error=False, description="Session token from POST /auth/session.")


Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def _session(
    settings: GatewaySettings, services: Services, credentials: HTTPAuthorizationCredentials | None
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


def current_session(
    settings: SettingsDep, services: ServicesDep, credentials: Credentials
) -> Session:
    return _session(settings, services, credentials)


CurrentSession = Annotated[Session, Depends(current_session)]


def current_physician(session: CurrentSession) -> PhysicianAddress:
    return session.physician


CurrentPhysician = Annotated[PhysicianAddress, Depends(current_physician)]


def readable_grants(
    request: Request, settings: SettingsDep, services: ServicesDep, credentials: Credentials
) -> frozenset[GrantId]:
    """The session's redeemed grants that are still readable (not revoked, not expired).

    Authenticates the session itself rather than depending on :func:`current_session`:
    one worker-thread hop per read request instead of two (both may read the chain).
    """
    session = _session(settings, services, credentials)
    request.state.physician = session.physician  # for :func:`discloser`, same request
    now = services.clock()
    readable = set()
    for grant in session.grants:
        state = services.chain.grant_state(grant=grant)
        if state is not None and state.grantee == settings.hospital and state.readable_at(now):
            readable.add(grant)
    return frozenset(readable)


ReadableGrants = Annotated[frozenset[GrantId], Depends(readable_grants)]


async def discloser(request: Request, services: ServicesDep, _: ReadableGrants) -> Discloser:
    """Accounts this request's reads to its physician (authenticated by ``ReadableGrants``)."""
    physician: str = request.state.physician
    return Discloser(anchorer=services.disclosures, physician=physician, clock=services.clock)


Disclose = Annotated[Discloser, Depends(discloser)]
