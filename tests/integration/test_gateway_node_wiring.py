"""The gateway's real seams (node-backed case store, web3 chain view) on a real chain.

The world (``cases_world``) is a ledger process and three hospitals with real keystores,
blob stores and case services; the village clinic anchors records one by one, refers the
case to the county hospital and grants it; the county's follower replicates the package.
The gateway's ``NodeCaseStore`` then reads from the county's own services. Nothing mocked.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from eth_account import Account

from gateway.domain import PhysicianStatus
from gateway.exceptions import GrantRevoked, IntegrityError, NotFound, WrongHospital
from gateway.typing import GrantId, HospitalAddress, PhysicianAddress, RecordId
from gateway.wiring.case_store import NodeCaseStore
from gateway.wiring.chain_view import Web3ChainView
from node.blobstore.embedded import EmbeddedBlobStore
from node.cases.access import granted_package
from node.chain import ChainClient
from node.config import ContractAddresses
from tests.integration.cases_world import World, consortium
from tests.integration.test_case_grants import _attach, _later, _new_case, _refer


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with consortium(tmp_path_factory.mktemp("gateway-store")) as w:
        yield w


def _granted(world: World, n: int) -> tuple[GrantId, list[tuple[bytes, bytes]]]:
    village, county = world["village"], world["county"]
    assert county.follower is not None
    case = _new_case()
    originals = _attach(world, case, n)
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
    store = NodeCaseStore(world["county"].svc)
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
    store = NodeCaseStore(county.svc)
    (record,) = granted_package(services=county.svc,
                                grant_id=int.from_bytes(grant, "big")).records  # fmt: skip
    blobs = county.svc.blobs
    assert isinstance(blobs, EmbeddedBlobStore)
    path: Path = blobs._block_path(record.cid)  # the block file on disk
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.chmod(0o600)
    path.write_bytes(bytes(data))
    with pytest.raises(IntegrityError):
        store.open_record(grants={grant}, record=RecordId(originals[0][0]))


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


def test_contract_reverts_of_a_redemption_become_the_matching_refusals(world: World) -> None:
    grant, _ = _granted(world, 1)
    view = _chain_view(world)
    physician = PhysicianAddress(Account.create().address)
    with pytest.raises(WrongHospital, match="NotAuthorizedToRedeem"):
        view.record_redemption(grant=grant, physician=physician, token="t1")
    resp = world["village"].api("POST", f"/grants/{int.from_bytes(grant, 'big')}/revoke")
    assert resp.status_code == 200, resp.text
    assert view.grant_state(grant=grant).revoked  # type: ignore[union-attr]
    with pytest.raises(GrantRevoked, match="GrantIsRevoked"):
        view.record_redemption(grant=grant, physician=physician, token="t2")
