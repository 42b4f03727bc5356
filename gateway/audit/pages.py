"""The auditor's browser sign-in: address → challenge to sign → session cookie → the page.

The same proof-of-possession sign-in as the audit API (:mod:`gateway.services.signin` with
the auditor role, a key registered in ``Consortium``), carried by HTML forms. Form bodies
are parsed here (``application/x-www-form-urlencoded``, small, strict) rather than through
an extra multipart dependency.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, TypeVar
from urllib.parse import parse_qs

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool

from common.web import SafeJSONRoute
from gateway.audit.deps import COOKIE, CurrentAuditor, TrailDep
from gateway.audit.signin import AUDITOR, auditor_check
from gateway.audit.signin_html import CSP, address_form, signature_form, signed_in_page
from gateway.deps import ServicesDep, SettingsDep
from gateway.exceptions import BadRequest
from gateway.models import ChallengeRequest, SessionRequest
from gateway.responses import errors
from gateway.services import signin

router = APIRouter(prefix="/audit", tags=["audit"], route_class=SafeJSONRoute)

MAX_FORM_BYTES = 4096
#: Where a sign-in may send the browser afterwards: our own case pages only (no open redirect).
NEXT = re.compile(r"^/audit/(cases/0x[0-9a-fA-F]{64}|signin/done)$")
Next = Annotated[
    str | None, Query(pattern=NEXT.pattern, description="Case page to return to after sign-in.")
]
M = TypeVar("M", bound=BaseModel)
_HTML = {"content": {"text/html": {}}, "description": "An HTML form."}


#: The form fields' patterns, as the JSON sign-in models declare them.
PATTERNS = {"address": r"^0x[0-9a-fA-F]{40}$", "nonce": r"^0x[0-9a-fA-F]{64}$",
            "signature": r"^0x[0-9a-fA-F]{130}$", "next": NEXT.pattern}  # fmt: skip


def _form(fields: dict[str, bool]) -> dict[str, Any]:
    """OpenAPI ``requestBody`` of a form: ``fields`` maps each name to whether it is required."""
    properties = {k: {"type": "string", "pattern": PATTERNS[k]} for k in fields}
    schema = {"type": "object", "properties": properties,
              "required": [k for k, required in fields.items() if required]}  # fmt: skip
    content = {"application/x-www-form-urlencoded": {"schema": schema}}
    return {"requestBody": {"required": True, "content": content}}


async def _fields(request: Request) -> dict[str, str]:
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise BadRequest("form too large")
    try:
        parsed = parse_qs(
            body.decode("utf-8"),
            keep_blank_values=True,
            strict_parsing=bool(body),
            max_num_fields=8,
        )
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadRequest("expected an application/x-www-form-urlencoded form") from exc
    return {k: v[-1] for k, v in parsed.items()}


def _model(model: type[M], fields: dict[str, str]) -> M:
    try:
        return model.model_validate(fields)
    except ValidationError as exc:
        reasons = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise BadRequest(f"invalid form: {reasons}") from None


def _next(value: str | None) -> str:
    if value is None:
        return "/audit/signin/done"
    if not NEXT.match(value):
        raise BadRequest("next must be a case page of this gateway: /audit/cases/0x<64 hex>")
    return value


def _html(text: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(text, status_code=status, headers={"Content-Security-Policy": CSP})


@router.get("/signin", response_class=HTMLResponse, responses={200: _HTML, **errors(400)})
def signin_page(next: Next = None) -> HTMLResponse:  # the query key is `next`
    """The auditor's browser sign-in, step 1: which auditor key."""
    return _html(address_form(next_path=_next(next)))


@router.post("/signin", response_class=HTMLResponse, responses={200: _HTML, **errors(400)},
             openapi_extra=_form({"address": True, "next": False}))  # fmt: skip
async def signin_challenge(
    request: Request, settings: SettingsDep, services: ServicesDep
) -> HTMLResponse:
    """Step 2: a single-use challenge for the auditor to sign, and the signature form."""
    fields = await _fields(request)
    body = _model(ChallengeRequest, {"address": fields.get("address", "")})
    challenge = signin.issue_challenge(
        role=AUDITOR, settings=settings, store=services.auditor_sessions, address=body.address,
        now=services.clock(),
    )  # fmt: skip
    return _html(signature_form(address=body.address, nonce="0x" + challenge.nonce.hex(),
                                message=challenge.message,
                                next_path=_next(fields.get("next"))))  # fmt: skip


@router.post(
    "/signin/session",
    response_class=RedirectResponse,
    status_code=303,
    responses={303: {"description": "Signed in: the session cookie is set."},
               **errors(400, 401, 403, 503)},
    openapi_extra=_form({"address": True, "nonce": True, "signature": True, "next": False}),
)  # fmt: skip
async def signin_session(
    request: Request, settings: SettingsDep, services: ServicesDep, trail: TrailDep
) -> RedirectResponse:
    """Step 3: check the signature and the auditor role; set the session cookie, go on."""
    fields = await _fields(request)
    body = _model(SessionRequest, {k: fields.get(k, "") for k in ("address", "nonce", "signature")})
    token, session = await run_in_threadpool(
        signin.open_session, role=AUDITOR, settings=settings, store=services.auditor_sessions,
        check=auditor_check(trail), address=body.address, nonce=body.nonce_bytes,
        signature=body.signature_bytes, now=services.clock(),
    )  # fmt: skip
    response = RedirectResponse(_next(fields.get("next")), status_code=303)
    response.set_cookie(
        COOKIE, token, max_age=int(session.expires_at - services.clock()), path="/audit",
        httponly=True, samesite="strict", secure=request.url.scheme == "https",
    )  # fmt: skip
    return response


@router.get("/signin/done", response_class=HTMLResponse,
            responses={200: _HTML, **errors(401, 403, 503)})  # fmt: skip
def signed_in(auditor: CurrentAuditor) -> HTMLResponse:
    """Where a sign-in without a case to return to lands."""
    return _html(signed_in_page(auditor=auditor))
