"""The auditor's case page and its browser sign-in, at the HTTP layer.

The timeline comes from ``DictAuditSource`` and the auditor role from ``TableAuditTrail``
(in-process stand-ins for the chain readers, which have their own tests on real chains);
the page, its escaping, the sign-in forms and the session cookie are under test. The page
in a real Chromium, signed in as a real chain auditor, is ``audit/test_page_chromium.py``.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import pytest
from eth_account import Account
from fastapi.testclient import TestClient

from gateway.app import create_app
from gateway.container import Services
from gateway.memory import MemorySessionStore
from gateway.timeline import Timeline, TimelineEvent
from keys.typing import CaseId
from tests.gateway.audit.apps import sign_in
from tests.gateway.audit.fakes import TableAuditTrail
from tests.gateway.conftest import make_settings, sign
from tests.gateway.fakes import DictAuditSource, FileCaseStore, TableChainView

CASE = "0x" + "c4" * 32
AUDITOR = Account.create()
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
KINDS = ["AnchorBatch", "ReferralInitiated", "ReferralAccepted", "GrantIssued"]
KINDS += ["AccessRedeemed", "GrantRevoked"]
HOSTILE = "<script>document.title='pwned'</script>"


def _timeline() -> Timeline:
    start = datetime(2026, 11, 2, 8, 30, tzinfo=UTC)
    events = [
        TimelineEvent(
            kind=kind,
            block=100 + 7 * i,
            tx="0x" + f"{i:02x}" * 32,
            actor="0x" + f"{i + 1:02x}" * 20,
            time=start + timedelta(minutes=13 * i),
            detail=HOSTILE if kind == "GrantRevoked" else f"{kind} detail",
        )
        for i, kind in enumerate(KINDS)
    ]
    return Timeline(case=CASE, events=events)


@pytest.fixture
def audited() -> Iterator[TestClient]:
    audit = DictAuditSource({CaseId(bytes.fromhex(CASE[2:])): _timeline()})
    trail = TableAuditTrail(auditors={AUDITOR.address})
    services = Services(chain=TableChainView(), cases=FileCaseStore(),
                        sessions=MemorySessionStore(), audit=audit, trail=trail)  # fmt: skip
    with TestClient(create_app(services=services, settings=make_settings())) as client:
        yield client


def _bearer(client: TestClient) -> dict[str, str]:
    response = sign_in(client, AUDITOR)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def test_timeline_json_and_page_headers(audited: TestClient) -> None:
    headers = _bearer(audited)
    response = audited.get(f"/audit/cases/{CASE}/timeline", headers=headers)
    assert response.status_code == 200
    assert [e["kind"] for e in response.json()["events"]] == KINDS
    page = audited.get(f"/audit/cases/{CASE}", headers=headers)
    assert page.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert HOSTILE not in page.text and "&lt;script&gt;" in page.text
    assert "http" not in page.text.lower().replace("http-equiv", "")  # no external asset


def test_unknown_case_is_not_found(audited: TestClient) -> None:
    headers = _bearer(audited)
    for path in [f"/audit/cases/0x{'00' * 32}", f"/audit/cases/0x{'00' * 32}/timeline"]:
        response = audited.get(path, headers=headers)
        assert (response.status_code, response.json()["error"]) == (404, "not_found")
    assert audited.get("/audit/cases/0x1234", headers=headers).status_code == 422


def test_browser_sign_in_sets_a_strict_cookie_that_opens_the_page(audited: TestClient) -> None:
    page = f"/audit/cases/{CASE}"
    assert audited.get(page).status_code == 401  # an API client: JSON, no redirect
    form = audited.get(f"/audit/signin?next={page}")
    assert f'name="next" value="{page}"' in form.text
    assert "form-action 'self'" in form.headers["content-security-policy"]
    step2 = audited.post("/audit/signin", content=f"address={AUDITOR.address}&next={page}",
                         headers=FORM)  # fmt: skip
    assert step2.status_code == 200, step2.text
    message = html.unescape(re.search(r'<pre id="message">(.*?)</pre>', step2.text, re.S)[1])  # type: ignore[index]
    nonce = re.search(r'name="nonce" value="(0x[0-9a-f]{64})"', step2.text)[1]  # type: ignore[index]
    body = {"address": AUDITOR.address, "nonce": nonce, "signature": sign(AUDITOR, message),
            "next": page}  # fmt: skip
    done = audited.post("/audit/signin/session", content=urlencode(body), headers=FORM,
                        follow_redirects=False)  # fmt: skip
    assert (done.status_code, done.headers["location"]) == (303, page)
    cookie = done.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/audit" in cookie
    assert audited.get(page).status_code == 200  # the cookie jar now carries the session
    audited.cookies.clear()
    assert audited.get(page).status_code == 401


def test_sign_in_forms_refuse_junk_and_never_redirect_off_site(audited: TestClient) -> None:
    for junk in [b"address=nope", b"%zz", b"a" * 5000, b"address=0x" + b"ab" * 20 + b"&x"]:
        response = audited.post("/audit/signin", content=junk, headers=FORM)
        assert (response.status_code, response.json()["error"]) == (400, "bad_request"), junk
    outsider = Account.create()
    step2 = audited.post("/audit/signin", content=f"address={outsider.address}", headers=FORM)
    message = html.unescape(re.search(r'<pre id="message">(.*?)</pre>', step2.text, re.S)[1])  # type: ignore[index]
    nonce = re.search(r'name="nonce" value="(0x[0-9a-f]{64})"', step2.text)[1]  # type: ignore[index]
    body = {"address": outsider.address, "nonce": nonce, "signature": sign(outsider, message),
            "next": ""}  # fmt: skip
    refused = audited.post("/audit/signin/session", content=urlencode(body), headers=FORM,
                           follow_redirects=False)  # fmt: skip
    assert (refused.status_code, refused.json()["error"]) == (403, "not_auditor")
    off_site = audited.get("/audit/signin?next=//evil.example")
    assert off_site.status_code == 422  # the query's declared pattern
