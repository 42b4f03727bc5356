"""Auditor views of a case, rebuilt from chain events (read-only; the chain holds no PHI)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import HTMLResponse

from gateway.deps import ServicesDep
from gateway.exceptions import NotFound
from gateway.responses import errors
from gateway.services.timeline_html import render
from gateway.timeline import Timeline
from gateway.typing import CaseId
from medledger.web import SafeJSONRoute

router = APIRouter(prefix="/audit", tags=["audit"], route_class=SafeJSONRoute)

Case = Annotated[str, Path(pattern=r"^0x[0-9a-fA-F]{64}$", description="The case id (32 bytes).")]
#: No script, no external asset: the page is inert whatever a chain event's text says.
CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"


def _timeline(services: ServicesDep, case: str) -> Timeline:
    timeline = services.audit.case_timeline(case=CaseId(bytes.fromhex(case[2:])))
    if timeline is None:
        raise NotFound("the chain has no event about this case")
    return timeline


@router.get("/cases/{case}/timeline", response_model=Timeline, responses=errors(404))
def case_timeline(services: ServicesDep, case: Case) -> Timeline:
    """A case's chain events, oldest first, as JSON."""
    return _timeline(services, case)


@router.get(
    "/cases/{case}",
    response_class=HTMLResponse,
    responses={200: {"content": {"text/html": {}}}, **errors(404)},
)
def case_page(services: ServicesDep, case: Case) -> HTMLResponse:
    """The auditor's web page: a case's timeline."""
    return HTMLResponse(render(_timeline(services, case)), headers={"Content-Security-Policy": CSP})
