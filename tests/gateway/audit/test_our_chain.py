"""The same story on our own chain (``medledger ledger run``, one validator, commit seals in
extraData): the traces, the FHIR export and the CLI read it exactly as on anvil."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gateway.audit.fhir_export import to_bundle
from gateway.audit.model import CiphertextStatus
from gateway.audit.trail import ChainAuditTrail
from gateway.audit_cli import app
from tests.contracts.backends import medledger_chain
from tests.contracts.world import build_world
from tests.gateway.audit.apps import audit_client, sign_in
from tests.gateway.audit.story import Step, Story, play


@pytest.fixture(scope="module")
def our_story(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Story]:
    try:
        ctx = medledger_chain()
        chain = ctx.__enter__()
    except RuntimeError as exc:
        pytest.fail(f"our chain could not start: {exc}", pytrace=False)
    try:
        yield play(build_world(chain), Path(tmp_path_factory.mktemp("blobs")))
    finally:
        ctx.__exit__(None, None, None)


def test_case_and_grant_traces_on_our_chain(our_story: Story) -> None:
    w3 = our_story.world.w3
    # Commit seals make extraData longer than 32 bytes; the middleware moves it aside.
    assert len(w3.eth.get_block("latest")["proofOfAuthorityData"]) > 32
    trail = ChainAuditTrail(w3, our_story.world.deployment, blobs=our_story.blobs)
    trace = trail.trace_case(case=our_story.case, check_ciphertext=True)
    assert [Step(e.kind, e.tx, e.block, e.actor) for e in trace.events] == our_story.steps
    assert all(c.status is CiphertextStatus.OK for c in trace.ciphertext or [])
    assert len(to_bundle(trace)["entry"]) == len(our_story.steps)
    grant = trail.trace_grant(grant=our_story.grant)
    assert [e.kind for e in grant.events] == [
        "ReferralInitiated", "ReferralAccepted", "GrantIssued", "AccessRedeemed",
        "AccessRedeemed", "GrantRevoked",
    ]  # fmt: skip
    referrals = trail.trace_case(case=our_story.referral_case)
    assert [Step(e.kind, e.tx, e.block, e.actor) for e in referrals.events] == (
        our_story.referral_steps
    )
    assert trail.is_auditor(our_story.world.addr("auditor"))
    assert not trail.is_auditor(our_story.world.addr("outsider"))


def test_cli_json_on_our_chain(our_story: Story, tmp_path: Path) -> None:
    contracts = tmp_path / "contracts.json"
    contracts.write_text(json.dumps(our_story.world.deployment.as_dict()))
    result = CliRunner().invoke(
        app,
        ["trace", "record", "0x" + our_story.record_v2.hex(), "--json",
         "--rpc", our_story.world.chain.rpc_url, "--contracts", str(contracts)],
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    body = json.loads(result.stdout)
    assert body["versions"] == ["0x" + our_story.record_v1.hex(), "0x" + our_story.record_v2.hex()]
    assert [e["kind"] for e in body["events"]][:2] == ["RecordAnchored", "RecordAnchored"]


def test_auditor_sign_in_checked_on_our_chain(our_story: Story) -> None:
    world = our_story.world
    trail = ChainAuditTrail(world.w3, world.deployment)
    with audit_client(trail, world.addr("county")) as client:
        refused = sign_in(client, world.acct["outsider"])
        assert (refused.status_code, refused.json()["error"]) == (403, "not_auditor")
        signed = sign_in(client, world.acct["auditor"])
        assert signed.status_code == 200
        headers = {"Authorization": f"Bearer {signed.json()['token']}"}
        bundle = client.get(f"/audit/grants/{our_story.break_glass}/fhir", headers=headers)
        assert bundle.status_code == 200
        assert [e["resource"]["subtype"][0]["code"] for e in bundle.json()["entry"]] == [
            "BreakGlassAccess", "AccessRedeemed", "BreakGlassReviewed",
        ]  # fmt: skip
