"""Auditor views of a case, rebuilt from chain events (read-only; the chain holds no PHI).

Both need an auditor session (bearer token or the browser sign-in's cookie). A browser
that asks for the page without a live session is sent to the sign-in page (303); an API
client gets 401 JSON.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Header, Path
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from common.web import SafeJSONRoute
from gateway.audit.deps import (
    CurrentAuditor,
    PresentedToken,
    auditor_token,
    current_auditor,
    get_trail,
)
from gateway.deps import ServicesDep, SettingsDep
from gateway.exceptions import AuthenticationError, NotFound
from gateway.responses import errors
from gateway.services.timeline_html import render
from gateway.timeline import Timeline
from keys.typing import CaseId

router = APIRouter(prefix="/audit", tags=["audit"], route_class=SafeJSONRoute)

Case = Annotated[str, Path(pattern=r"^0x[0-9a-fA-F]{64}$", description="The case id (32 bytes).")]
#: No script, no external asset: the page is inert whatever a chain event's text says.
CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"


def _timeline(services: ServicesDep, case: str) -> Timeline:
    timeline = services.audit.case_timeline(case=CaseId(bytes.fromhex(case[2:])))
    if timeline is None:
        raise NotFound("the chain has no event about this case")
    return timeline


@router.get("/cases/{case}/timeline", response_model=Timeline, responses=errors(401, 403, 404, 503))
def case_timeline(_: CurrentAuditor, services: ServicesDep, case: Case) -> Timeline:
    """A case's chain events, oldest first, as JSON (needs an auditor session)."""
    return _timeline(services, case)


@router.get(
    "/cases/{case}",
    response_class=HTMLResponse,
    responses={
        200: {"content": {"text/html": {}}},
        303: {"description": "A browser without an auditor session: go to the sign-in page."},
        **errors(401, 403, 404, 503),
    },
)
def case_page(
    services: ServicesDep,
    settings: SettingsDep,
    case: Case,
    token: PresentedToken,
    accept: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Response:
    """The auditor's web page: a case's timeline (needs an auditor session)."""
    try:
        current_auditor(settings, services, get_trail(services), auditor_token(token))
    except AuthenticationError:
        if "text/html" not in (accept or ""):
            raise
        target = quote(f"/audit/cases/{case}", safe="/")
        return RedirectResponse(f"/audit/signin?next={target}", status_code=303)
    return HTMLResponse(render(_timeline(services, case)), headers={"Content-Security-Policy": CSP})
