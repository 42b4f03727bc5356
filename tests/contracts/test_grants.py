"""Grants: issue, redeem, revoke, break-glass, and the no-grant-without-referral matrix."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.contracts.backends import Chain
from tests.contracts.world import World, rand32

Z32 = b"\x00" * 32
ZERO = "0x" + "00" * 20


def test_issue_redeem_revoke_with_an_auditable_trail(world: World) -> None:
    g = world.grants.functions
    rid, case = world.refer("village", "county")
    scope, exp = rand32(), world.later(3600)
    r = world.tx("village", g.issue(rid, world.addr("county"), ZERO, scope, exp, 2))
    ev = world.one_event(r, world.grants, "GrantIssued")
    gid = ev["grantId"]
    assert (
        ev["referralId"],
        ev["caseId"],
        ev["grantor"],
        ev["grantee"],
        ev["scopeRoot"],
        ev["expiresAt"],
        ev["maxUses"],
    ) == (rid, case, world.addr("village"), world.addr("county"), scope, exp, 2)
    assert g.isLive(gid).call()
    nonce = rand32()
    r = world.tx("doc_county", world.redeem(gid, "doc_county", nonce=nonce))
    red = world.one_event(r, world.grants, "AccessRedeemed")
    assert (
        red["grantId"],
        red["caseId"],
        red["physician"],
        red["submitter"],
        red["nonce"],
        red["use"],
        red["breakGlass"],
    ) == (gid, case, world.addr("doc_county"), world.addr("doc_county"), nonce, 1, False)
    # The gateway operator redeems on a physician's behalf.
    r = world.tx("op_county", world.redeem(gid, "doc_county"))
    red = world.one_event(r, world.grants, "AccessRedeemed")
    assert red["submitter"] == world.addr("op_county") and red["use"] == 2
    assert not g.isLive(gid).call()
    gid2 = world.grant("village", rid, "county")
    r = world.tx("village", g.revoke(gid2))
    rev = world.one_event(r, world.grants, "GrantRevoked")
    assert rev["revokedBy"] == world.addr("village") and rev["usesConsumed"] == 0
    world.expect("village", g.revoke(gid2), "GrantIsRevoked")
    world.expect("county", g.revoke(gid), "NotGrantor")
    world.expect("village", g.revoke(world.unknown_grant()), "UnknownGrant")


def test_a_grant_naming_a_physician_is_for_that_physician_only(fresh_world: World) -> None:
    world = fresh_world
    rid, _ = world.refer("village", "county")
    world.tx("county", world.consortium.functions.registerStaff(world.addr("spare1"), 1, rand32()))
    gid = world.grant("village", rid, "county", physician="doc_county")
    world.expect("spare1", world.redeem(gid, "spare1"), "PhysicianNotNamedInGrant")
    world.tx("doc_county", world.redeem(gid, "doc_county"))


@pytest.mark.parametrize(
    ("case", "error"),
    [
        ("grantee_elsewhere", "GranteeNotReferralTarget"),
        ("physician_elsewhere", "PhysicianNotActiveAtGrantee"),
        ("physician_is_operator", "PhysicianNotActiveAtGrantee"),
        ("zero_scope", "ZeroScope"),
        ("expired", "ExpiryInPast"),
        ("outlives_referral", "GrantOutlivesReferral"),
        ("zero_uses", "ZeroMaxUses"),
        ("unknown_referral", "UnknownReferral"),
        ("not_member", "NotActiveMember"),
    ],
)
def test_issue_rules(world: World, case: str, error: str) -> None:
    exp_ref = world.later(7200)
    rid, _ = world.refer("village", "county", expires=exp_ref)
    a = dict(
        rid=rid,
        grantee=world.addr("county"),
        phys=ZERO,
        scope=rand32(),
        exp=world.later(3600),
        uses=1,
    )
    who = "village"
    match case:
        case "grantee_elsewhere":
            a["grantee"] = world.addr("county2")
        case "physician_elsewhere":
            a["phys"] = world.addr("doc_county2")
        case "physician_is_operator":
            a["phys"] = world.addr("op_county")
        case "zero_scope":
            a["scope"] = Z32
        case "expired":
            a["exp"] = world.now() - 1
        case "outlives_referral":
            a["exp"] = exp_ref + 1
        case "zero_uses":
            a["uses"] = 0
        case "unknown_referral":
            a["rid"] = world.unknown_referral()
        case "not_member":
            who = "doc_village"
    world.expect(who, world.grants.functions.issue(*a.values()), error)


# --------------------------------------------------------------------------- the matrix
# An upper-tier hospital cannot obtain (issue) or use (redeem) a grant for a case that the
# lower tier has not referred to it. Each angle sets up a world and names the error that
# must stop the upper tier.

Angle = Callable[[World], tuple[str, object, str]]


def _no_referral(w: World) -> tuple[str, object, str]:
    # The county hospital tries to grant itself access with a made-up referral id.
    return (
        "county",
        w.grants.functions.issue(
            w.unknown_referral(), w.addr("county"), ZERO, rand32(), w.later(60), 1
        ),
        "UnknownReferral",
    )


def _upper_issues_on_referral_to_it(w: World) -> tuple[str, object, str]:
    rid, _ = w.refer("village", "county")
    return (
        "county",
        w.grants.functions.issue(rid, w.addr("county"), ZERO, rand32(), w.later(60), 1),
        "NotReferralInitiator",
    )


def _pending(w: World) -> tuple[str, object, str]:
    rid, _ = w.refer("village", "county", accept=False)
    return (
        "village",
        w.grants.functions.issue(rid, w.addr("county"), ZERO, rand32(), w.later(60), 1),
        "ReferralNotActive",
    )


def _declined(w: World) -> tuple[str, object, str]:
    rid, _ = w.refer("village", "county", accept=False)
    w.tx("county", w.referrals.functions.decline(rid, 1))
    return (
        "village",
        w.grants.functions.issue(rid, w.addr("county"), ZERO, rand32(), w.later(60), 1),
        "ReferralNotActive",
    )


def _cancelled(w: World) -> tuple[str, object, str]:
    rid, _ = w.refer("village", "county")
    gid = w.grant("village", rid, "county")
    w.tx("village", w.referrals.functions.cancel(rid))
    return (
        "doc_county",
        w.redeem(gid, "doc_county"),
        "ReferralNotActive",
    )


def _cancelled_issue(w: World) -> tuple[str, object, str]:
    rid, _ = w.refer("village", "county")
    w.tx("village", w.referrals.functions.cancel(rid))
    return (
        "village",
        w.grants.functions.issue(rid, w.addr("county"), ZERO, rand32(), w.later(60), 1),
        "ReferralNotActive",
    )


def _completed(w: World) -> tuple[str, object, str]:
    rid, _ = w.refer("village", "county")
    gid = w.grant("village", rid, "county")
    w.tx("county", w.referrals.functions.complete(rid))
    return (
        "doc_county",
        w.redeem(gid, "doc_county"),
        "ReferralNotActive",
    )


def _referral_expired(w: World) -> tuple[str, object, str]:
    win = w.chain.short_window_s
    rid, _ = w.refer("village", "county", expires=w.later(win + 2))
    gid = w.grant("village", rid, "county", expires=w.later(win))
    w.chain.advance_time(win + 4)
    return (
        "doc_county",
        w.redeem(gid, "doc_county"),
        "GrantExpired",
    )


def _referral_expired_issue(w: World) -> tuple[str, object, str]:
    win = w.chain.short_window_s
    rid, _ = w.refer("village", "county", expires=w.later(win))
    w.chain.advance_time(win + 2)
    return (
        "village",
        w.grants.functions.issue(rid, w.addr("county"), ZERO, rand32(), w.later(60), 1),
        "ReferralNotActive",
    )


def _other_hospital(w: World) -> tuple[str, object, str]:
    # Village referred to county2; the county hospital wants in.
    rid, _ = w.refer("village", "county2")
    return (
        "village",
        w.grants.functions.issue(rid, w.addr("county"), ZERO, rand32(), w.later(60), 1),
        "GranteeNotReferralTarget",
    )


def _other_hospital_redeems(w: World) -> tuple[str, object, str]:
    rid, _ = w.refer("village", "county2")
    gid = w.grant("village", rid, "county2")
    # county's physician presents county2's grant (directly, and via county's operator).
    return (
        "doc_county",
        w.redeem(gid, "doc_county"),
        "PhysicianNotActiveAtGrantee",
    )


def _other_hospital_operator(w: World) -> tuple[str, object, str]:
    rid, _ = w.refer("village", "county2")
    gid = w.grant("village", rid, "county2")
    return (
        "op_county",
        w.redeem(gid, "doc_county2"),
        "NotAuthorizedToRedeem",
    )


def _downward_initiation(w: World) -> tuple[str, object, str]:
    return (
        "county",
        w.referrals.functions.initiate(rand32(), w.addr("village"), 1, w.later()),
        "NotUpwardReferral",
    )


def _suspended_grantor(w: World) -> tuple[str, object, str]:
    rid, _ = w.refer("village", "county")
    w.suspend("village")
    return (
        "village",
        w.grants.functions.issue(rid, w.addr("county"), ZERO, rand32(), w.later(60), 1),
        "NotActiveMember",
    )


def _suspended_grantee(w: World) -> tuple[str, object, str]:
    rid, _ = w.refer("village", "county")
    gid = w.grant("village", rid, "county")
    w.suspend("county")
    return (
        "doc_county",
        w.redeem(gid, "doc_county"),
        "ReferralNotActive",
    )


def _suspended_grantor_redeem(w: World) -> tuple[str, object, str]:
    rid, _ = w.refer("village", "county")
    gid = w.grant("village", rid, "county")
    w.suspend("village")
    return (
        "doc_county",
        w.redeem(gid, "doc_county"),
        "ReferralNotActive",
    )


def _suspended_physician(w: World) -> tuple[str, object, str]:
    rid, _ = w.refer("village", "county")
    gid = w.grant("village", rid, "county")
    w.tx("county", w.consortium.functions.suspendStaff(w.addr("doc_county")))
    return (
        "doc_county",
        w.redeem(gid, "doc_county"),
        "PhysicianNotActiveAtGrantee",
    )


def _suspended_physician_via_operator(w: World) -> tuple[str, object, str]:
    rid, _ = w.refer("village", "county")
    gid = w.grant("village", rid, "county")
    w.tx("county", w.consortium.functions.suspendStaff(w.addr("doc_county")))
    return (
        "op_county",
        w.redeem(gid, "doc_county"),
        "PhysicianNotActiveAtGrantee",
    )


def _revoked(w: World) -> tuple[str, object, str]:
    rid, _ = w.refer("village", "county")
    gid = w.grant("village", rid, "county")
    w.tx("village", w.grants.functions.revoke(gid))
    return (
        "doc_county",
        w.redeem(gid, "doc_county"),
        "GrantIsRevoked",
    )


def _exhausted(w: World) -> tuple[str, object, str]:
    rid, _ = w.refer("village", "county")
    gid = w.grant("village", rid, "county", uses=1)
    w.tx("doc_county", w.redeem(gid, "doc_county"))
    return (
        "doc_county",
        w.redeem(gid, "doc_county"),
        "GrantExhausted",
    )


def _replayed(w: World) -> tuple[str, object, str]:
    rid, _ = w.refer("village", "county")
    gid = w.grant("village", rid, "county", uses=5)
    nonce = rand32()
    w.tx("doc_county", w.redeem(gid, "doc_county", nonce=nonce))
    return (
        "op_county",
        w.redeem(gid, "doc_county", nonce=nonce),
        "RedemptionReplayed",
    )


def _hospital_account_redeems(w: World) -> tuple[str, object, str]:
    # The upper-tier hospital's own account is neither a physician nor an operator.
    rid, _ = w.refer("village", "county")
    gid = w.grant("village", rid, "county")
    return (
        "county",
        w.redeem(gid, "county"),
        "PhysicianNotActiveAtGrantee",
    )


def _break_glass_without_reason(w: World) -> tuple[str, object, str]:
    return (
        "doc_county",
        w.grants.functions.breakGlass(rand32(), w.addr("village"), rand32(), 0, 600, 1),
        "ReasonCodeRequired",
    )


def _break_glass_by_hospital_account(w: World) -> tuple[str, object, str]:
    return (
        "county",
        w.grants.functions.breakGlass(rand32(), w.addr("village"), rand32(), 5, 600, 1),
        "PhysicianNotActiveAtGrantee",
    )


MATRIX: dict[str, Angle] = {
    "no_referral": _no_referral,
    "upper_tier_issues_on_referral_to_it": _upper_issues_on_referral_to_it,
    "pending_not_accepted": _pending,
    "declined": _declined,
    "cancelled_then_redeem": _cancelled,
    "cancelled_then_issue": _cancelled_issue,
    "completed_then_redeem": _completed,
    "expired_then_redeem": _referral_expired,
    "expired_then_issue": _referral_expired_issue,
    "referral_to_a_different_hospital": _other_hospital,
    "different_hospital_physician_redeems": _other_hospital_redeems,
    "different_hospital_operator_redeems": _other_hospital_operator,
    "downward_initiation": _downward_initiation,
    "suspended_grantor_issues": _suspended_grantor,
    "suspended_grantee_redeems": _suspended_grantee,
    "suspended_grantor_then_redeem": _suspended_grantor_redeem,
    "suspended_physician": _suspended_physician,
    "suspended_physician_via_operator": _suspended_physician_via_operator,
    "revoked_grant": _revoked,
    "exhausted_uses": _exhausted,
    "replayed_redemption": _replayed,
    "hospital_account_redeems": _hospital_account_redeems,
    "break_glass_without_reason": _break_glass_without_reason,
    "break_glass_by_hospital_account": _break_glass_by_hospital_account,
}


@pytest.mark.parametrize("angle", sorted(MATRIX))
def test_upper_tier_cannot_obtain_a_grant_without_a_referral(
    chain: Chain, angle: str, request: pytest.FixtureRequest
) -> None:
    mutates = angle.startswith("suspended_")
    world: World = request.getfixturevalue("fresh_world" if mutates else "world")
    actor, fn, error = MATRIX[angle](world)
    before = world.grants.functions.grantCount().call()
    world.expect(actor, fn, error)  # type: ignore[arg-type]
    assert world.grants.functions.grantCount().call() == before


# --------------------------------------------------------------------------- break-glass


def test_break_glass_is_time_boxed_flagged_and_revocable_by_the_lower_tier(world: World) -> None:
    g = world.grants.functions
    case, scope = rand32(), rand32()
    r = world.tx("doc_tertiary", g.breakGlass(case, world.addr("village"), scope, 77, 900, 2))
    ev = world.one_event(r, world.grants, "BreakGlassAccess")
    assert not world.events(r, world.grants, "GrantIssued")
    gid = ev["grantId"]
    assert (ev["caseId"], ev["physician"], ev["hospital"], ev["grantor"], ev["reasonCode"]) == (
        case,
        world.addr("doc_tertiary"),
        world.addr("tertiary"),
        world.addr("village"),
        77,
    )
    block_ts = world.w3.eth.get_block(r["blockNumber"])["timestamp"]
    assert ev["expiresAt"] == block_ts + 900
    # Only the break-glass physician redeems it; another hospital's operator cannot act for it.
    world.expect(
        "doc_county",
        world.redeem_break_glass(gid, "doc_county"),
        "PhysicianNotActiveAtGrantee",
    )
    world.expect(
        "op_county", world.redeem_break_glass(gid, "doc_tertiary"), "NotAuthorizedToRedeem"
    )
    r = world.tx("doc_tertiary", world.redeem_break_glass(gid, "doc_tertiary"))
    assert world.one_event(r, world.grants, "AccessRedeemed")["breakGlass"] is True
    world.tx("village", g.revoke(gid))
    world.expect("doc_tertiary", world.redeem_break_glass(gid, "doc_tertiary"), "GrantIsRevoked")


def test_break_glass_lapses_after_its_window(world: World) -> None:
    g = world.grants.functions
    win = min(world.chain.short_window_s, 3600)
    r = world.tx("doc_tertiary", g.breakGlass(rand32(), world.addr("village"), rand32(), 5, win, 3))
    gid = world.one_event(r, world.grants, "BreakGlassAccess")["grantId"]
    world.chain.advance_time(win + 2)
    world.expect("doc_tertiary", world.redeem_break_glass(gid, "doc_tertiary"), "GrantExpired")


@pytest.mark.parametrize(
    ("who", "grantor", "reason", "duration", "uses", "error"),
    [
        ("doc_county", "county2", 5, 600, 1, "NotUpwardAccess"),  # same tier
        ("doc_village", "county", 5, 600, 1, "NotUpwardAccess"),  # downward
        ("doc_county", "outsider", 5, 600, 1, "NotActiveMember"),
        ("op_county", "village", 5, 600, 1, "PhysicianNotActiveAtGrantee"),
        ("outsider", "village", 5, 600, 1, "PhysicianNotActiveAtGrantee"),
        ("doc_county", "village", 5, 3601, 1, "BreakGlassTooLong"),
        ("doc_county", "village", 5, 0, 1, "BreakGlassTooLong"),
        ("doc_county", "village", 5, 600, 0, "ZeroMaxUses"),
    ],
)
def test_break_glass_rules(
    world: World, who: str, grantor: str, reason: int, duration: int, uses: int, error: str
) -> None:
    fn = world.grants.functions.breakGlass(
        rand32(), world.addr(grantor), rand32(), reason, duration, uses
    )
    world.expect(who, fn, error)


def test_break_glass_input_rules(fresh_world: World) -> None:
    world = fresh_world
    g = world.grants.functions
    v = world.addr("village")
    world.expect("doc_county", g.breakGlass(Z32, v, rand32(), 5, 60, 1), "ZeroCaseId")
    world.expect("doc_county", g.breakGlass(rand32(), v, Z32, 5, 60, 1), "ZeroScope")
    world.tx("county", world.consortium.functions.suspendStaff(world.addr("doc_county")))
    world.expect(
        "doc_county", g.breakGlass(rand32(), v, rand32(), 5, 60, 1), "PhysicianNotActiveAtGrantee"
    )


def test_redeem_unknown_grant(world: World) -> None:
    world.expect(
        "doc_county",
        world.redeem(world.unknown_grant(), "doc_county"),
        "UnknownGrant",
    )
