"""The gateway's real seams (node-backed case store, web3 chain view) on a real chain.

The world (``cases_world``) is a ledger process and three hospitals with real keystores,
blob stores and case services; the village clinic anchors records one by one, refers the
case to the county hospital and grants it; the county's follower replicates the package.
The gateway's ``NodeCaseStore`` then reads from the county's own services. Nothing mocked.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount

from contracts.client import ChainClient
from contracts.deploy import connect, contract_at
from contracts.typing import Role
from gateway.domain import PhysicianApproval, PhysicianStatus
from gateway.exceptions import (
    ContentMismatch,
    GrantRevoked,
    NotFound,
    TokenForged,
    WrongHospital,
)
from gateway.typing import PhysicianAddress
from gateway.wiring.case_store import NodeCaseStore
from gateway.wiring.chain_view import Web3ChainView
from keys.token_wire import SignedToken
from keys.typed_data import redemption_signable
from keys.typing import GrantId, HospitalAddress, RecordId
from node.blobstore.embedded import EmbeddedBlobStore
from node.cases.inclusion import BatchInclusion
from node.cases.read import GrantReader
from node.config import ContractAddresses
from node.proof.merkle import ProofStep, Side, fold_path
from node.typing import MerkleHash
from tests import devchain
from tests.devchain import CHAIN_ID
from tests.integration.cases_world import World, anchor_record, consortium, fhir_observation
from tests.integration.gateway_flow import (
    OPERATOR,
    GatewayUnderTest,
    gateway_of,
    ingest_batched,
    restore_package,
    swap_package,
    with_records,
)
from tests.integration.test_case_grants import _attach, _later, _new_case, _refer
from tests.node.pack_damage import flip_byte


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("gateway-store")
    with consortium(root, extra_senders=(OPERATOR.address,)) as w:
        yield w


def _granted(world: World, n: int) -> tuple[GrantId, list[tuple[bytes, bytes]]]:
    case = _new_case()
    return _grant(world, case, _attach(world, case, n))


def _grant(world: World, case: str, originals: list[tuple[bytes, bytes]]
           ) -> tuple[GrantId, list[tuple[bytes, bytes]]]:  # fmt: skip
    village, county = world["village"], world["county"]
    assert county.follower is not None
    referral = _refer(world, case)
    assert county.api("POST", f"/referrals/{referral}/accept").status_code == 200
    resp = village.api("POST", "/grants", json={"case_id": case, "to": county.address,
                       "expires_at": _later(1800), "max_uses": 5})  # fmt: skip
    assert resp.status_code == 200, resp.text
    grant_id = int(resp.json()["grant_id"])
    assert county.follower.poll_once().replicated == [grant_id]
    return GrantId(grant_id.to_bytes(32, "big")), originals


def test_records_of_a_received_grant_are_served_verified_and_scoped(world: World) -> None:
    grant, originals = _granted(world, 2)
    store = NodeCaseStore(world["county"].svc, chain=_chain_view(world))
    listed = store.list_records(grants={grant})
    assert sorted(r.record_id for r in listed) == sorted(r for r, _ in originals)
    assert {r.content_hash for r in listed} == {h for _, h in originals}
    for info in listed:
        with store.open_record(grants={grant}, record=info.record_id) as stream:
            assert b'"resourceType"' in stream.read()
    other = GrantId((10**9).to_bytes(32, "big"))
    assert store.list_records(grants={other}) == []
    with pytest.raises(NotFound):
        store.open_record(grants={other}, record=RecordId(listed[0].record_id))
    assert store.list_instances(grants={grant}) == []


def test_a_tampered_ciphertext_is_refused_never_served(world: World) -> None:
    grant, originals = _granted(world, 1)
    county = world["county"]
    store = NodeCaseStore(county.svc, chain=_chain_view(world))
    reader = GrantReader(county.svc, batches=_chain_view(world))
    (record,) = reader.received(int.from_bytes(grant, "big")).package.records
    blobs = county.svc.blobs
    assert isinstance(blobs, EmbeddedBlobStore)
    flip_byte(blobs, record.cid)  # one bit of the block, in its pack file on disk
    with pytest.raises(ContentMismatch):
        store.open_record(grants={grant}, record=RecordId(originals[0][0]))


def test_a_granted_study_is_listed_and_served_instance_by_instance(
    world: World, tmp_path: Path
) -> None:
    from node.formats.dicom import read_study
    from node.ingest.study import ingest_dicom_study
    from tests.node.dicom_samples import write_study

    village = world["village"]
    assert village.node is not None
    files = write_study(tmp_path / "study")
    receipt = ingest_dicom_study(services=village.node.ingest_services(),
                                 study=read_study(tmp_path / "study"))  # fmt: skip
    case = _new_case()
    anchor_record(village, receipt, bytes.fromhex(case[2:]), world.deployment, world.rpc_url)
    body = {"record_ids": [receipt.record_id.hex()]}
    assert village.api("POST", f"/cases/{case}/records", json=body).status_code == 200
    grant, _ = _grant(world, case, [(receipt.record_id, receipt.content_hash)])
    store = NodeCaseStore(world["county"].svc, chain=_chain_view(world))
    headers = store.list_instances(grants={grant})
    assert len(headers) == len(files) and store.list_records(grants={grant}) == []
    served = set()
    for h in headers:
        with store.open_instance(grants={grant}, study=h.study_uid, series=h.series_uid,
                                 sop=h.sop_uid) as stream:  # fmt: skip
            served.add(stream.read())
    assert served == set(files.values())
    (first,) = store.list_instances(grants={grant}, sop=headers[0].sop_uid)
    assert first.sop_uid == headers[0].sop_uid


def _chain_view(world: World) -> Web3ChainView:
    d = world.deployment
    addresses = ContractAddresses(consortium=d.consortium, anchors=d.anchors,
                                  referrals=d.referrals, grants=d.grants)  # fmt: skip
    # The county hospital's own account: a permitted sender, but not an operator of itself.
    client = ChainClient(rpc_url=world.rpc_url, addresses=addresses,
                         account=world["county"].signing.account)  # fmt: skip
    return Web3ChainView(client)


def test_grant_state_is_read_from_the_contracts(world: World) -> None:
    grant, _ = _granted(world, 1)
    view = _chain_view(world)
    state = view.grant_state(grant=grant)
    assert state is not None
    assert state.grantee == world["county"].address
    assert state.grantor == world["village"].address
    assert state.referral_active and not state.revoked and state.uses_left == 5
    assert view.grant_state(grant=GrantId((10**9).to_bytes(32, "big"))) is None
    stranger = PhysicianAddress(Account.create().address)
    county = HospitalAddress(world["county"].address)
    status = view.physician_status(hospital=county, physician=stranger)
    assert status is PhysicianStatus.NOT_REGISTERED


def _approval(world: World, grant: GrantId, token: str, key: LocalAccount) -> PhysicianApproval:
    nonce, deadline = os.urandom(32), _later(600)
    signature = key.sign_message(redemption_signable(
        chain_id=CHAIN_ID, grants_contract=world.deployment.grants,
        grant_id=int.from_bytes(grant, "big"), token_nonce=SignedToken.decode(token).nonce,
        nonce=nonce, deadline=deadline,
    )).signature  # fmt: skip
    return PhysicianApproval(PhysicianAddress(key.address), nonce, deadline, bytes(signature))


def test_contract_reverts_of_a_redemption_become_the_matching_refusals(world: World) -> None:
    grant, _ = _granted(world, 1)
    view = _chain_view(world)
    grant_no = int.from_bytes(grant, "big")
    token = str(world["county"].svc.store.grant_row(grant_no)["token"])  # type: ignore[index]
    physician: LocalAccount = Account.create()
    approval = _approval(world, grant, token, physician)
    with pytest.raises(WrongHospital, match="NotAuthorizedToRedeem"):
        view.record_redemption(grant=grant, token=token, approval=approval)
    # The same token fields signed by someone else than the grantor: refused on chain.
    forged = dataclasses.replace(
        SignedToken.decode(token), signature=physician.sign_message(
            encode_defunct(text="not the grantor")).signature,
    )  # fmt: skip
    with pytest.raises(TokenForged, match="TokenNotSignedByGrantor"):
        view.record_redemption(grant=grant, token=forged.encode(), approval=approval)
    resp = world["village"].api("POST", f"/grants/{grant_no}/revoke")
    assert resp.status_code == 200, resp.text
    assert view.grant_state(grant=grant).revoked  # type: ignore[union-attr]
    with pytest.raises(GrantRevoked, match="GrantIsRevoked"):
        view.record_redemption(grant=grant, token=token, approval=approval)


def _batched_case(world: World, n: int) -> tuple[str, list[tuple[bytes, bytes]]]:
    case = _new_case()
    originals = ingest_batched(world, n)
    resp = world["village"].api("POST", f"/cases/{case}/records",
                                json={"record_ids": [r.hex() for r, _ in originals]})  # fmt: skip
    assert resp.status_code == 200, resp.text
    return case, originals


def test_a_record_not_on_chain_yet_cannot_be_granted(world: World) -> None:
    village = world["village"]
    receipt = village.ingest_fhir(fhir_observation(99.5 + os.urandom(1)[0] / 1000))
    case = _new_case()
    resp = village.api("POST", f"/cases/{case}/records",
                       json={"record_ids": [receipt.record_id.hex()]})  # fmt: skip
    assert resp.status_code == 200, resp.text
    assert village.api("POST", "/referrals", json={"case_id": case, "to": world["county"].address,
                       "expires_at": _later(), "reason_code": 1}).status_code == 200  # fmt: skip
    refused = village.api("POST", "/grants", json={"case_id": case, "to": world["county"].address,
                          "expires_at": _later(600), "max_uses": 1})  # fmt: skip
    assert refused.status_code == 409, refused.text
    assert "not anchored yet" in refused.json()["detail"]


def _fetch(gw: GatewayUnderTest, headers: dict[str, str], record: bytes) -> tuple[int, Any]:
    resp = gw.client.get(f"/records/0x{record.hex()}", headers=headers)
    if resp.status_code == 200:
        return 200, resp.content
    return resp.status_code, resp.json()["error"]


def test_batch_anchored_records_are_proven_on_every_fetch_over_http(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """Redeem over HTTP, then: good proof → served; bad proofs and a bad blob → 502 + reason."""
    county = world["county"]
    case, originals = _batched_case(world, 2)
    grant, _ = _grant(world, case, originals)
    grant_no = int.from_bytes(grant, "big")
    package = GrantReader(county.svc, batches=_chain_view(world)).received(grant_no).package
    assert all(r.inclusion is not None for r in package.records)  # batched: proofs carried
    assert b"MRN-0001" not in package.to_bytes()  # the package carries no PHI in clear
    token = str(county.svc.store.grant_row(grant_no)["token"])  # type: ignore[index]

    gw = gateway_of(world, county)
    headers = gw.sign_in()
    redeemed = gw.redeem(headers, token)
    assert redeemed.status_code == 200, redeemed.text
    (record, content_hash), other = originals[0], originals[1]
    status, body = _fetch(gw, headers, record)
    assert status == 200 and hashlib.sha256(body).digest() == content_hash

    one = dataclasses.replace(package, records=tuple(
        r for r in package.records if r.record_id == record))  # fmt: skip
    mine = one.records[0].inclusion
    assert mine is not None
    flipped = bytes([mine.path[0].sibling[0] ^ 1]) + mine.path[0].sibling[1:]
    tampered = dataclasses.replace(mine, path=(ProofStep(mine.path[0].side, MerkleHash(flipped)),
                                               *mine.path[1:]))  # fmt: skip
    # A proof of another batch: a third record's, anchored in a batch of its own.
    ((third, _),) = ingest_batched(world, 1)
    foreign = BatchInclusion.from_proof(world["village"].node.outbox().proof(third))  # type: ignore[union-attr]
    # A self-consistent proof whose root nobody anchored.
    nowhere = dataclasses.replace(mine, path=(ProofStep(Side.RIGHT, MerkleHash(os.urandom(32))),))
    nowhere = dataclasses.replace(nowhere, batch_root=fold_path(mine.leaf, nowhere.path))
    cases = [(tampered, "proof_invalid"), (foreign, "proof_invalid"), (nowhere, "not_anchored")]
    for inclusion, code in cases:
        original_cid = swap_package(county, grant_no, with_records(one, inclusion=inclusion))
        assert _fetch(gw, headers, record) == (502, code)
        restore_package(county, grant_no, original_cid)
    assert [r.getMessage() for r in caplog.records if r.name == "gateway.integrity"][:1] == [
        f"refused record {record.hex()}: proof_invalid (inclusion proof rejected: "
        "the inclusion path does not lead to its batch root)"
    ]
    assert _fetch(gw, headers, record)[0] == 200  # the genuine package still serves

    # The blob tampered with after a first, good read: refused on the next read.
    blobs = county.svc.blobs
    assert isinstance(blobs, EmbeddedBlobStore)
    entry = next(r for r in package.records if r.record_id == other[0])
    assert _fetch(gw, headers, other[0])[0] == 200
    flip_byte(blobs, entry.cid)
    assert _fetch(gw, headers, other[0]) == (502, "content_mismatch")


def test_the_physicians_inbox_lists_delivered_grants_to_the_hospital_or_to_them_by_name(
    world: World,
) -> None:
    """Issue 15: after ``grant`` on the village node, the county gateway lists it; no token
    is copied by hand (the village node delivered it, signed, to the county node)."""
    village, county = world["village"], world["county"]
    gw = gateway_of(world, county)
    colleague: LocalAccount = Account.create()
    w3 = connect(world.rpc_url)
    devchain.register_staff(w3, contract_at(w3, "Consortium", world.deployment.consortium),
                            [(county.signing.account, colleague.address, Role.PHYSICIAN,
                              os.urandom(32))])  # fmt: skip
    granted = {}
    for named in (None, gw.physician.address):
        case = _new_case()
        _attach(world, case, 1)
        referral = _refer(world, case)
        assert county.api("POST", f"/referrals/{referral}/accept").status_code == 200
        resp = village.api("POST", "/grants", json={
            "case_id": case, "to": county.address, "expires_at": _later(1800), "max_uses": 2,
            "physician": named})  # fmt: skip
        assert resp.status_code == 200 and resp.json()["delivered"] is True, resp.text
        granted[named] = ("0x" + int(resp.json()["grant_id"]).to_bytes(32, "big").hex(), case)
    me = gw.client.get("/inbox", headers=gw.sign_in())
    assert me.status_code == 200, me.text
    mine = {item["grant"]: item for item in me.json()}
    (open_grant, open_case), (named_grant, _) = granted[None], granted[gw.physician.address]
    assert {open_grant, named_grant} <= set(mine)
    item = mine[open_grant]
    assert (item["case"], item["grantor"], item["grantor_name"]) == (open_case, village.address,
                                                                     "village")  # fmt: skip
    assert (item["reason_code"], item["max_uses"], item["uses_left"]) == (7, 2, 2)
    assert item["named_physician"] is False and mine[named_grant]["named_physician"] is True
    other = GatewayUnderTest(gw.client, colleague, gw.store)
    theirs = {i["grant"] for i in gw.client.get("/inbox", headers=other.sign_in()).json()}
    assert open_grant in theirs and named_grant not in theirs  # named for someone else
    assert gw.client.get("/inbox").status_code == 401
