"""The gateway's node-backed case store on a real chain and real node services.

The world (``cases_world``) is a ledger process and three hospitals with real keystores,
blob stores and case services; the village clinic anchors records one by one, refers the
case to the county hospital and grants it; the county's follower replicates the package.
The gateway's ``NodeCaseStore`` then reads from the county's own services. Nothing mocked.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.exceptions import IntegrityError, NotFound
from gateway.typing import GrantId, RecordId
from gateway.wiring.case_store import NodeCaseStore
from node.blobstore.embedded import EmbeddedBlobStore
from node.cases.access import granted_package
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
