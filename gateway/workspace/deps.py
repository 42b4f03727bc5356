"""The workspace pages' session: the physician's own session token, in an HttpOnly cookie.

The sign-in script gets a session from ``POST /auth/session`` (the JSON API) and hands the
token to ``POST /workspace/session``, which sets it as a cookie scoped to ``/workspace``
(``HttpOnly``, ``SameSite=Strict``): the server-rendered pages read with it; the scripts use
the same token as a bearer for the JSON API and DICOMweb. It is the same session, so a grant
opened through ``/grants/redeem`` is readable on the case page at once, and a sign-out, an
expiry or a suspension ends both.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from fastapi.security import APIKeyCookie

from gateway.container import Services
from gateway.deps import ServicesDep, SettingsDep
from gateway.domain import Session
from gateway.exceptions import AuthenticationError, MissingCredentials
from gateway.services import signin
from gateway.services.auth import PHYSICIAN, physician_check
from gateway.settings import GatewaySettings
from keys.typing import CaseId, GrantId

COOKIE = "medledger_workspace"
PATH = "/workspace"

_cookie = APIKeyCookie(
    name=COOKIE,
    auto_error=False,
    scheme_name="WorkspaceCookie",
    description="The physician's session, set by POST /workspace/session after sign-in.",
)
CookieToken = Annotated[str | None, Depends(_cookie)]


def workspace_session(token: str | None, settings: GatewaySettings, services: Services) -> Session:
    """The cookie's live session; ``MissingCredentials`` (401) without one."""
    if not token:
        raise MissingCredentials("sign in at /workspace first")
    return signin.authenticate(
        role=PHYSICIAN, settings=settings, store=services.sessions,
        check=physician_check(settings=settings, chain=services.chain), token=token,
        now=services.clock(),
    )  # fmt: skip


def signed_in(token: CookieToken, settings: SettingsDep, services: ServicesDep) -> Session | None:
    """The cookie's live session, or ``None`` (the page then sends the browser to sign in).

    A suspended physician is still refused (403): signing in again would not help.
    """
    try:
        return workspace_session(token, settings, services)
    except AuthenticationError:
        return None


WorkspaceSession = Annotated[Session | None, Depends(signed_in)]


def case_grants(
    *, session: Session, settings: SettingsDep, services: ServicesDep, case: CaseId
) -> frozenset[GrantId]:
    """The session's redeemed grants of ``case`` still readable on chain (as the API's)."""
    now = services.clock()
    readable = set()
    for grant in session.grants:
        state = services.chain.grant_state(grant=grant)
        if (state is not None and state.grantee == settings.hospital and state.readable_at(now)
                and state.case_id == case):  # fmt: skip
            readable.add(grant)
    return frozenset(readable)
