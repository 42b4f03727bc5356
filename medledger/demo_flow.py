"""The demo's referral story, told through the public interfaces only.

Hospitals act through their node's HTTP API (what a hospital information system calls),
the physician through the county gateway's HTTP API, the auditor through the audit trail
(``gateway.audit``) reading the chain. Sample records are synthetic; the DICOM study is
pydicom's bundled test file (nothing is downloaded).
"""

from __future__ import annotations

import io
import json
import secrets
import time
import zipfile
from dataclasses import dataclass, field
from typing import Any

import httpx
import pydicom
from eth_account.messages import encode_defunct
from web3 import Web3

from contracts.deploy import Deployment, connect
from gateway.audit.trail import ChainAuditTrail
from medledger.demo_setup import DemoConsortium

PATIENT = {"system": "urn:demo:village-clinic:mrn", "value": "DEMO-0001"}
#: Bounded waits: anchoring and replication take a few blocks (~100 ms each).
WAIT_S = 60.0


class StepFailed(Exception):
    """A demo step did not do what it shows; the message says what happened instead."""


def sample_fhir() -> list[bytes]:
    """Two observations and a prescription of one synthetic patient."""
    subject = {"reference": "Patient/demo", "identifier": PATIENT}
    obs = [
        {"resourceType": "Observation", "status": "final", "subject": subject,
         "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
         "valueQuantity": {"value": value, "unit": unit}}
        for code, value, unit in (("718-7", 9.1, "g/dL"), ("8480-6", 162, "mm[Hg]"))
    ]  # fmt: skip
    rx = {"resourceType": "MedicationRequest", "status": "active", "intent": "order",
          "subject": subject,
          "medicationCodeableConcept": {"text": "amlodipine 5 mg tablet"},
          "dosageInstruction": [{"text": "one tablet daily"}]}  # fmt: skip
    return [json.dumps(r).encode() for r in [*obs, rx]]


def sample_study_zip() -> bytes:
    """Pydicom's bundled CT test instance, zipped as a one-instance study."""
    from pydicom.data import get_testdata_file

    path = get_testdata_file("CT_small.dcm")
    if path is None:
        raise StepFailed("pydicom's test file CT_small.dcm is not installed")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.write(str(path), "CT_small.dcm")
    return buf.getvalue()


@dataclass
class Story:
    """What the steps hand each other."""

    demo: DemoConsortium
    case_id: str = field(default_factory=lambda: "0x" + secrets.token_hex(32))
    record_ids: list[str] = field(default_factory=list)
    study_record: str = ""
    referral_id: int = 0
    grant_id: int = 0
    token: str = ""
    session: str = ""
    #: Record ids as the gateway names them (read before the revocation).
    read_ids: list[str] = field(default_factory=list)

    def node(self, tier: str, method: str, path: str, **kw: Any) -> Any:
        h = self.demo.hospital(tier)
        headers = {"Authorization": f"Bearer {self.demo.node_token(tier)}"}
        resp = httpx.request(method, h.node_url.rstrip("/") + path, headers=headers,
                             timeout=120, **kw)  # fmt: skip
        if resp.status_code >= 300:
            raise StepFailed(f"{h.slug} node {method} {path}: {resp.status_code} {resp.text[:300]}")
        return resp.json()

    def gateway(self, tier: str, method: str, path: str, **kw: Any) -> httpx.Response:
        h = self.demo.hospital(tier)
        headers = {"Authorization": f"Bearer {self.session}"} if self.session else {}
        return httpx.request(method, h.gateway_url.rstrip("/") + path, headers=headers,
                             timeout=120, **kw)  # fmt: skip


def ingest(story: Story) -> str:
    for raw in sample_fhir():
        out = story.node("village", "POST", "/records/fhir", content=raw)
        story.record_ids.append(out["record_id"])
    out = story.node("village", "POST", "/records/dicom", content=sample_study_zip())
    story.study_record = out["record_id"]
    story.record_ids.append(out["record_id"])
    _wait_anchored(story)
    return f"{len(story.record_ids)} records anchored (2 observations, 1 prescription, 1 CT study)"


def _wait_anchored(story: Story) -> None:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        states = [story.node("village", "GET", f"/records/{r}")["state"] for r in story.record_ids]
        if all(s == "anchored" for s in states):
            return
        time.sleep(0.3)
    raise StepFailed(f"records not anchored within {WAIT_S:.0f} s: {states}")


def refer(story: Story) -> str:
    story.node("village", "POST", f"/cases/{story.case_id}/records",
               json={"record_ids": story.record_ids})  # fmt: skip
    county = story.demo.hospital("county").signing_address
    out = story.node("village", "POST", "/referrals", json={
        "case_id": story.case_id, "to": county, "expires_at": int(time.time()) + 7 * 86400,
        "reason_code": 0})  # fmt: skip
    story.referral_id = int(out["referral_id"])
    return f"referral {story.referral_id} of case {story.case_id[:10]}… to the county hospital"


def accept(story: Story) -> str:
    out = story.node("county", "POST", f"/referrals/{story.referral_id}/accept")
    return f"referral {story.referral_id}: {out['status']}"


def grant(story: Story) -> str:
    county = story.demo.hospital("county").signing_address
    out = story.node("village", "POST", "/grants", json={
        "case_id": story.case_id, "to": county, "expires_at": int(time.time()) + 86400,
        "max_uses": 5, "referral_id": story.referral_id, "physician": None})  # fmt: skip
    story.grant_id, story.token = int(out["grant_id"]), str(out["token"])
    _wait_replicated(story)
    return f"grant {story.grant_id} ({out['records']} records) replicated to the county node"


def _wait_replicated(story: Story) -> None:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        story.node("county", "POST", "/follower/poll")
        rows = story.node("county", "GET", "/grants")
        mine = [r for r in rows if r["grant_id"] == story.grant_id and r["direction"] == "received"]
        if mine and mine[0]["package_cid"] and mine[0]["state"] == "replicated":
            return
        time.sleep(0.3)
    raise StepFailed(f"grant not replicated to the county node within {WAIT_S:.0f} s")


def sign_in(story: Story) -> str:
    physician = story.demo.physicians["county"]
    resp = story.gateway("county", "POST", "/auth/challenge", json={"address": physician.address})
    if resp.status_code != 200:
        raise StepFailed(f"challenge: {resp.status_code} {resp.text[:300]}")
    challenge = resp.json()
    signed = physician.sign_message(encode_defunct(text=challenge["message"]))
    resp = story.gateway("county", "POST", "/auth/session", json={
        "address": physician.address, "nonce": challenge["nonce"],
        "signature": "0x" + bytes(signed.signature).hex()})  # fmt: skip
    if resp.status_code != 200:
        raise StepFailed(f"session: {resp.status_code} {resp.text[:300]}")
    story.session = resp.json()["token"]
    return f"physician {physician.address[:10]}… signed in at the county gateway"


def redeem(story: Story) -> str:
    resp = story.gateway("county", "POST", "/grants/redeem", json={"token": story.token})
    if resp.status_code != 200:
        raise StepFailed(f"redeem: {resp.status_code} {resp.text[:300]}")
    out = resp.json()
    return f"redeemed on chain in block {out['block']} (tx {out['tx_hash'][:12]}…)"


def read_records(story: Story) -> str:
    resp = story.gateway("county", "GET", f"/cases/{story.case_id}/records")
    if resp.status_code != 200:
        raise StepFailed(f"list records: {resp.status_code} {resp.text[:300]}")
    listed = resp.json()
    kinds = []
    for row in listed:
        body = story.gateway("county", "GET", f"/records/{row['record']}")
        if body.status_code != 200:
            raise StepFailed(f"record: {body.status_code} {body.text[:300]}")
        kinds.append(json.loads(body.content)["resourceType"])
        story.read_ids.append(row["record"])
    if len(kinds) != 3:
        raise StepFailed(f"expected the 3 FHIR records, the gateway served {kinds}")
    return "read (content hash re-checked): " + ", ".join(kinds)


def tertiary_refused(story: Story) -> str:
    tertiary = story.demo.hospital("tertiary").signing_address
    try:
        story.node("village", "POST", "/grants", json={
            "case_id": story.case_id, "to": tertiary, "expires_at": int(time.time()) + 3600,
            "max_uses": 1, "referral_id": None, "physician": None})  # fmt: skip
    except StepFailed as refused:
        return f"refused: {refused}"[:400]
    raise StepFailed("the tertiary hospital was granted access without a referral")


def audit(story: Story) -> str:
    m = story.demo.manifest
    c = Web3.to_checksum_address
    a = m.contracts
    dep = Deployment(consortium=c(a["consortium"]), anchors=c(a["anchors"]),
                     referrals=c(a["referrals"]), grants=c(a["grants"]))  # fmt: skip
    trail = ChainAuditTrail(connect(m.hospitals[0].rpc_url), dep)
    trace = trail.trace_case(case=bytes.fromhex(story.case_id[2:]))
    names = sorted({e.kind for e in trace.events})
    needed = {"ReferralInitiated", "ReferralAccepted", "GrantIssued", "AccessRedeemed",
              "GrantRevoked"}  # fmt: skip
    missing = needed - {str(n) for n in names}
    if missing:
        raise StepFailed(f"the case's trace lacks {sorted(missing)}; it has {names}")
    return f"{len(trace.events)} chain events: " + ", ".join(str(n) for n in names)


def read_study(story: Story) -> str:
    """QIDO-RS search, then WADO-RS retrieve, with dicomweb-client (a DICOMweb viewer's view)."""
    from dicomweb_client.api import DICOMwebClient
    from pydicom.data import get_testdata_file

    h = story.demo.hospital("county")
    client = DICOMwebClient(url=h.gateway_url.rstrip("/") + "/dicomweb",
                            headers={"Authorization": f"Bearer {story.session}"})  # fmt: skip
    found = client.search_for_instances()
    if len(found) != 1:
        raise StepFailed(f"QIDO-RS found {len(found)} instances, expected the 1 CT instance")
    study, series, sop = (str(found[0][tag]["Value"][0]) for tag in ("0020000D", "0020000E",
                                                                       "00080018"))  # fmt: skip
    instance = client.retrieve_instance(study, series, sop)
    original = pydicom.dcmread(str(get_testdata_file("CT_small.dcm")))
    if instance.PixelData != original.PixelData:
        raise StepFailed("the retrieved CT instance's pixels differ from the ingested study")
    size = f"{instance.Rows}x{instance.Columns}"
    return f"QIDO-RS found the CT instance; WADO-RS returned it ({size}, pixels identical)"


def revoke(story: Story) -> str:
    """The grantor revokes; the chain's grant state stops the very next read."""
    story.node("village", "POST", f"/grants/{story.grant_id}/revoke")
    listed = story.gateway("county", "GET", f"/cases/{story.case_id}/records")
    if listed.status_code != 200 or listed.json() != []:
        got = f"{listed.status_code} {listed.text[:200]}"
        raise StepFailed(f"after revocation the gateway still listed: {got}")
    record = story.gateway("county", "GET", f"/records/{story.read_ids[0]}")
    if record.status_code != 404:
        raise StepFailed(f"after revocation a record read answered {record.status_code}")
    return "revoked on chain; the county gateway lists nothing and refuses the record (404)"
