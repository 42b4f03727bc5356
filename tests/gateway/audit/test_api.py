"""The auditor API on a real chain (anvil): sign-in checked on chain, traces, FHIR export.

The physician-side seams (chain view, case store) are the gateway tests' in-process fakes:
they are not under test here and are never consulted by the audit routes.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from fhir.resources.R4B.bundle import Bundle

from gateway.audit.trail import ChainAuditTrail
from gateway.domain import PhysicianStatus
from node.proof.json_codec import proof_to_json
from tests.contracts.backends import rpc
from tests.gateway.audit.apps import audit_client, sign_in
from tests.gateway.audit.story import Story
from tests.gateway.fakes import TableChainView


@pytest.fixture
def chain_view() -> TableChainView:
    return TableChainView()


@pytest.fixture
def client(
    trail: ChainAuditTrail, story: Story, chain_view: TableChainView
) -> Iterator[TestClient]:
    with audit_client(trail, story.world.addr("county"), chain_view) as c:
        yield c


def _auditor(client: TestClient, story: Story) -> dict[str, str]:
    response = sign_in(client, story.world.acct["auditor"])
    assert response.status_code == 200, response.text
    assert response.json()["auditor"] == story.world.addr("auditor")
    return {"Authorization": f"Bearer {response.json()['token']}"}


def test_auditor_signs_in_and_reads_the_case_trace(client: TestClient, story: Story) -> None:
    headers = _auditor(client, story)
    response = client.get(f"/audit/cases/0x{story.case.hex()}/trace", headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert [(e["kind"], e["tx"], e["block"], e["actor"]) for e in body["events"]] == [
        (s.kind, s.tx, s.block, s.actor) for s in story.steps
    ]
    assert body["ciphertext"] is None and body["checks_ok"] is True


def test_non_auditor_keys_are_refused_with_403(client: TestClient, story: Story) -> None:
    for name in ("outsider", "village", "doc_county"):
        response = sign_in(client, story.world.acct[name])
        assert (response.status_code, response.json()["error"]) == (403, "not_auditor"), name


def test_trace_routes_need_an_auditor_session(
    client: TestClient, story: Story, chain_view: TableChainView
) -> None:
    path = f"/audit/cases/0x{story.case.hex()}/trace"
    assert client.get(path).status_code == 401
    assert client.get(path, headers={"Authorization": "Bearer nonsense"}).status_code == 401
    doctor = story.world.acct["doc_county"]
    chain_view.physicians[(story.world.addr("county"), doctor.address)] = PhysicianStatus.ACTIVE
    physician = sign_in(client, doctor, prefix="/auth")
    assert physician.status_code == 200
    as_physician = {"Authorization": f"Bearer {physician.json()['token']}"}
    assert client.get(path, headers=as_physician).status_code == 401
    # ...and an auditor token opens no physician route (no plaintext, ever).
    as_auditor = _auditor(client, story)
    records = client.get(f"/cases/0x{story.case.hex()}/records", headers=as_auditor)
    assert records.status_code == 401


def test_sign_out_ends_the_auditor_session(client: TestClient, story: Story) -> None:
    headers = _auditor(client, story)
    assert client.delete("/audit/auth/session", headers=headers).status_code == 204
    path = f"/audit/grants/{story.grant}/trace"
    assert client.get(path, headers=headers).status_code == 401


def test_record_grant_and_batched_record_traces(client: TestClient, story: Story) -> None:
    headers = _auditor(client, story)
    record = client.get(
        f"/audit/records/0x{story.record_v2.hex()}/trace",
        params={"check_ciphertext": "true"},
        headers=headers,
    ).json()
    assert record["versions"] == ["0x" + story.record_v1.hex(), "0x" + story.record_v2.hex()]
    assert {c["status"] for c in record["ciphertext"]} == {"ok"} and record["checks_ok"]
    grant = client.get(f"/audit/grants/{story.break_glass}/trace", headers=headers).json()
    assert [e["kind"] for e in grant["events"]] == [
        "BreakGlassAccess", "AccessRedeemed", "BreakGlassReviewed",
    ]  # fmt: skip
    batched = f"/audit/records/0x{story.batch_proof.record_id.hex()}/trace"
    assert client.get(batched, headers=headers).status_code == 404
    found = client.post(batched, json={"proof": proof_to_json(story.batch_proof)}, headers=headers)
    assert found.status_code == 200 and found.json()["proof"]["matches"] is True
    bad = client.post(batched, json={"proof": {"version": 1}}, headers=headers)
    assert (bad.status_code, bad.json()["error"]) == (400, "bad_request")


def test_unknown_ids_are_404(client: TestClient, story: Story) -> None:
    headers = _auditor(client, story)
    for path in (
        f"/audit/cases/0x{'42' * 32}/trace",
        f"/audit/records/0x{'42' * 32}/fhir",
        f"/audit/grants/{story.world.unknown_grant() + 50}/trace",
    ):
        response = client.get(path, headers=headers)
        assert (response.status_code, response.json()["error"]) == (404, "unknown_subject"), path


def test_fhir_export_is_a_valid_r4_bundle(client: TestClient, story: Story) -> None:
    headers = _auditor(client, story)
    response = client.get(f"/audit/cases/0x{story.case.hex()}/fhir", headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/fhir+json")
    bundle = Bundle.model_validate(response.json())
    assert bundle.type == "collection" and bundle.entry is not None
    assert len(bundle.entry) == len(story.steps)


def test_case_page_shows_the_chain_timeline_to_a_signed_in_auditor_only(
    client: TestClient, story: Story
) -> None:
    """The auditor page renders real chain events (AuditSourceAPI), behind auditor sign-in."""
    timeline_path, page_path = (
        f"/audit/cases/0x{story.case.hex()}/timeline",
        f"/audit/cases/0x{story.case.hex()}",
    )
    for path in (timeline_path, page_path):
        refused = client.get(path)
        assert (refused.status_code, refused.json()["error"]) == (401, "missing_credentials")
    browser = client.get(page_path, headers={"Accept": "text/html"}, follow_redirects=False)
    assert browser.status_code == 303
    assert browser.headers["location"] == f"/audit/signin?next={page_path}"
    headers = _auditor(client, story)
    timeline = client.get(timeline_path, headers=headers).json()
    assert [(e["kind"], e["tx"]) for e in timeline["events"]] == [
        (s.kind, s.tx) for s in story.steps
    ]
    page = client.get(page_path, headers=headers)
    assert "BreakGlassAccess" in page.text and "reason code 9" in page.text
    assert "break-glass: reviewed (justified)" in page.text
    physician = sign_in(client, story.world.acct["doc_county"], prefix="/audit/auth")
    assert physician.status_code == 403  # a physician's key is no auditor's


def test_removed_auditor_is_refused_at_the_next_request(client: TestClient, story: Story) -> None:
    world = story.world
    headers = _auditor(client, story)
    path = f"/audit/grants/{story.grant}/trace"
    assert client.get(path, headers=headers).status_code == 200
    snapshot = rpc(world.chain.rpc_url, "evm_snapshot", [])
    try:
        world.vote_through(
            "village",
            world.consortium.functions.proposeAuditor(world.addr("auditor"), False),
            ("township", "county"),
        )
        assert not world.consortium.functions.isAuditor(world.addr("auditor")).call()
        response = client.get(path, headers=headers)
        assert (response.status_code, response.json()["error"]) == (403, "not_auditor")
        assert client.get(path, headers=headers).status_code == 401  # the session was ended
    finally:
        assert rpc(world.chain.rpc_url, "evm_revert", [snapshot]) is True
