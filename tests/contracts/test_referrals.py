"""Referrals: upward initiation, accept/decline/complete, refer-back, cancel; illegal moves."""

from __future__ import annotations

import pytest

from contracts.typing import ReferralStatus, Tier
from tests.contracts.world import World, rand32

Z32 = b"\x00" * 32


def _status(world: World, rid: int) -> int:
    return int(world.referrals.functions.getReferral(rid).call()[5])


def test_two_way_referral_round_trip_with_events(world: World) -> None:
    f = world.referrals.functions
    case = rand32()
    exp = world.later()
    r = world.tx("village", f.initiate(case, world.addr("county"), 42, exp))
    ev = world.one_event(r, world.referrals, "ReferralInitiated")
    rid = ev["referralId"]
    assert (ev["caseId"], ev["initiator"], ev["target"], ev["reasonCode"], ev["expiresAt"]) == (
        case,
        world.addr("village"),
        world.addr("county"),
        42,
        exp,
    )
    assert _status(world, rid) == ReferralStatus.PENDING
    assert not f.isActive(rid).call()
    r = world.tx("county", f.accept(rid))
    assert world.one_event(r, world.referrals, "ReferralAccepted")["caseId"] == case
    assert f.isActive(rid).call()
    r = world.tx("county", f.complete(rid))
    assert world.one_event(r, world.referrals, "ReferralCompleted")["referralId"] == rid
    assert not f.isActive(rid).call()
    r = world.tx("county", f.referBack(rid, 9, world.later()))
    back = world.one_event(r, world.referrals, "ReferredBack")
    down = world.one_event(r, world.referrals, "ReferralInitiated")
    assert back["parentId"] == rid and down["parentId"] == rid
    assert down["initiator"] == world.addr("county") and down["target"] == world.addr("village")
    bid = back["referralId"]
    assert f.getReferral(rid).call()[7] == bid
    world.expect("county", f.referBack(rid, 9, world.later()), "AlreadyReferredBack")
    # The lower tier accepts the refer-back; the upper tier may then grant it its summary.
    world.tx("village", f.accept(bid))
    gid = world.grant("county", bid, "village", physician="doc_village", uses=1)
    world.tx("doc_village", world.redeem(gid, "doc_village"))


def test_decline_and_cancel_are_final(world: World) -> None:
    f = world.referrals.functions
    rid, _ = world.refer("village", "county", accept=False)
    r = world.tx("county", f.decline(rid, 3))
    assert world.one_event(r, world.referrals, "ReferralDeclined")["reasonCode"] == 3
    for actor, fn in (
        ("county", f.accept(rid)),
        ("county", f.decline(rid, 1)),
        ("county", f.complete(rid)),
        ("village", f.cancel(rid)),
    ):
        args = world.expect(actor, fn, "InvalidReferralTransition")
        assert args == (rid, ReferralStatus.DECLINED)
    rid2, _ = world.refer("township", "tertiary")
    r = world.tx("township", f.cancel(rid2))
    assert world.one_event(r, world.referrals, "ReferralCancelled")["initiator"] == world.addr(
        "township"
    )
    world.expect("tertiary", f.complete(rid2), "InvalidReferralTransition")
    world.expect("tertiary", f.referBack(rid2, 1, world.later()), "InvalidReferralTransition")


@pytest.mark.parametrize(
    ("frm", "to", "error"),
    [
        ("county", "village", "NotUpwardReferral"),  # downward
        ("county", "county2", "NotUpwardReferral"),  # same tier
        ("tertiary", "county", "NotUpwardReferral"),
        ("county", "county", "SelfReferral"),
        ("village", "outsider", "NotActiveMember"),  # target not a member
        ("village", "doc_county", "NotActiveMember"),  # a physician is not a hospital
        ("doc_village", "county", "NotActiveMember"),  # physicians do not refer on chain
        ("auditor", "county", "NotActiveMember"),
    ],
)
def test_initiate_only_upward_between_active_members(
    world: World, frm: str, to: str, error: str
) -> None:
    fn = world.referrals.functions.initiate(rand32(), world.addr(to), 1, world.later())
    world.expect(frm, fn, error)


def test_initiate_input_rules(world: World) -> None:
    f = world.referrals.functions
    world.expect("village", f.initiate(Z32, world.addr("county"), 1, world.later()), "ZeroCaseId")
    world.expect(
        "village", f.initiate(rand32(), world.addr("county"), 1, world.now() - 1), "ExpiryInPast"
    )


def test_only_the_right_party_moves_a_referral(world: World) -> None:
    f = world.referrals.functions
    rid, _ = world.refer("village", "county", accept=False)
    world.expect("county2", f.accept(rid), "NotReferralTarget")
    world.expect("village", f.accept(rid), "NotReferralTarget")
    world.expect("village", f.decline(rid, 1), "NotReferralTarget")
    world.expect("county", f.cancel(rid), "NotReferralInitiator")
    world.expect("county", f.complete(rid), "InvalidReferralTransition")
    world.expect("county", f.referBack(rid, 1, world.later()), "InvalidReferralTransition")
    world.expect("county", f.accept(world.unknown_referral()), "UnknownReferral")
    world.expect("village", f.cancel(world.unknown_referral()), "UnknownReferral")
    world.tx("county", f.accept(rid))
    world.expect("county", f.accept(rid), "InvalidReferralTransition")
    world.expect("county", f.decline(rid, 1), "InvalidReferralTransition")
    world.expect("village", f.complete(rid), "NotReferralTarget")


def test_an_expired_referral_cannot_be_accepted_and_is_not_active(world: World) -> None:
    f = world.referrals.functions
    w = world.chain.short_window_s
    rid, _ = world.refer("village", "county", expires=world.later(w), accept=False)
    rid2, _ = world.refer("village", "county", expires=world.later(w))
    assert f.isActive(rid2).call()
    world.chain.advance_time(w + 2)
    world.expect("county", f.accept(rid), "ReferralExpired")
    assert not f.isActive(rid2).call()


def test_suspension_stops_acceptance_and_activity(fresh_world: World) -> None:
    world = fresh_world
    f = world.referrals.functions
    rid, _ = world.refer("village", "county", accept=False)
    rid2, _ = world.refer("township", "county")
    world.suspend("county")
    world.expect("county", f.accept(rid), "NotActiveMember")
    assert not f.isActive(rid2).call()
    world.expect(
        "township", f.initiate(rand32(), world.addr("county"), 1, world.later()), "NotActiveMember"
    )


def test_refer_back_must_go_down(fresh_world: World) -> None:
    """A tier change after the referral can make the 'back' referral non-downward."""
    world = fresh_world
    f, c = world.referrals.functions, world.consortium.functions
    rid, _ = world.refer("township", "county")
    world.tx("county", f.complete(rid))
    world.vote_through(
        "village",
        c.proposeTierChange(world.addr("township"), int(Tier.TERTIARY_HOSPITAL)),
        ("county2", "tertiary"),
    )
    world.expect("county", f.referBack(rid, 1, world.later()), "NotDownwardReferral")
