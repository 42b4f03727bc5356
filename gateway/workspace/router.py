"""The workspace's routes: thin; rendering in ``html``/``case_html``, data in ``case``.

Pages answer ``303`` to the sign-in page (``?next=`` the page) when the cookie session is
missing or over, so a physician whose session expired signs in again and is back where they
were.
"""

from __future__ import annotations

import re
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Path, Query, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool

from common.web import SafeJSONRoute
from gateway.deps import Credentials, CurrentSession, ServicesDep, SettingsDep
from gateway.disclosure.recorder import Discloser
from gateway.exceptions import BadRequest, ChainUnavailable
from gateway.responses import errors
from gateway.workspace import case_html, html
from gateway.workspace.case import case_view
from gateway.workspace.deps import COOKIE, PATH, WorkspaceSession, case_grants
from gateway.workspace.static import JS, static_file
from keys.typing import CaseId

router = APIRouter(prefix=PATH, tags=["workspace"], route_class=SafeJSONRoute)

Case = Annotated[str, Path(pattern=r"^0x[0-9a-fA-F]{64}$", description="The case id.")]
Study = Annotated[str, Query(pattern=r"^[0-9.]{1,64}$", description="Study Instance UID.")]
StaticName = Annotated[str, Path(pattern=r"^[a-z0-9.-]{1,40}$", description="A script name.")]
_PAGE = {"content": {"text/html": {}}, "description": "An HTML page."}
_HTML: dict[int | str, dict[str, Any]] = {
    200: _PAGE,
    303: {"description": "Not signed in: to the sign-in page, back here afterwards."},
    **errors(403),
}
#: Where a sign-in may send the browser afterwards: our own pages only (no open redirect).
NEXT = re.compile(r"^/workspace/(inbox|cases/0x[0-9a-fA-F]{64})$")
Next = Annotated[
    str | None, Query(pattern=NEXT.pattern, description="Workspace page to go to after sign-in.")
]


def _to_signin(back: str) -> RedirectResponse:
    return RedirectResponse(f"{PATH}?{urlencode({'next': back})}", status_code=303)


def _html(text: str) -> HTMLResponse:
    return HTMLResponse(text, headers={"Content-Security-Policy": html.CSP,
                                       "Cache-Control": "no-store",
                                       "Referrer-Policy": "no-referrer"})  # fmt: skip


@router.get("", response_class=HTMLResponse, responses={200: _PAGE, **errors(400)})
def signin_page(next: Next = None) -> HTMLResponse:  # the query key is `next`
    """Sign in with the physician's keystore file, decrypted and used in the browser only."""
    if next is not None and not NEXT.match(next):
        raise BadRequest("next must be a workspace page: /workspace/inbox or a case page")
    return _html(html.signin_page(next_path=next or f"{PATH}/inbox"))


@router.post("/session", status_code=204, responses=errors(401, 403))
def open_page_session(
    session: CurrentSession, credentials: Credentials, services: ServicesDep
) -> Response:
    """Carry this bearer session into the pages too (an HttpOnly cookie on ``/workspace``)."""
    assert credentials is not None  # CurrentSession refused a request without one
    response = Response(status_code=204)
    max_age = max(int(session.expires_at - services.clock()), 1)
    response.set_cookie(COOKIE, credentials.credentials, path=PATH, httponly=True,
                        samesite="strict", max_age=max_age)  # fmt: skip
    return response


@router.get("/inbox", response_class=HTMLResponse, responses={**_HTML, **errors(503)})
def inbox_page(session: WorkspaceSession, services: ServicesDep) -> Response:
    """Grants delivered to this hospital that this physician may open, newest first."""
    if session is None:
        return _to_signin(f"{PATH}/inbox")
    if services.inbox is None:
        raise ChainUnavailable("this gateway has no inbox (no node case store configured)")
    mine = [e for e in services.inbox.entries() if e.physician in (None, session.physician)]
    return _html(html.inbox_page(physician=session.physician, entries=mine,
                                 now=services.clock()))  # fmt: skip


@router.get("/cases/{case}", response_class=HTMLResponse,
            responses={**_HTML, **errors(502, 503)})  # fmt: skip
async def case_page(
    case: Case, session: WorkspaceSession, settings: SettingsDep, services: ServicesDep
) -> Response:
    """The case's verified records in words, with provenance badges, and its studies."""
    if session is None:
        return _to_signin(f"{PATH}/cases/{case}")
    case_id = CaseId(bytes.fromhex(case[2:]))

    def build() -> str:
        grants = case_grants(session=session, settings=settings, services=services,
                             case=case_id)  # fmt: skip
        disclose = Discloser(anchorer=services.disclosures, physician=session.physician,
                             clock=services.clock)  # fmt: skip
        view = case_view(cases=services.cases, grants=grants, case=case_id, disclose=disclose)
        return case_html.case_page(view)

    return _html(await run_in_threadpool(build))


@router.get("/cases/{case}/viewer", response_class=HTMLResponse, responses=_HTML)
def viewer_page(case: Case, study: Study, session: WorkspaceSession) -> Response:
    """The study in the browser, read over this gateway's DICOMweb with the session."""
    if session is None:
        return _to_signin(f"{PATH}/cases/{case}")
    return _html(case_html.viewer_page(case=case.lower(), study=study))


_SCRIPT: dict[int | str, dict[str, Any]] = {
    200: {"content": {JS: {}}, "description": "A script."},
    **errors(404),
}


@router.get("/static/{name}", response_class=Response, responses=_SCRIPT)
def static(name: StaticName) -> Response:
    """The workspace's scripts: ours and the vendored browser builds (no CDN)."""
    return Response(static_file(name), media_type=JS,
                    headers={"Cache-Control": "public, max-age=3600",
                             "X-Content-Type-Options": "nosniff"})  # fmt: skip
