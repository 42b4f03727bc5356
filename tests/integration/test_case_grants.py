"""Referral → grant → follower replication → read with the grantor offline → revoke → resume.

Real chain process (``medledger ledger run``) with the contract suite deployed, three
hospitals (village clinic, county hospital, tertiary hospital) each with its own keystore,
blob store and HTTP node API on loopback. No mocks.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.wiring.chain_view import Web3ChainView
from keys.delivery import GrantDelivery
from keys.exceptions import UnwrapError
from keys.tokens import TokenIssuer
from node.cases import grants
from node.cases.crypto import dek_binding
from node.cases.follower import Follower
from node.cases.ids import grant_id_bytes32
from node.cases.read import GrantReader
from node.cases.replicate import BlockFetcher, fetch_bytes
from node.cases.sealed import open_package
from node.cases.store import CaseStore
from node.exceptions import BlobNotFound, ChainRefused, GrantPackageError
from tests.devchain import CHAIN_ID
from tests.integration.cases_world import (
    World,
    anchor_record,
    consortium,
    delete_blob_store,
    fhir_observation,
)
from tests.integration.gateway_flow import client_for

pytestmark = pytest.mark.timeout(300)


def _reader(world: World, name: str = "county") -> GrantReader:
    """The production reader of the hospital's received grants (the gateway's own)."""
    hospital = world[name]
    batches = Web3ChainView(client_for(world, hospital.signing.account))
    return GrantReader(hospital.svc, batches=batches)


def _read_all(world: World, grant_id: int) -> dict[bytes, bytes]:
    """Every record of a received grant, anchor-checked, decrypted and re-hashed."""
    reader = _reader(world)
    granted = reader.received(grant_id)
    return {r.record_id: reader.document(granted, r) for r in granted.package.records}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with consortium(tmp_path_factory.mktemp("cases")) as w:
        yield w


def _later(seconds: int = 3600) -> int:
    return int(time.time()) + seconds


def _new_case() -> str:
    return "0x" + os.urandom(32).hex()


def _refer(world: World, case: str, to: str = "county") -> int:
    resp = world["village"].api(
        "POST", "/referrals", json={"case_id": case, "to": world[to].address,
                                    "expires_at": _later(), "reason_code": 7},
    )  # fmt: skip
    assert resp.status_code == 200, resp.text
    assert resp.json()["status"] == "pending"
    return int(resp.json()["referral_id"])


def _attach(world: World, case: str, n: int) -> list[tuple[bytes, bytes]]:
    village = world["village"]
    originals = []
    for i in range(n):
        # Distinct per call (the same content for the same patient is one record).
        raw = fhir_observation(12.5 + i + int.from_bytes(os.urandom(4), "big") / 2**32)
        receipt = village.ingest_fhir(raw)
        anchor_record(village, receipt, bytes.fromhex(case[2:]), world.deployment, world.rpc_url)
        originals.append((receipt.record_id, receipt.content_hash))
    resp = village.api("POST", f"/cases/{case}/records",
                       json={"record_ids": [r.hex() for r, _ in originals]})  # fmt: skip
    assert resp.status_code == 200, resp.text
    assert resp.json()["added"] == n
    return originals


def test_operator_routes_refuse_a_missing_or_wrong_api_token(world: World) -> None:
    import httpx

    url = world["village"].url + "/referrals"
    assert httpx.get(url).status_code == 401
    assert httpx.get(url, headers={"Authorization": "Bearer wrong-token"}).status_code == 401


def test_contract_refuses_grants_without_an_active_referral_to_the_grantee(world: World) -> None:
    case = _new_case()
    _attach(world, case, 1)
    referral = _refer(world, case)
    body = {"case_id": case, "to": world["county"].address, "expires_at": _later(600),
            "max_uses": 3}  # fmt: skip
    pending = world["village"].api("POST", "/grants", json=body)
    assert pending.status_code == 409 and pending.json()["error"] == "ReferralNotActive"
    tertiary = world["village"].api("POST", "/grants",
                                    json={**body, "to": world["tertiary"].address})  # fmt: skip
    assert tertiary.status_code == 409 and tertiary.json()["error"] == "ReferralNotActive"
    assert world["county"].api("POST", f"/referrals/{referral}/accept").status_code == 200
    tertiary = world["village"].api("POST", "/grants",
                                    json={**body, "to": world["tertiary"].address})  # fmt: skip
    assert tertiary.json()["error"] == "GranteeNotReferralTarget"
    # the tertiary hospital itself cannot take a referral meant for the county
    with pytest.raises(ChainRefused) as refused:
        world["tertiary"].svc.chain.accept(referral)
    assert refused.value.error == "NotReferralTarget"


def test_referrals_go_upward_only_and_bad_input_is_refused_clearly(world: World) -> None:
    county = world["county"]
    down = county.api("POST", "/referrals", json={"case_id": _new_case(),
                      "to": world["village"].address, "expires_at": _later()})  # fmt: skip
    assert down.status_code == 409 and down.json()["error"] == "NotUpwardReferral"
    past = county.api("POST", "/referrals", json={"case_id": _new_case(),
                      "to": world["tertiary"].address, "expires_at": 1000})  # fmt: skip
    assert past.status_code == 422 and "future" in past.json()["detail"]
    bad = county.api("POST", "/referrals", json={"case_id": "0x1234",
                     "to": world["tertiary"].address, "expires_at": _later()})  # fmt: skip
    assert bad.status_code == 422
    unknown = county.api("POST", "/grants", json={"case_id": _new_case(),
                         "to": world["tertiary"].address, "expires_at": _later(),
                         "max_uses": 1})  # fmt: skip
    assert unknown.status_code == 404


def test_refer_decline_complete_and_refer_back_follow_the_contract(world: World) -> None:
    county, village = world["county"], world["village"]
    declined = _refer(world, _new_case())
    resp = county.api("POST", f"/referrals/{declined}/decline", json={"reason_code": 3})
    assert resp.json()["status"] == "declined"
    case = _new_case()
    ref = _refer(world, case)
    assert county.api("POST", f"/referrals/{ref}/refer-back",
                      json={"expires_at": _later()}).status_code == 409  # fmt: skip
    assert county.api("POST", f"/referrals/{ref}/accept").json()["status"] == "accepted"
    assert county.api("POST", f"/referrals/{ref}/complete").json()["status"] == "completed"
    back = county.api("POST", f"/referrals/{ref}/refer-back", json={"expires_at": _later()})
    assert back.status_code == 200, back.text
    assert back.json()["status"] == "pending" and back.json()["case_id"] == case
    village.follower.poll_once()  # type: ignore[union-attr]
    listed = {r["referral_id"]: r for r in village.api("GET", "/referrals").json()}
    assert listed[back.json()["referral_id"]]["target"] == village.address


def test_granted_dicom_study_replicates_every_instance(world: World, tmp_path: Path) -> None:
    from keys.exceptions import DecryptionError
    from keys.stream import decrypt_stream
    from node.cases.studies import instance_cids
    from node.formats.dicom import read_study
    from node.ingest.core import INSTANCE_AD
    from node.ingest.study import ingest_dicom_study
    from tests.node.dicom_samples import write_study

    village, county = world["village"], world["county"]
    assert county.follower is not None and village.node is not None
    files = write_study(tmp_path / "study")
    receipt = ingest_dicom_study(services=village.node.ingest_services(),
                                 study=read_study(tmp_path / "study"))  # fmt: skip
    case = _new_case()
    # Anchored alone: a grant covers only records the grantee can check on chain.
    anchor_record(village, receipt, bytes.fromhex(case[2:]), world.deployment, world.rpc_url)
    body = {"record_ids": [receipt.record_id.hex()]}
    assert village.api("POST", f"/cases/{case}/records", json=body).status_code == 200
    referral = _refer(world, case)
    assert county.api("POST", f"/referrals/{referral}/accept").status_code == 200
    grant = village.api("POST", "/grants", json={"case_id": case, "to": county.address,
                        "expires_at": _later(900), "max_uses": 2}).json()  # fmt: skip
    assert county.follower.poll_once().replicated == [grant["grant_id"]]
    (record,) = _reader(world).received(grant["grant_id"]).package.records
    assert record.kind == "dicom-study"
    instances = instance_cids(record, store=county.svc.blobs, keyring=county.keyring)
    assert len(instances) == len(files) > 1
    assert set(instances) <= county.svc.blobs.pins()
    dek = county.keyring.unwrap(record.wrapped_key, record_id=dek_binding(record.record_id))
    plain = set()
    for cid in instances:  # every instance decrypts from the county's own copies
        for sha in {hashlib.sha256(b).digest() for b in files.values()}:
            aad = INSTANCE_AD + record.record_id + sha
            try:
                data = b"".join(decrypt_stream(dek, county.svc.blobs.get(cid), aad=aad))
            except DecryptionError:
                continue  # the instance's hash is part of its associated data
            plain.add(hashlib.sha256(data).digest())
    assert plain == {hashlib.sha256(b).digest() for b in files.values()}
    reader = _reader(world)  # and through the production reader, manifest and instances verified
    study = reader.study(reader.received(grant["grant_id"]), record)
    assert {reader.instance(study, item) for item in study.items} == set(files.values())


def test_concurrent_follower_passes_apply_each_event_once(world: World) -> None:
    from concurrent.futures import ThreadPoolExecutor

    county = world["county"]
    assert county.follower is not None
    county.follower.poll_once()
    before = county.svc.store.effect_count()
    _refer(world, _new_case())
    follower = county.follower
    with ThreadPoolExecutor(max_workers=2) as pool:  # the API route and the background thread
        results = list(pool.map(lambda _: follower.poll_once(), range(2)))
        api = county.api("POST", "/follower/poll")
    assert sorted(r.applied for r in results) == [0, 1]
    assert api.status_code == 200 and api.json()["applied"] == 0
    assert county.svc.store.effect_count() == before + 1


def test_token_for_an_offline_grantee_is_delivered_later_and_then_replicated(
    world: World,
) -> None:
    village, county = world["village"], world["county"]
    assert county.follower is not None
    case = _new_case()
    _attach(world, case, 1)
    referral = _refer(world, case)
    assert county.api("POST", f"/referrals/{referral}/accept").status_code == 200
    county.stop_api()
    try:
        grant = village.api("POST", "/grants", json={"case_id": case, "to": county.address,
                            "expires_at": _later(900), "max_uses": 1}).json()  # fmt: skip
        assert grant["delivered"] is False
        polled = county.follower.poll_once()  # the grant is on chain, the package CID is not
        assert polled.replicated == []
        row = county.svc.store.grant_row(grant["grant_id"])
        assert row is not None and row["state"] == "announced" and row["package_cid"] is None
    finally:
        county.start_api()
    assert village.api("POST", "/grants/deliver-pending").json() == [grant["grant_id"]]
    assert village.api("POST", "/grants/deliver-pending").json() == []
    assert county.follower.poll_once().replicated == [grant["grant_id"]]


def test_rekey_regrants_the_kept_grantee_and_shred_destroys_every_key(world: World) -> None:
    village, county = world["village"], world["county"]
    assert county.follower is not None
    case = _new_case()
    originals = _attach(world, case, 2)
    referral = _refer(world, case)
    assert county.api("POST", f"/referrals/{referral}/accept").status_code == 200
    grant = village.api("POST", "/grants", json={"case_id": case, "to": county.address,
                        "expires_at": _later(1800), "max_uses": 5}).json()  # fmt: skip
    assert county.follower.poll_once().replicated == [grant["grant_id"]]
    old_package = _reader(world).received(grant["grant_id"]).package

    (rekeyed_id, rekeyed_hash), (shredded_id, _) = originals
    old = village.svc.records.record(rekeyed_id)
    resp = village.api("POST", f"/cases/records/{rekeyed_id.hex()}/rekey", json={})
    assert resp.status_code == 200, resp.text
    rekey = resp.json()
    assert rekey["regranted"] == [grant["grant_id"]] and rekey["new_cid"] != old.cid
    assert old.cid not in village.svc.blobs.pins()
    assert village.svc.records.record(rekeyed_id).cid == rekey["new_cid"]

    assert county.follower.poll_once().replicated == [grant["grant_id"]]
    plain = _read_all(world, grant["grant_id"])
    assert hashlib.sha256(plain[rekeyed_id]).digest() == rekeyed_hash
    new_package = _reader(world).received(grant["grant_id"]).package
    assert new_package.scope_root == old_package.scope_root
    assert old.cid not in county.svc.blobs.pins()  # the old ciphertext copy is dropped
    # the key the grantee held before the re-key opens nothing that is still served
    stale = next(r for r in old_package.records if r.record_id == rekeyed_id)
    fresh = next(r for r in new_package.records if r.record_id == rekeyed_id)
    assert stale.wrapped_key != fresh.wrapped_key

    resp = village.api("POST", f"/cases/records/{shredded_id.hex()}/shred")
    assert resp.status_code == 200, resp.text
    assert resp.json()["packages_dropped"] == 1
    gone = village.svc.records.record(shredded_id)
    with pytest.raises(UnwrapError):
        village.keyring.unwrap(gone.wrapped_key, record_id=dek_binding(shredded_id))
    assert not village.svc.blobs.has(gone.cid)
    assert village.svc.chain.record_anchor(shredded_id) is not None  # evidence stays


def test_lower_tier_refers_grants_and_upper_tier_reads_with_grantor_offline(
    world: World,
) -> None:
    village, county, tertiary = world["village"], world["county"], world["tertiary"]
    assert county.follower is not None
    case = _new_case()
    originals = _attach(world, case, 3)
    referral = _refer(world, case)
    county.follower.poll_once()
    seen = {r["referral_id"]: r for r in county.api("GET", "/referrals").json()}
    assert seen[referral]["status"] == "pending" and seen[referral]["case_id"] == case
    assert county.api("POST", f"/referrals/{referral}/accept").status_code == 200

    resp = village.api("POST", "/grants", json={"case_id": case, "to": county.address,
                       "expires_at": _later(1800), "max_uses": 5})  # fmt: skip
    assert resp.status_code == 200, resp.text
    grant = resp.json()
    assert grant["delivered"] is True and grant["records"] == 3
    grant_id = grant["grant_id"]

    polled = county.follower.poll_once()
    assert polled.replicated == [grant_id]
    package = _reader(world).received(grant_id).package
    expected_pins = {grant["package_cid"], *(r.cid for r in package.records)}
    assert expected_pins <= county.svc.blobs.pins()
    assert set(county.svc.store.pins_of(grant_id)) == expected_pins

    # delivering again changes nothing; a token signed by another hospital is refused
    sent = village.svc.store.grant_row(grant_id)
    assert sent is not None and sent["delivery_signature"] is not None
    signed = {"token": grant["token"], "package_cid": grant["package_cid"],
              "issued_at": sent["issued_at"],
              "signature": "0x" + sent["delivery_signature"].hex()}  # fmt: skip
    again = county.api("POST", "/deliveries", json=signed)
    assert again.status_code == 200 and again.json()["new"] is False
    forged = TokenIssuer(tertiary.signing, chain_id=CHAIN_ID,
                         grants_contract=world.deployment.grants).issue(
        grant_id=grant_id_bytes32(grant_id), case_id=bytes.fromhex(case[2:]),
        grantee=county.address, scope_root=package.scope_root, expiry=_later(),
    )  # fmt: skip
    forged_sig = TokenIssuer(tertiary.signing, chain_id=CHAIN_ID,
                             grants_contract=world.deployment.grants).sign_delivery(
        GrantDelivery.of(token=forged, package_cid=grant["package_cid"],
                         issued_at=sent["issued_at"] + 1))  # fmt: skip
    refused = county.api("POST", "/deliveries", json={
        "token": forged, "package_cid": grant["package_cid"],
        "issued_at": sent["issued_at"] + 1, "signature": "0x" + forged_sig.hex()})  # fmt: skip
    assert refused.status_code == 403 and refused.json()["error"] == "delivery_error"

    # the tertiary hospital, without referral, can fetch the blobs but open nothing
    blob = fetch_bytes(grant["package_cid"], BlockFetcher(county.url), limit=1 << 20)
    with pytest.raises(GrantPackageError):
        open_package(blob, tertiary.keyring, grant_id=grant_id)
    for record in package.records:
        with pytest.raises(UnwrapError):
            tertiary.keyring.unwrap(record.wrapped_key, record_id=dek_binding(record.record_id))

    # the village node goes away: its blob store is deleted
    delete_blob_store(village)
    with pytest.raises(BlobNotFound):
        village.svc.blobs.block(package.records[0].cid)
    plain = _read_all(world, grant_id)
    assert sorted(plain) == sorted(r for r, _ in originals)
    for record_id, content_hash in originals:
        assert hashlib.sha256(plain[record_id]).digest() == content_hash
    reader = _reader(world)
    for record in package.records:  # raises unless the village's anchor commits to it
        reader.check_anchored(record, grantor=village.address)

    # revoke: the chain refuses further use at once, the grantee drops its copies
    village.start_api()
    revoked = village.api("POST", f"/grants/{grant_id}/revoke")
    assert revoked.status_code == 200 and revoked.json()["revoked"] is True
    assert village.api("POST", f"/grants/{grant_id}/revoke").json()["error"] == "GrantIsRevoked"
    polled = county.follower.poll_once()
    assert polled.applied == 1 and polled.unpinned == len(expected_pins)
    assert county.svc.store.grant_row(grant_id)["state"] == "revoked"  # type: ignore[index]
    assert not expected_pins & county.svc.blobs.pins()


def test_follower_resumes_from_its_cursor_without_reprocessing(
    world: World, tmp_path: Path
) -> None:
    county = world["county"]
    assert county.follower is not None
    county.follower.poll_once()
    effects = county.svc.store.effect_count()
    cursor = county.svc.store.next_block(0)
    assert effects > 0

    # restart: a new store connection and a new follower on the same database file
    county.svc.store.close()
    store = CaseStore(county.root / "cases.sqlite")
    object.__setattr__(county.svc, "store", store)
    restarted = Follower(county.svc, start_block=0)
    assert store.next_block(0) == cursor
    result = restarted.poll_once()
    assert result.applied == 0
    assert store.effect_count() == effects

    _refer(world, _new_case())
    result = restarted.poll_once()
    assert result.applied == 1
    assert store.effect_count() == effects + 1


def test_grant_without_signing_key_or_records_fails_before_touching_the_chain(
    world: World,
) -> None:
    from dataclasses import replace

    village = world["village"]
    with pytest.raises(Exception, match="no token signing key"):
        grants.issue_grant(services=replace(village.svc, issuer=None), case_id=os.urandom(32),
                           grantee=world["county"].address, expires_at=_later(),
                           max_uses=1)  # fmt: skip
