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
import os
import time
from collections.abc import Iterator
from hashlib import sha256
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils.crypto import keccak

from contracts.deploy import connect, contract_at
from contracts.exceptions import TransactionFailed
from contracts.tx import send
from gateway.audit.events import EventReader
from gateway.audit.tracer import Tracer
from gateway.wiring.chain_view import Web3ChainView
from keys.delivery import GrantDelivery, sign_delivery
from keys.typed_data import redemption_signable
from node.cases.breakglass import WHOLE_CASE
from node.cases.follower import Follower
from node.cases.ids import grant_id_bytes32
from node.cases.read import GrantReader
from tests.devchain import CHAIN_ID
from tests.integration.cases_world import World, anchor_record, consortium, fhir_observation
from tests.integration.gateway_flow import client_for

pytestmark = pytest.mark.timeout(300)

DOCTOR = Account.from_key(keccak(text="break-glass county physician"))
REASON = 42  # a reason code: "emergency, patient unconscious"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with consortium(tmp_path_factory.mktemp("bg"), extra_senders=(DOCTOR.address,)) as w:
        county = w["county"]
        c = contract_at(connect(w.rpc_url), "Consortium", w.deployment.consortium)
        send(connect(w.rpc_url), county.signing.account,
             c.functions.registerStaff(DOCTOR.address, 1, keccak(text="licence")))  # fmt: skip
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
    # The same follower pass again (a restart) re-delivers nothing new.
    delivered_at = row["delivered_at"]
    _follow(world)
    again = world["county"].svc.store.grant_row(grant_id)
    assert again is not None and again["delivered_at"] == delivered_at
    # Pending review at the owner, then reviewed on chain through its API.
    pending = world["village"].api("GET", "/break-glass?pending_review=true").json()
    assert grant_id in [r["grant_id"] for r in pending]
    note = {"justified": True, "note": "cardiac arrest at triage"}
    resp = world["village"].api("POST", f"/break-glass/{grant_id}/review", json=note)
    assert resp.status_code == 200, resp.text
    reviewed, justified, reviewer = _grants(world).functions.getReview(grant_id).call()[0:3]
    assert (reviewed, justified, reviewer) == (True, True, world["village"].address)
    again_review = world["village"].api("POST", f"/break-glass/{grant_id}/review",
                                        json={"justified": False})  # fmt: skip
    assert again_review.status_code >= 400 and "AlreadyReviewed" in again_review.text
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
    assert village.svc.store.grant_row(grant_id) is None  # no package was made
    assert world["county"].svc.store.grant_row(grant_id) is None  # nothing delivered
    _follow(world)  # the normal policy later does not release a denied opening
    assert _opening(world, grant_id)["decision"] == "denied"


def test_a_break_glass_delivery_is_checked_against_the_chain(world: World) -> None:
    """Token-less deliveries signed by another hospital, or for no break-glass grant, fail."""
    county, tertiary = world["county"], world["tertiary"]
    denied = [r["grant_id"] for r in world["village"].api("GET", "/break-glass").json()
              if r["decision"] == "denied"]  # fmt: skip
    assert denied, "the deny test leaves one opening with nothing released"
    cid = str(tertiary.svc.blobs.put([b"not a package"]))
    issued_at = int(time.time())
    forged = GrantDelivery(grant_id_bytes32(denied[0]), cid, bytes(32), issued_at)
    sig = sign_delivery(tertiary.signing, forged, chain_id=CHAIN_ID,
                        grants_contract=world.deployment.grants)  # fmt: skip
    body = {"break_glass_grant": denied[0], "package_cid": cid, "issued_at": issued_at,
            "signature": "0x" + sig.hex()}  # fmt: skip
    resp = county.api("POST", "/deliveries", json=body)
    assert resp.status_code == 403 and "grantor" in resp.text, resp.text
    normal = county.api("POST", "/deliveries", json={**body, "break_glass_grant": 10**9})
    assert normal.status_code == 403 and "not a break-glass grant" in normal.text, normal.text
    both = county.api("POST", "/deliveries", json={**body, "token": "x"})
    assert both.status_code == 403, both.text
    assert county.svc.store.grant_row(denied[0]) is None  # nothing was stored


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
