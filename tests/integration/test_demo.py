"""``medledger demo --exit --json`` as a real subprocess: every step of the story succeeds.

Runs the whole demo: four hospitals, each with its own BFT validator, node and gateway
process on loopback; the referral story through their HTTP APIs, redemption on chain, a
batched record's inclusion proof checked by ``medledger node verify``, the auditor's
sign-in and traces at a gateway. Nothing mocked.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from medledger.consortium.manifest import load_manifest

STEPS = (
    "write a 4-hospital consortium (consortium init)",
    "start 4 BFT validators, one per hospital",
    "deploy the contracts",
    "launch every hospital's node and gateway",
    "register operators and physicians",
    "members vote a regulator's key in as auditor",
    "nodes and gateways answer their healthchecks",
    "village clinic ingests FHIR records, a prescription, a CT study",
    "a batched record's inclusion proof verifies against the chain",
    "village clinic refers the case to the county hospital",
    "county hospital accepts the referral",
    "village clinic grants the county hospital access",
    "county physician signs in with a signed challenge",
    "county physician redeems the access token on chain",
    "county physician reads the records (decrypted, re-hashed)",
    "county physician reads the CT study over DICOMweb",
    "county gateway operator, holding no token, cannot spend a use",
    "county physician opens the 3-use grant twice more; a 4th opening is refused",
    "tertiary hospital is refused without a referral",
    "village clinic revokes the grant; reads stop at once",
    "auditor signs in with the registered auditor key",
    "auditor traces the case and the batched record at a gateway",
)


def test_the_demo_walks_the_referral_story_end_to_end_and_says_what_is_missing(
    tmp_path: Path,
) -> None:
    root = tmp_path / "consortium"
    result = subprocess.run(
        [sys.executable, "-m", "medledger", "demo", "--exit", "--json", "--dir", str(root)],
        capture_output=True, text=True, timeout=300,
        env={**os.environ, "NO_COLOR": "1"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads(result.stdout)
    failed = [s for s in summary["steps"] if not s["ok"]]
    assert failed == [], result.stderr[-3000:]
    assert summary["ok"] is True
    assert [s["name"] for s in summary["steps"]] == list(STEPS)
    details = {s["name"]: s["detail"] for s in summary["steps"]}

    # every hospital validates, and its node and gateway use its own validator's RPC
    manifest = load_manifest(root)
    assert all(h.validator for h in manifest.hospitals)
    assert details[STEPS[1]].count("http://127.0.0.1:") == 4
    for h in manifest.hospitals:
        assert f":{h.ports.rpc}/" in details[STEPS[1]]
        node_cfg = json.loads((root / h.directory / "node.json").read_text())
        assert node_cfg["rpc_url"] == f"http://127.0.0.1:{h.ports.rpc}"
        ledger_cfg = json.loads((root / h.directory / "ledger.json").read_text())
        assert len(ledger_cfg["p2p"]["peers"]) == 4
        # the demo's short loopback timeouts are in the config consortium init wrote
        assert ledger_cfg["p2p"]["timeouts"]["propose_ms"] < 1000

    assert "carried with 3 of 4" in details["members vote a regulator's key in as auditor"]
    inclusion = details["a batched record's inclusion proof verifies against the chain"]
    assert "`medledger node verify`" in inclusion and "verified, in block" in inclusion
    assert (
        "redeemed on chain in block"
        in details["county physician redeems the access token on chain"]
    )
    # Issue 14: the operator's redemption without the grantor's token reverts on chain.
    attack = details["county gateway operator, holding no token, cannot spend a use"]
    assert "reverted: TokenNotSignedByGrantor; uses still 1 of 3" in attack
    # Issue 15: one token, three physician-signed openings, the fourth refused.
    reopened = details[
        "county physician opens the 3-use grant twice more; a 4th opening is refused"
    ]
    assert (
        "openings 2..3 of one token" in reopened and "opening 4 refused: 410 exhausted" in reopened
    )
    assert "GranteeNotReferralTarget" in details["tertiary hospital is refused without a referral"]
    assert "(404)" in details["village clinic revokes the grant; reads stop at once"]
    assert (
        "MedicationRequest" in details["county physician reads the records (decrypted, re-hashed)"]
    )
    assert "pixels identical" in details["county physician reads the CT study over DICOMweb"]
    assert "physician's key was refused: 403" in details[STEPS[-2]]
    trace = details[STEPS[-1]]
    for event in ("ReferralInitiated", "GrantIssued", "AccessRedeemed", "GrantRevoked"):
        assert event in trace
    assert "proof matches the batch anchored in block" in trace
    tertiary = next(h for h in manifest.hospitals if h.tier == "tertiary")
    assert f"auditor page: {tertiary.gateway_url}/audit/cases/0x" in trace
    # the story leaves nothing out (what is not built would be listed here, not skipped)
    assert summary["not_implemented"] == []
    # every process was stopped: their logs end with a shutdown
    for h in manifest.hospitals:
        assert (
            "Finished server process" in (root / h.directory / "logs" / "gateway.log").read_text()
        )
        assert "node stopped cleanly" in (root / h.directory / "logs" / "node.log").read_text()
        assert "ledger closed cleanly" in (root / h.directory / "logs" / "ledger.log").read_text()
