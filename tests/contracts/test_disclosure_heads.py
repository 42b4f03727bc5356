"""Anchors.anchorDisclosureHead: a gateway operator anchors its hospital's disclosure log head.

Counts only grow (a log cannot be rewound below an anchored count), only the hospital or
its active operator may send, and every anchor is an event an auditor reads back.
"""

from __future__ import annotations

import pytest

from tests.contracts.world import World, rand32


def _latest(world: World, hospital: str) -> tuple[bytes, int, int, int]:
    head, count, seq, block = world.anchors.functions.getDisclosureHead(world.addr(hospital)).call()
    return bytes(head), int(count), int(seq), int(block)


def test_operator_anchors_heads_whose_counts_grow_with_seq_numbers(world: World) -> None:
    a = world.anchors.functions
    _, count, seq, _ = _latest(world, "county")
    first, second = rand32(), rand32()
    r1 = world.tx("op_county", a.anchorDisclosureHead(world.addr("county"), first, count + 3))
    ev = world.one_event(r1, world.anchors, "DisclosureHeadAnchored")
    assert (ev["hospital"], ev["operator"]) == (world.addr("county"), world.addr("op_county"))
    assert (ev["head"], ev["count"], ev["seq"]) == (first, count + 3, seq + 1)
    # The hospital's own account may anchor too (a gateway without a separate operator).
    r2 = world.tx("county", a.anchorDisclosureHead(world.addr("county"), second, count + 10))
    assert world.one_event(r2, world.anchors, "DisclosureHeadAnchored")["seq"] == seq + 2
    assert _latest(world, "county") == (second, count + 10, seq + 2, r2["blockNumber"])


@pytest.mark.parametrize(
    ("sender", "hospital", "head", "delta", "error"),
    [
        ("doc_county", "county", "new", 1, "NotHospitalOperator"),  # a physician is not one
        ("op_county", "village", "new", 1, "NotHospitalOperator"),  # another hospital's log
        ("tertiary", "county", "new", 1, "NotHospitalOperator"),  # another member's account
        ("outsider", "outsider", "new", 1, "NotActiveMember"),  # not a member at all
        ("op_county", "county", "zero", 1, "ZeroHead"),
        ("op_county", "county", "new", 0, "DisclosureCountNotIncreasing"),  # same count
        ("op_county", "county", "new", -1, "DisclosureCountNotIncreasing"),  # rewound
    ],
)
def test_disclosure_head_rules(
    world: World, sender: str, hospital: str, head: str, delta: int, error: str
) -> None:
    a = world.anchors.functions
    world.tx("op_county", a.anchorDisclosureHead(world.addr("county"), rand32(),
                                                 _latest(world, "county")[1] + 5))  # fmt: skip
    before = _latest(world, "county")
    value = b"\x00" * 32 if head == "zero" else rand32()
    count = max(before[1] + delta, 0) if hospital == "county" else 1
    world.expect(sender, a.anchorDisclosureHead(world.addr(hospital), value, count), error)
    assert _latest(world, "county") == before
