"""Anchors: single records with version chains, batches; only the owner anchors/amends."""

from __future__ import annotations

import pytest

from contracts.typing import RecordKind
from tests.contracts.world import World, rand32

Z32 = b"\x00" * 32
CID = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"


def _anchor(
    world: World,
    who: str,
    rid: bytes,
    case: bytes,
    prev: bytes = Z32,
    kind: int = RecordKind.RECORD,
) -> dict[str, object]:
    fn = world.anchors.functions.anchorRecord(rid, kind, rand32(), CID, case, prev)
    return dict(world.one_event(world.tx(who, fn), world.anchors, "RecordAnchored"))


def test_record_versions_form_a_chain_owned_by_one_hospital(world: World) -> None:
    a = world.anchors.functions
    case, v1, v2, v3 = rand32(), rand32(), rand32(), rand32()
    ev = _anchor(world, "village", v1, case, kind=RecordKind.PRESCRIPTION)
    assert ev["hospital"] == world.addr("village") and ev["previousVersion"] == Z32
    assert ev["caseId"] == case and ev["cid"] == CID and ev["kind"] == RecordKind.PRESCRIPTION
    _anchor(world, "village", v2, case, v1, kind=RecordKind.PRESCRIPTION)
    _anchor(world, "village", v3, case, v2, kind=RecordKind.PRESCRIPTION)
    r1, r2, r3 = (a.getRecord(v).call() for v in (v1, v2, v3))
    assert r1[7] == v2 and r2[6] == v1 and r2[7] == v3 and r3[6] == v2 and r3[7] == Z32
    assert r1[0] == world.addr("village") and r1[4] != Z32
    # A fork of the chain (amending a superseded version) is refused.
    world.expect(
        "village", a.anchorRecord(rand32(), 1, rand32(), CID, case, v1), "VersionAlreadySuperseded"
    )
    # Only the owning hospital amends.
    world.expect("county", a.anchorRecord(rand32(), 1, rand32(), CID, case, v3), "NotRecordOwner")


def test_dicom_study_and_batch_anchors(world: World) -> None:
    a = world.anchors.functions
    _anchor(world, "tertiary", rand32(), rand32(), kind=RecordKind.DICOM_STUDY)
    root = rand32()
    r = world.tx("county", a.anchorBatch(root, 128, "bafymanifest"))
    ev = world.one_event(r, world.anchors, "BatchAnchored")
    assert ev["root"] == root and ev["count"] == 128 and ev["hospital"] == world.addr("county")
    b = a.getBatch(root).call()
    assert b[0] == world.addr("county") and b[1] == 128 and b[4] == "bafymanifest"
    assert b[3] == r["blockNumber"]
    world.expect("village", a.anchorBatch(root, 1, "x"), "BatchAlreadyAnchored")


@pytest.mark.parametrize(
    ("case", "error"),
    [
        ("zero_id", "ZeroRecordId"),
        ("duplicate", "RecordAlreadyAnchored"),
        ("bad_kind", "InvalidRecordKind"),
        ("zero_commitment", "ZeroCommitment"),
        ("empty_cid", "EmptyCid"),
        ("zero_case", "ZeroCaseId"),
        ("unknown_prev", "UnknownPreviousVersion"),
        ("kind_changes", "VersionMismatch"),
        ("case_changes", "VersionMismatch"),
        ("not_member", "NotActiveMember"),
    ],
)
def test_record_anchor_rules(world: World, case: str, error: str) -> None:
    existing, case_id = rand32(), rand32()
    _anchor(world, "village", existing, case_id)
    args: dict[str, object] = dict(
        rid=rand32(), kind=0, com=rand32(), cid=CID, case=case_id, prev=Z32
    )
    who = "village"
    match case:
        case "zero_id":
            args["rid"] = Z32
        case "duplicate":
            args["rid"] = existing
        case "bad_kind":
            args["kind"] = 3
        case "zero_commitment":
            args["com"] = Z32
        case "empty_cid":
            args["cid"] = ""
        case "zero_case":
            args["case"] = Z32
        case "unknown_prev":
            args["prev"] = rand32()
        case "kind_changes":
            args.update(prev=existing, kind=1)
        case "case_changes":
            args.update(prev=existing, case=rand32())
        case "not_member":
            who = "doc_village"
    fn = world.anchors.functions.anchorRecord(*args.values())
    world.expect(who, fn, error)


@pytest.mark.parametrize(
    ("root", "count", "cid", "who", "error"),
    [
        (b"\x00" * 32, 1, "m", "county", "ZeroRoot"),
        (b"\x01" * 32, 0, "m", "county", "EmptyBatch"),
        (b"\x01" * 32, 1, "", "county", "EmptyCid"),
        (b"\x01" * 32, 1, "m", "op_county", "NotActiveMember"),
    ],
)
def test_batch_anchor_rules(
    world: World, root: bytes, count: int, cid: str, who: str, error: str
) -> None:
    world.expect(who, world.anchors.functions.anchorBatch(root, count, cid), error)


def test_a_suspended_member_cannot_anchor(fresh_world: World) -> None:
    world = fresh_world
    world.suspend("village")
    world.expect(
        "village", world.anchors.functions.anchorBatch(rand32(), 1, "m"), "NotActiveMember"
    )
