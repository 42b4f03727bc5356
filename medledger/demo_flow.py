"""The demo's referral story, told through the public interfaces only.

Hospitals act through their node's HTTP API (what a hospital information system calls),
the physician through the county gateway's HTTP API, the auditor through a gateway's audit
API, an inclusion proof through ``medledger node verify``. Sample records are synthetic;
the DICOM study is pydicom's bundled test file (see ``medledger.demo_data``).
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import pydicom
from eth_account.messages import encode_defunct, encode_typed_data
from eth_account.signers.local import LocalAccount
from eth_utils.address import to_checksum_address

from contracts.client import ChainClient
from contracts.deploy import Deployment
from contracts.exceptions import TransactionFailed
from keys.typed_data import redemption_signable
from medledger.demo_data import ct_path, sample_fhir, sample_study_zip
from medledger.demo_setup import DemoConsortium

#: Bounded waits: anchoring and replication take a few blocks (~100 ms each).
WAIT_S = 60.0
#: The demo grant's openings: one token, each opening signed anew by the physician.
GRANT_USES = 3


class StepFailed(Exception):
    """A demo step did not do what it shows; the message says what happened instead."""


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
    #: A batch-anchored record's inclusion proof (JSON form), from the village node.
    proof: dict[str, Any] = field(default_factory=dict)
    auditor_session: str = ""

    def node(self, tier: str, method: str, path: str, **kw: Any) -> Any:
        h = self.demo.hospital(tier)
        headers = {"Authorization": f"Bearer {self.demo.node_token(tier)}"}
        resp = httpx.request(method, h.node_url.rstrip("/") + path, headers=headers,
                             timeout=120, **kw)  # fmt: skip
        if resp.status_code >= 300:
            raise StepFailed(f"{h.slug} node {method} {path}: {resp.status_code} {resp.text[:300]}")
        return resp.json()

    def gateway(
        self, tier: str, method: str, path: str, *, bearer: str | None = None, **kw: Any
    ) -> httpx.Response:
        """A request to ``tier``'s gateway, with the physician's session unless ``bearer``."""
        h = self.demo.hospital(tier)
        token = self.session if bearer is None else bearer
        headers = {"Authorization": f"Bearer {token}"} if token else {}
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


def record_id(raw: str) -> str:
    """``0x``-prefixed lowercase hex, the form the gateways' paths take."""
    return "0x" + raw.lower().removeprefix("0x")


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
        "max_uses": GRANT_USES, "referral_id": story.referral_id, "physician": None})  # fmt: skip
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


def _signed_session(story: Story, tier: str, prefix: str, account: LocalAccount) -> httpx.Response:
    """Ask ``tier``'s gateway for a challenge under ``prefix``, sign it, open a session."""
    resp = story.gateway(tier, "POST", f"{prefix}/auth/challenge", bearer="",
                         json={"address": account.address})  # fmt: skip
    if resp.status_code != 200:
        raise StepFailed(f"challenge: {resp.status_code} {resp.text[:300]}")
    challenge = resp.json()
    signed = account.sign_message(encode_defunct(text=challenge["message"]))
    return story.gateway(tier, "POST", f"{prefix}/auth/session", bearer="", json={
        "address": account.address, "nonce": challenge["nonce"],
        "signature": "0x" + bytes(signed.signature).hex()})  # fmt: skip


def sign_in(story: Story) -> str:
    physician = story.demo.physicians["county"]
    resp = _signed_session(story, "county", "", physician)
    if resp.status_code != 200:
        raise StepFailed(f"session: {resp.status_code} {resp.text[:300]}")
    story.session = resp.json()["token"]
    return f"physician {physician.address[:10]}… signed in at the county gateway"


def open_grant(story: Story, token: str | None = None) -> httpx.Response:
    """One opening of the grant at the county gateway, signed by the physician's own key.

    The gateway hands out the EIP-712 ``Redemption`` to sign (fresh nonce, deadline); the
    signature goes back with the token, and the contract checks both signatures. Returns
    the first refusal, or the redeem response.
    """
    token = story.token if token is None else token
    asked = story.gateway("county", "POST", "/grants/redemption-request", json={"token": token})
    if asked.status_code != 200:
        return asked
    request = asked.json()
    physician = story.demo.physicians["county"]
    signed = physician.sign_message(encode_typed_data(full_message=request["typed_data"]))
    return story.gateway("county", "POST", "/grants/redeem", json={
        "token": token, "nonce": request["nonce"], "deadline": request["deadline"],
        "signature": "0x" + bytes(signed.signature).hex()})  # fmt: skip


def redeem(story: Story) -> str:
    resp = open_grant(story)
    if resp.status_code != 200:
        raise StepFailed(f"redeem: {resp.status_code} {resp.text[:300]}")
    out = resp.json()
    return (
        f"redeemed on chain in block {out['block']} (tx {out['tx_hash'][:12]}…): the "
        "grantor's token and the physician's own signature, both verified by the contract"
    )


def _chain_as(story: Story, account: LocalAccount) -> ChainClient:
    c = {name: to_checksum_address(a) for name, a in story.demo.manifest.contracts.items()}
    suite = Deployment(consortium=c["consortium"], anchors=c["anchors"],
                       referrals=c["referrals"], grants=c["grants"])  # fmt: skip
    rpc_url = story.demo.hospital("county").rpc_url
    return ChainClient(rpc_url=rpc_url, addresses=suite, account=account)


def operator_without_token(story: Story) -> str:
    """The county gateway's operator (an active operator on chain) tries to spend a use.

    It holds no token: it mints one with its own key over the grant's real fields, and signs
    the physician's consent itself. The contract recovers the token's signer and refuses
    (before, ``redeem(grantId, physician, nonce)`` trusted the sender and spent the use).
    """
    operator = story.demo.operators["county"]
    chain = _chain_as(story, operator)
    g = before = chain.reads.grant(story.grant_id)
    redeemed = chain.contract("Grants").events.AccessRedeemed
    logs_before = len(redeemed.get_logs(from_block=0, argument_filters={"grantId": story.grant_id}))
    token = (story.grant_id.to_bytes(32, "big"), g.case_id, g.grantee, g.scope_root,
             g.expires_at, secrets.token_bytes(32))  # fmt: skip
    nonce, deadline = secrets.token_bytes(32), int(time.time()) + 300
    consent = operator.sign_message(redemption_signable(
        chain_id=chain.chain_id, grants_contract=chain.addresses.grants,
        grant_id=story.grant_id, token_nonce=token[5], nonce=nonce, deadline=deadline,
    )).signature  # fmt: skip
    forged = bytes(operator.sign_message(encode_defunct(text="no token")).signature)
    approval = (story.demo.physicians["county"].address, nonce, deadline, bytes(consent))
    fn = chain.contract("Grants").functions.redeem(story.grant_id, token, forged, approval)
    try:
        chain.send(fn)
    except TransactionFailed as refused:
        error = refused.error
    else:
        raise StepFailed("the operator spent a use of the grant without its token")
    after = chain.reads.grant(story.grant_id)
    logs = len(redeemed.get_logs(from_block=0, argument_filters={"grantId": story.grant_id}))
    if error != "TokenNotSignedByGrantor" or after.uses != before.uses or logs != logs_before:
        raise StepFailed(f"expected TokenNotSignedByGrantor and no use spent, got {error}")
    return (f"reverted: {error}; uses still {after.uses} of {after.max_uses}, "
            "no AccessRedeemed emitted")  # fmt: skip


def reopen(story: Story) -> str:
    """The grant's remaining openings, each with a fresh physician signature; then one more."""
    blocks = []
    for _ in range(GRANT_USES - 1):
        resp = open_grant(story)
        if resp.status_code != 200:
            raise StepFailed(f"reopen: {resp.status_code} {resp.text[:300]}")
        blocks.append(str(resp.json()["block"]))
    extra = open_grant(story)
    if extra.status_code != 410 or extra.json().get("error") != "exhausted":
        raise StepFailed(f"opening {GRANT_USES + 1} of a {GRANT_USES}-use grant: "
                         f"{extra.status_code} {extra.text[:300]}")  # fmt: skip
    return (
        f"openings 2..{GRANT_USES} of one token recorded in blocks {', '.join(blocks)}; "
        f"opening {GRANT_USES + 1} refused: 410 exhausted"
    )


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


def read_study(story: Story) -> str:
    """QIDO-RS search, then WADO-RS retrieve, with dicomweb-client (a DICOMweb viewer's view)."""
    from dicomweb_client.api import DICOMwebClient

    h = story.demo.hospital("county")
    client = DICOMwebClient(url=h.gateway_url.rstrip("/") + "/dicomweb",
                            headers={"Authorization": f"Bearer {story.session}"})  # fmt: skip
    found = client.search_for_instances()
    if len(found) != 1:
        raise StepFailed(f"QIDO-RS found {len(found)} instances, expected the 1 CT instance")
    study, series, sop = (str(found[0][tag]["Value"][0]) for tag in ("0020000D", "0020000E",
                                                                       "00080018"))  # fmt: skip
    instance = client.retrieve_instance(study, series, sop)
    original = pydicom.dcmread(ct_path())
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


def batch_inclusion(story: Story) -> str:
    """A batch-anchored record's proof, checked by ``medledger node verify`` elsewhere.

    The proof comes from the village node's API; the check runs against the *tertiary*
    hospital's validator, a replica the village clinic does not control.
    """
    batches: dict[str, list[str]] = {}
    for rid in story.record_ids:
        anchor = story.node("village", "GET", f"/records/{rid}")["anchor"]
        batches.setdefault(anchor["tx_hash"], []).append(rid)
    batch = max(batches.values(), key=len)
    story.proof = story.node("village", "GET", f"/records/{batch[0]}/proof")
    proof_file = story.demo.directory / "inclusion-proof.json"
    proof_file.write_text(json.dumps(story.proof))
    tertiary = story.demo.hospital("tertiary")
    argv = ["node", "verify", str(proof_file), "--rpc", tertiary.rpc_url,
            "--anchors", story.demo.manifest.contracts["anchors"], "--json"]  # fmt: skip
    done = subprocess.run([sys.executable, "-m", "medledger", *argv], capture_output=True,
                          text=True, timeout=WAIT_S, check=False)  # fmt: skip
    if done.returncode != 0:
        raise StepFailed(f"medledger node verify: exit {done.returncode} {done.stdout[-300:]}")
    out = json.loads(done.stdout)
    if out.get("verified") is not True:
        raise StepFailed(f"medledger node verify did not verify: {out}")
    steps, block = len(story.proof["batch_path"]), out["block_number"]
    return (f"record {record_id(batch[0])[:12]}… is one of a batch of {len(batch)} records "
            f"(Merkle root 0x{out['root'][:10]}…, {steps}-step proof); `medledger node verify` "
            f"against the tertiary hospital's validator: verified, in block {block}")  # fmt: skip


#: Any member's gateway serves the audit API; the tertiary one has no part in the case.
AUDIT_TIER = "tertiary"


def auditor_sign_in(story: Story) -> str:
    """Proof of possession of the registered auditor key at a gateway's audit API.

    A physician's key, signing the same kind of challenge, is refused: the auditor role is
    read from ``Consortium.isAuditor`` on chain.
    """
    refused = _signed_session(story, AUDIT_TIER, "/audit", story.demo.physicians["county"])
    if refused.status_code != 403:
        raise StepFailed(f"a physician's key got {refused.status_code} from the audit sign-in")
    resp = _signed_session(story, AUDIT_TIER, "/audit", story.demo.auditor)
    if resp.status_code != 200:
        raise StepFailed(f"auditor session: {resp.status_code} {resp.text[:300]}")
    story.auditor_session = resp.json()["token"]
    return (f"auditor {story.demo.auditor.address[:10]}… signed in at the tertiary gateway "
            f"(a physician's key was refused: {refused.status_code})")  # fmt: skip


def auditor_page(story: Story) -> str:
    """The auditor's web page of the case (the case's timeline)."""
    return f"{story.demo.hospital(AUDIT_TIER).gateway_url.rstrip('/')}/audit/cases/{story.case_id}"


def audit(story: Story) -> str:
    """The auditor traces the case, and the batched record with its inclusion proof."""
    bearer = story.auditor_session
    resp = story.gateway(AUDIT_TIER, "GET", f"/audit/cases/{story.case_id}/trace", bearer=bearer)
    if resp.status_code != 200:
        raise StepFailed(f"case trace: {resp.status_code} {resp.text[:300]}")
    events = resp.json()["events"]
    kinds = sorted({e["kind"] for e in events})
    needed = {"ReferralInitiated", "ReferralAccepted", "GrantIssued", "AccessRedeemed",
              "GrantRevoked"}  # fmt: skip
    if needed - set(kinds):
        raise StepFailed(f"the case's trace lacks {sorted(needed - set(kinds))}; it has {kinds}")
    record = record_id(story.proof["record_id"])
    resp = story.gateway(AUDIT_TIER, "POST", f"/audit/records/{record}/trace", bearer=bearer,
                         json={"proof": story.proof})  # fmt: skip
    if resp.status_code != 200:
        raise StepFailed(f"record trace: {resp.status_code} {resp.text[:300]}")
    check = resp.json()["proof"]
    if not check or check["matches"] is not True:
        raise StepFailed(f"the auditor's check of the inclusion proof failed: {check}")
    return (f"case trace: {len(events)} chain events ({', '.join(kinds)}); batched "
            f"record {record[:12]}…: proof matches the batch anchored in block "
            f"{check['batch_block']}; auditor page: {auditor_page(story)}")  # fmt: skip
