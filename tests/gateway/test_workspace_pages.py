"""The workspace's renderers and routes without a browser: words for FHIR, escaping, refusals.

The in-process gateway (``tests/gateway/conftest.py``: its chain view and case store are
tables standing in for the chain and the node, not under test here).
"""

from __future__ import annotations

import json
import time
from urllib.parse import urlencode

from eth_account.signers.local import LocalAccount

from gateway.domain import InboxEntry, PhysicianStatus
from gateway.typing import PhysicianAddress
from gateway.workspace.fhir import readable
from gateway.workspace.html import inbox_page
from keys.typing import CaseId, GrantId, HospitalAddress
from tests.gateway.conftest import Gateway


def test_fhir_records_read_as_words_and_odd_ones_never_raise() -> None:
    obs = readable({"resourceType": "Observation", "status": "final",
                    "code": {"coding": [{"system": "http://loinc.org", "code": "718-7"}]},
                    "valueQuantity": {"value": 12.5, "unit": "g/dL"}})  # fmt: skip
    assert (obs.kind, obs.title, obs.lines) == ("Observation", "loinc.org 718-7",
                                                ("Value: 12.5 g/dL", "Status: final"))  # fmt: skip
    rx = readable({"resourceType": "MedicationRequest", "medicationCodeableConcept": {
        "coding": [{"display": "Metformin 500 mg"}]}, "dosageInstruction": [
        {"doseAndRate": [{"doseQuantity": {"value": 1, "unit": "tablet"}}]}]})  # fmt: skip
    assert (rx.kind, rx.title, rx.lines) == ("Prescription", "Metformin 500 mg",
                                             ("Dosage: 1 tablet",))  # fmt: skip
    assert readable({"resourceType": "Patient"}).title == "Patient"
    assert readable([1, 2]).title == "Unreadable record"
    odd = readable({"resourceType": "Condition", "note": "not a list of notes"})
    assert odd.kind == "Condition"


def test_the_inbox_page_escapes_what_the_chain_and_the_grantor_said() -> None:
    entry = InboxEntry(
        grant_id=GrantId((5).to_bytes(32, "big")), case_id=CaseId(b"\x01" * 32), referral_id=3,
        grantor=HospitalAddress("0x" + "ab" * 20), grantor_name="<script>alert(1)</script>",
        reason_code=7, expiry=int(time.time()) + 60, max_uses=2, uses_left=2, physician=None,
        revoked=False, delivered_at=time.time(), token='"><img src=x onerror=alert(1)>',
    )  # fmt: skip
    page = inbox_page(physician=PhysicianAddress("0x" + "cd" * 20), entries=[entry],
                      now=time.time())  # fmt: skip
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<img" not in page and 'data-token="&quot;&gt;&lt;img' in page
    gone = inbox_page(physician=PhysicianAddress("0x" + "cd" * 20),
                      entries=[entry], now=entry.expiry + 1)  # fmt: skip
    assert 'data-state="expired"' in gone and "button" not in gone.split("<tbody>")[1]


def test_the_pages_need_a_session_and_the_inbox_a_node(
    gateway: Gateway, physician: LocalAccount
) -> None:
    client = gateway.client
    case = f"/workspace/cases/0x{'11' * 32}"
    for path, back in (("/workspace/inbox", "/workspace/inbox"), (case, case),
                       (f"{case}/viewer?study=1.2.3", case)):  # fmt: skip
        resp = client.get(path, follow_redirects=False)
        assert resp.status_code == 303, path
        assert resp.headers["location"] == "/workspace?" + urlencode({"next": back})
    # Back to the page after sign-in: our own pages only, never an open redirect.
    assert f'data-next="{case}"' in client.get("/workspace", params={"next": case}).text
    for hostile in ("https://evil.example/", "//evil.example", "/workspace/../audit", "/x"):
        refused = client.get("/workspace", params={"next": hostile})
        assert refused.status_code == 422 and "next" in refused.text
    gateway.register(physician, PhysicianStatus.ACTIVE)
    token = gateway.sign_in(physician)
    opened = client.post("/workspace/session", headers={"Authorization": f"Bearer {token}"})
    assert opened.status_code == 204
    cookie = opened.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/workspace" in cookie
    inbox = client.get("/workspace/inbox")  # the TestClient keeps the cookie
    assert inbox.status_code == 503 and inbox.json()["error"] == "chain_unavailable"
    empty = client.get(f"/workspace/cases/0x{'11' * 32}")
    assert empty.status_code == 200 and 'id="empty"' in empty.text  # no grant: nothing shown
    hostile = client.get(f"/workspace/cases/0x{'11' * 32}/viewer",
                         params={"study": '1.2"><script>'})  # fmt: skip
    assert hostile.status_code == 422
    assert json.loads(client.get("/workspace/static/nope.js").text)["error"] == "not_found"
