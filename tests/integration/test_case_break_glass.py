"""Break-glass with the owner's operator absent: the owner node releases the keys by itself.

Real chain process with the contract suite, three hospitals each with its keystore, blob
store and HTTP node API on loopback (``cases_world``). At the village clinic (the owner)
nobody acts after the case is attached: only its follower runs (``poll_once``, what the
``node run`` background thread does). A county physician calls ``Grants.breakGlass``
with their own key (the contract takes the physician as sender), the village's follower
applies its policy and delivers a signed token-less ``GrantDelivery``, the county's
follower replicates, and the production ``GrantReader`` decrypts and re-hashes the records
after the physician's own ``redeemBreakGlass`` is final. No mocks.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from hashlib import sha256
from typing import Any

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount
from eth_utils.crypto import keccak
from fastapi.testclient import TestClient

from contracts.deploy import connect, contract_at
from contracts.exceptions import TransactionFailed
from contracts.tx import send
from gateway.app import create_app
from gateway.audit.events import EventReader
from gateway.audit.tracer import Tracer
from gateway.container import Services
from gateway.memory import MemorySessionStore
from gateway.wiring.breakglass_chain import Web3BreakGlass
from gateway.wiring.case_store import NodeCaseStore
from gateway.wiring.chain_view import Web3ChainView
from gateway.wiring.inbox import NodeInbox
from keys.delivery import GrantDelivery, sign_delivery
from keys.typed_data import redemption_signable
from node.cases.breakglass import WHOLE_CASE
from node.cases.follower import Follower
from node.cases.ids import grant_id_bytes32
from node.cases.read import GrantReader
from node.cli.cases import TOKEN_ENV
from tests.devchain import CHAIN_ID
from tests.gateway.conftest import make_settings, sign
from tests.gateway.fakes import DictAuditSource
from tests.integration.cases_world import (
    API_TOKEN,
    World,
    anchor_record,
    consortium,
    fhir_observation,
)
from tests.integration.gateway_flow import (
    OPERATOR,
    client_for,
    gateway_client_for,
    register_staff,
)

pytestmark = pytest.mark.timeout(300)

DOCTOR = Account.from_key(keccak(text="break-glass county physician"))
#: Signs in at the county's gateway (the genesis permits only the senders it names).
GW_DOCTOR = Account.from_key(keccak(text="break-glass county gateway physician"))
REASON = 42  # a reason code: "emergency, patient unconscious"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    senders = (DOCTOR.address, GW_DOCTOR.address, OPERATOR.address)
    with consortium(tmp_path_factory.mktemp("bg"), extra_senders=senders) as w:
        county = w["county"]
        c = contract_at(connect(w.rpc_url), "Consortium", w.deployment.consortium)
        for doctor in (DOCTOR, GW_DOCTOR):
            call = c.functions.registerStaff(doctor.address, 1, keccak(text=doctor.address))
            send(connect(w.rpc_url), county.signing.account, call)
        yield w


def _case(world: World, n: int = 2) -> tuple[bytes, dict[bytes, bytes]]:
    """A village case of ``n`` anchored records; returns it and record id → content hash."""
    village = world["village"]
    case = os.urandom(32)
    hashes = {}
    for i in range(n):
        raw = fhir_observation(9.0 + i + int.from_bytes(os.urandom(4), "big") / 2**32)
        receipt = village.ingest_fhir(raw)
        anchor_record(village, receipt, case, world.deployment, world.rpc_url)
        hashes[bytes(receipt.record_id)] = bytes(receipt.content_hash)
    resp = village.api("POST", f"/cases/0x{case.hex()}/records",
                       json={"record_ids": [r.hex() for r in hashes]})  # fmt: skip
    assert resp.status_code == 200, resp.text
    return case, hashes


def _grants(world: World) -> Any:
    return contract_at(connect(world.rpc_url), "Grants", world.deployment.grants)


def _break_glass(world: World, doctor: LocalAccount, case: bytes, duration: int = 900) -> int:
    call = _grants(world).functions.breakGlass(
        case, world["village"].address, WHOLE_CASE, REASON, duration, 2
    )
    receipt = send(connect(world.rpc_url), doctor, call)
    logs = _grants(world).events.BreakGlassAccess().process_receipt(receipt)
    return int(logs[0]["args"]["grantId"])


def _redeem(world: World, doctor: LocalAccount, grant_id: int) -> None:
    nonce, deadline = os.urandom(32), int(time.time()) + 600
    signable = redemption_signable(chain_id=CHAIN_ID, grants_contract=world.deployment.grants,
                                   grant_id=grant_id, token_nonce=bytes(32), nonce=nonce,
                                   deadline=deadline)  # fmt: skip
    signature = bytes(doctor.sign_message(signable).signature)
    call = _grants(world).functions.redeemBreakGlass(
        grant_id, (doctor.address, nonce, deadline, signature)
    )
    send(connect(world.rpc_url), doctor, call)


def _follow(world: World) -> None:
    """One follower pass at the owner, then one at the opener: nobody else acts."""
    assert world["village"].follower is not None and world["county"].follower is not None
    world["village"].follower.poll_once()
    world["county"].follower.poll_once()


def _reader(world: World) -> GrantReader:
    county = world["county"]
    return GrantReader(county.svc, batches=Web3ChainView(client_for(world, county.signing.account)))


def _cli(world: World, *args: str) -> Any:
    """``medledger node break-glass ARGS --json`` against the owner's node API."""
    done = subprocess.run(
        [sys.executable, "-m", "medledger", "node", "break-glass", *args,
         "--api", world["village"].url, "--json"],
        capture_output=True, text=True, env={**os.environ, TOKEN_ENV: API_TOKEN}, timeout=120,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _opening(world: World, grant_id: int) -> dict[str, Any]:
    resp = world["village"].api("GET", "/break-glass")
    assert resp.status_code == 200, resp.text
    return next(r for r in resp.json() if r["grant_id"] == grant_id)


def test_owner_node_releases_keys_by_itself_and_the_review_is_on_chain(world: World) -> None:
    case, hashes = _case(world)
    grant_id = _break_glass(world, DOCTOR, case)
    _follow(world)
    opening = _opening(world, grant_id)
    assert opening["decision"] == "released" and opening["policy"] == "allow-and-notify"
    assert opening["reviewed"] is False and opening["reason_code"] == REASON
    row = world["county"].svc.store.grant_row(grant_id)
    assert row is not None and row["state"] == "replicated" and row["token"] is None
    _redeem(world, DOCTOR, grant_id)
    reader = _reader(world)
    granted = reader.received(grant_id)
    assert {bytes(r.record_id) for r in granted.package.records} == set(hashes)
    for record in granted.package.records:  # anchor-checked, decrypted, re-hashed
        body = reader.document(granted, record)
        assert sha256(body).digest() == hashes[bytes(record.record_id)]
        assert b"Observation" in body
    # A crash after the send but before the owner noted it: a restarted follower (a new
    # one on the same store) re-sends the same signed delivery, a no-op at the receiver,
    # and makes no second package.
    village = world["village"]
    owned = village.svc.store.grant_row(grant_id)
    assert owned is not None and owned["state"] == "delivered"
    with village.svc.store.transaction() as db:
        db.execute("UPDATE grants SET state = 'issued' WHERE grant_id = ?", (grant_id,))
    Follower(village.svc).poll_once()
    resent = village.svc.store.grant_row(grant_id)
    assert resent is not None and resent["state"] == "delivered"
    assert (resent["package_cid"], resent["issued_at"]) == (
        owned["package_cid"],
        owned["issued_at"],
    )
    again = world["county"].svc.store.grant_row(grant_id)
    assert again is not None and again["delivered_at"] == row["delivered_at"]
    assert again["package_cid"] == row["package_cid"]
    # Pending review at the owner, then reviewed on chain with the shipped CLI.
    pending = _cli(world, "list", "--pending")
    assert grant_id in [r["grant_id"] for r in pending]
    _cli(world, "review", str(grant_id), "--justified", "--note", "cardiac arrest at triage")
    reviewed, justified, reviewer = _grants(world).functions.getReview(grant_id).call()[0:3]
    assert (reviewed, justified, reviewer) == (True, True, world["village"].address)
    again_review = world["village"].api("POST", f"/break-glass/{grant_id}/review",
                                        json={"justified": False})  # fmt: skip
    assert again_review.status_code == 409 and "AlreadyReviewed" in again_review.text
    stranger = world["village"].api("POST", "/break-glass/999999/review", json={"justified": True})
    assert stranger.status_code == 404, stranger.text
    trace = Tracer(EventReader(connect(world.rpc_url), world.deployment)).trace_grant(grant_id)
    summaries = [e.summary for e in trace.events if e.kind == "BreakGlassAccess"]
    assert summaries and "reviewed (justified)" in summaries[0]
    _follow(world)
    assert _opening(world, grant_id)["reviewed"] is True


def test_deny_policy_releases_nothing_and_the_refusal_is_visible(world: World) -> None:
    village = world["village"]
    case, _ = _case(world, n=1)
    saved = village.services, village.follower
    assert saved[0] is not None
    village.services = dataclasses.replace(saved[0], break_glass_policy="deny")
    village.follower = Follower(village.services)
    try:
        grant_id = _break_glass(world, DOCTOR, case)
        _follow(world)
    finally:
        village.services, village.follower = saved
    opening = _opening(world, grant_id)
    assert opening["decision"] == "denied" and "deny" in opening["refusal"]
    assert opening["revoked"] is True  # and revoked on chain by the village node itself
    assert village.svc.chain.grant(grant_id).revoked is True
    assert village.svc.store.grant_row(grant_id) is None  # no package was made
    assert world["county"].svc.store.grant_row(grant_id) is None  # nothing delivered
    _follow(world)  # the normal policy later does not release a denied opening
    assert _opening(world, grant_id)["decision"] == "denied"


@pytest.fixture
def followers(world: World) -> Iterator[threading.Lock]:
    """Both nodes' followers polling in the background, as ``node run`` does.

    Each pass reads the hospital's current follower and holds the yielded lock, so a test
    can swap the owner's policy between passes.
    """
    stop, lock = threading.Event(), threading.Lock()

    def run() -> None:
        while not stop.is_set():
            with lock:
                for name in ("village", "county"):
                    follower = world[name].follower
                    assert follower is not None
                    follower.poll_once()
            stop.wait(0.3)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield lock
    finally:
        stop.set()
        thread.join(timeout=30)


def _gateway(world: World) -> tuple[TestClient, LocalAccount, LocalAccount]:
    """The county's real gateway app with break-glass wired, and a fresh physician."""
    county = world["county"]
    spare, operator = register_staff(world, county)  # a doctor the genesis does not permit
    chain = Web3ChainView(gateway_client_for(world, operator))
    relay = Web3BreakGlass(gateway_client_for(world, operator))
    services = Services(chain=chain, cases=NodeCaseStore(county.svc, chain=chain),
                        sessions=MemorySessionStore(), audit=DictAuditSource(),
                        inbox=NodeInbox(county.svc), break_glass=relay)  # fmt: skip
    settings = make_settings(hospital=county.address, chain_id=CHAIN_ID,
                             grants_contract=world.deployment.grants)  # fmt: skip
    return TestClient(create_app(services=services, settings=settings)), GW_DOCTOR, spare


def _sign_in(client: TestClient, physician: LocalAccount) -> dict[str, str]:
    body = client.post("/auth/challenge", json={"address": physician.address}).json()
    session = client.post("/auth/session", json={
        "address": physician.address, "nonce": body["nonce"],
        "signature": sign(physician, body["message"])})  # fmt: skip
    assert session.status_code == 200, session.text
    return {"Authorization": f"Bearer {session.json()['token']}"}


def _ask(world: World, client: TestClient, headers: dict[str, str], case: bytes,
         grantor: str | None = None) -> Any:  # fmt: skip
    return client.post("/break-glass", headers=headers, json={
        "case": "0x" + case.hex(), "grantor": grantor or world["village"].address,
        "reason_code": REASON, "duration": 900})  # fmt: skip


def _open(client: TestClient, headers: dict[str, str], physician: LocalAccount,
          tx: dict[str, Any]) -> Any:  # fmt: skip
    raw = bytes(physician.sign_transaction(tx).raw_transaction)
    return client.post("/break-glass/open", headers=headers,
                       json={"signed_transaction": "0x" + raw.hex()})  # fmt: skip


def test_gateway_break_glass_reads_a_case_its_owner_released_by_itself(
    world: World, followers: threading.Lock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Sign in, break the glass through the gateway, read; 403, 504 (deny) and 429 too."""
    client, physician, spare = _gateway(world)
    headers = _sign_in(client, physician)
    case, hashes = _case(world)
    spare_headers = _sign_in(client, spare)
    tx = _ask(world, client, spare_headers, case).json()["transaction"]
    refused = _open(client, spare_headers, spare, tx)  # the chain's permissioning says no
    assert refused.status_code == 403 and "does not let this physician" in refused.text
    forged = _open(client, headers, spare, tx)  # signed by someone else than the session's
    assert forged.status_code == 403 and "not signed by this physician" in forged.text
    upward = _ask(world, client, headers, case, grantor=world["tertiary"].address)
    assert upward.status_code == 403 and "NotUpwardAccess" in upward.text, upward.text
    asked = _ask(world, client, headers, case)
    assert asked.status_code == 200, asked.text
    opened = _open(client, headers, physician, asked.json()["transaction"])
    assert opened.status_code == 200, opened.text
    typed = opened.json()
    signature = physician.sign_message(encode_typed_data(full_message=typed["typed_data"]))
    redeemed = client.post("/break-glass/redeem", headers=headers, json={
        "grant": typed["grant"], "nonce": typed["nonce"], "deadline": typed["deadline"],
        "signature": "0x" + bytes(signature.signature).hex()})  # fmt: skip
    assert redeemed.status_code == 200, redeemed.text
    listed = client.get(f"/cases/0x{case.hex()}/records", headers=headers)
    assert listed.status_code == 200, listed.text
    deadline = time.monotonic() + 30
    served: dict[bytes, bytes] = {}
    while set(served) != set(hashes):  # the county's follower replicates within a pass
        assert time.monotonic() < deadline, f"records not served: {listed.text}"
        for rid in hashes:
            got = client.get(f"/records/0x{rid.hex()}", headers=headers)
            if got.status_code == 200:
                served[rid] = got.content
        time.sleep(0.2)
    assert {rid: sha256(body).digest() for rid, body in served.items()} == hashes
    # The owner denies: its node revokes the opening on chain, nothing is released, 409.
    village = world["village"]
    saved = village.services, village.follower
    assert saved[0] is not None
    with followers:
        village.services = dataclasses.replace(saved[0], break_glass_policy="deny")
        village.follower = Follower(village.services)
    try:
        denied = _open(client, headers, physician,
                       _ask(world, client, headers, case).json()["transaction"])  # fmt: skip
    finally:
        with followers:
            village.services, village.follower = saved
    assert denied.status_code == 409 and "refused" in denied.text, denied.text
    # The owner's node is down (its follower does not run): 504 after the bounded wait.
    monkeypatch.setattr("gateway.services.breakglass.RELEASE_WAIT_S", 2.0)
    with followers:
        down = _open(client, headers, physician,
                     _ask(world, client, headers, case).json()["transaction"])  # fmt: skip
    assert down.status_code == 504 and "released no keys" in down.text, down.text
    # The fourth opening in the day is a 429 before anything is signed.
    limited = _ask(world, client, headers, case)
    assert limited.status_code == 429 and "BreakGlassRateLimited" in limited.text, limited.text


def test_a_break_glass_delivery_is_checked_against_the_chain(world: World) -> None:
    """Token-less deliveries signed by another hospital, or for no break-glass grant, fail."""
    county, tertiary = world["county"], world["tertiary"]
    live = [r["grant_id"] for r in world["village"].api("GET", "/break-glass").json()
            if r["decision"] == "released"]  # fmt: skip
    assert live, "the first test leaves a live released opening"
    before = county.svc.store.grant_row(live[0])
    cid = str(tertiary.svc.blobs.put([b"not a package"]))
    issued_at = int(time.time())
    forged = GrantDelivery(grant_id_bytes32(live[0]), cid, bytes(32), issued_at)
    sig = sign_delivery(tertiary.signing, forged, chain_id=CHAIN_ID,
                        grants_contract=world.deployment.grants)  # fmt: skip
    body = {"break_glass_grant": live[0], "package_cid": cid, "issued_at": issued_at,
            "signature": "0x" + sig.hex()}  # fmt: skip
    resp = county.api("POST", "/deliveries", json=body)
    assert resp.status_code == 403 and "grantor" in resp.text, resp.text
    normal = county.api("POST", "/deliveries", json={**body, "break_glass_grant": 10**9})
    assert normal.status_code == 403 and "not a break-glass grant" in normal.text, normal.text
    both = county.api("POST", "/deliveries", json={**body, "token": "x"})
    assert both.status_code == 403, both.text
    assert county.svc.store.grant_row(live[0]) == before  # nothing changed


def test_fourth_break_glass_in_a_day_is_refused_on_chain(world: World) -> None:
    """Last in the module: it spends the physician's remaining openings of the day."""
    doctor = DOCTOR
    window = int(_grants(world).functions.breakGlassLimit().call())
    used = int(_grants(world).functions.breakGlassCount(doctor.address).call())
    case, _ = _case(world, n=1)
    for _ in range(max(window - used, 0)):
        _break_glass(world, doctor, case)
    with pytest.raises(TransactionFailed, match="BreakGlassRateLimited"):
        _break_glass(world, doctor, case)
