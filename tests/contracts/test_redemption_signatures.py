"""Redemption needs the grantor's token and the physician's own signature, on chain.

Every refusal is checked by simulation (the custom error) and by a mined status-0
transaction (``World.expect``); every success by its ``AccessRedeemed`` event. Break-glass:
the per-physician rate limit (on a Grants deployed with a short window, so "after the
window" is reached by advancing the test chain's clock) and the review.
"""

from __future__ import annotations

from typing import Any

import pytest
from eth_utils.crypto import keccak

from contracts.deploy import contract_at, deploy_contract
from contracts.tx import submit, wait
from keys.signing import SECP256K1_N
from keys.typed_data import (
    ACCESS_GRANT_TYPE,
    REDEMPTION_TYPE,
    access_grant_digest,
    access_grant_signable,
    redemption_digest,
)
from tests.contracts.world import TEST_GAS, World, rand32


def lc(values: tuple[Any, ...]) -> tuple[Any, ...]:
    """Error arguments with addresses lower-cased (the revert decoder does not checksum)."""
    return tuple(v.lower() if isinstance(v, str) else v for v in values)


def _uses(world: World, gid: int) -> int:
    return int(world.grants.functions.getGrant(gid).call()[8])


def _grant(world: World, uses: int = 3, physician: str | None = None) -> int:
    rid, _ = world.refer("village", "county")
    return world.grant("village", rid, "county", uses=uses, physician=physician)


def test_python_typed_data_hashes_equal_the_contracts(world: World) -> None:
    g = world.grants.functions
    assert g.ACCESS_GRANT_TYPEHASH().call() == keccak(text=ACCESS_GRANT_TYPE)
    assert g.REDEMPTION_TYPEHASH().call() == keccak(text=REDEMPTION_TYPE)
    gid = _grant(world)
    token, _ = world.token(gid)
    chain_id = world.w3.eth.chain_id
    ours = access_grant_digest(
        chain_id=chain_id, grants_contract=world.grants.address, grant_id=token[0],
        case_id=token[1], grantee=token[2], scope_root=token[3], expiry=token[4],
        nonce=token[5],
    )  # fmt: skip
    assert g.tokenDigest(token).call() == ours
    nonce, deadline = rand32(), world.later(60)
    assert g.redemptionDigest(gid, token[5], nonce, deadline).call() == redemption_digest(
        chain_id=chain_id, grants_contract=world.grants.address, grant_id=gid,
        token_nonce=token[5], nonce=nonce, deadline=deadline,
    )  # fmt: skip
    # Another deployment's digest differs: the domain binds the contract's address.
    other = access_grant_digest(
        chain_id=chain_id, grants_contract=world.anchors.address, grant_id=token[0],
        case_id=token[1], grantee=token[2], scope_root=token[3], expiry=token[4],
        nonce=token[5],
    )  # fmt: skip
    assert other != ours


def test_an_operator_without_the_token_cannot_spend_a_use(world: World) -> None:
    """The attack of issue 14: the grantee's operator forges the token with its own key."""
    gid = _grant(world)
    args = world.expect("op_county", world.redeem(gid, "doc_county", token_signer="op_county"),
                        "TokenNotSignedByGrantor")  # fmt: skip
    assert lc(args) == lc((gid, world.addr("op_county")))
    # Nor with the physician's key, nor with another member's (county2 is not the grantor).
    for signer in ("doc_county", "county", "county2"):
        world.expect("op_county", world.redeem(gid, "doc_county", token_signer=signer),
                     "TokenNotSignedByGrantor")  # fmt: skip
    assert _uses(world, gid) == 0
    r = world.tx("op_county", world.redeem(gid, "doc_county"))  # with the real token: fine
    assert world.one_event(r, world.grants, "AccessRedeemed")["submitter"] == world.addr(
        "op_county"
    )


@pytest.mark.parametrize(
    "field", ["grantId", "caseId", "grantee", "scopeRoot", "expiry"]
)  # fmt: skip
def test_a_token_whose_fields_are_not_the_grants_is_refused(world: World, field: str) -> None:
    gid = _grant(world)
    other = _grant(world)
    change: dict[str, Any] = {
        "grantId": other.to_bytes(32, "big"),
        "caseId": rand32(),
        "grantee": world.addr("county2"),
        "scopeRoot": rand32(),
        "expiry": world.later(7200),
    }
    # Signed by the real grantor, so only the field mismatch can refuse it.
    fn = world.redeem(gid, "doc_county", **{field: change[field]})
    assert world.expect("doc_county", fn, "TokenNotForGrant") == (gid,)
    assert _uses(world, gid) == 0


def test_the_token_of_another_grant_does_not_open_this_one(world: World) -> None:
    gid, other = _grant(world), _grant(world)
    token, signature = world.token(other)  # genuine, for grant `other`
    approval = world.approval(gid, "doc_county", token_nonce=token[5])
    fn = world.grants.functions.redeem(gid, token, signature, approval)
    world.expect("doc_county", fn, "TokenNotForGrant")


@pytest.mark.parametrize("domain", ["other_contract", "other_chain"])
def test_a_token_signed_for_another_deployment_or_chain_is_refused(
    world: World, domain: str
) -> None:
    gid = _grant(world)
    token, _ = world.token(gid)
    chain_id, contract = world.w3.eth.chain_id, world.grants.address
    if domain == "other_contract":
        contract = world.anchors.address  # any other address: another Grants deployment
    else:
        chain_id += 1
    signable = access_grant_signable(
        chain_id=chain_id, grants_contract=contract, grant_id=token[0], case_id=token[1],
        grantee=token[2], scope_root=token[3], expiry=token[4], nonce=token[5],
    )  # fmt: skip
    signature = bytes(world.acct["village"].sign_message(signable).signature)  # the grantor
    approval = world.approval(gid, "doc_county", token_nonce=token[5])
    fn = world.grants.functions.redeem(gid, token, signature, approval)
    world.expect("doc_county", fn, "TokenNotSignedByGrantor")


def _high_s(signature: bytes) -> bytes:
    s = int.from_bytes(signature[32:64], "big")
    v = 27 if signature[64] == 28 else 28
    return signature[:32] + (SECP256K1_N - s).to_bytes(32, "big") + bytes([v])


@pytest.mark.parametrize("mangle", ["empty", "short", "high_s", "bad_v", "flipped"])
def test_malformed_token_signatures_recover_nobody(world: World, mangle: str) -> None:
    gid = _grant(world)
    token, signature = world.token(gid)
    bad = {
        "empty": b"",
        "short": signature[:64],
        "high_s": _high_s(signature),
        "bad_v": signature[:64] + b"\x01",
        "flipped": signature[:10] + bytes([signature[10] ^ 1]) + signature[11:],
    }[mangle]
    approval = world.approval(gid, "doc_county", token_nonce=token[5])
    fn = world.grants.functions.redeem(gid, token, bad, approval)
    (_, signer) = world.expect("doc_county", fn, "TokenNotSignedByGrantor")
    assert signer.lower() != world.addr("village").lower()


def test_a_redemption_needs_the_physicians_own_signature(world: World) -> None:
    gid = _grant(world)
    token, token_sig = world.token(gid)
    g = world.grants.functions
    unsigned = (world.addr("doc_county"), rand32(), world.later(600), b"")
    world.expect("op_county", g.redeem(gid, token, token_sig, unsigned),
                 "PhysicianSignatureInvalid")  # fmt: skip
    # The operator signing in the physician's name is not the physician.
    args = world.expect(
        "op_county", world.redeem(gid, "doc_county", physician_signer="op_county"),
        "PhysicianSignatureInvalid",
    )  # fmt: skip
    assert lc(args) == lc((gid, world.addr("doc_county"), world.addr("op_county")))
    # A signature over another token's nonce does not carry over.
    approval = world.approval(gid, "doc_county", token_nonce=rand32())
    world.expect("op_county", g.redeem(gid, token, token_sig, approval),
                 "PhysicianSignatureInvalid")  # fmt: skip
    assert _uses(world, gid) == 0


def test_a_physician_nonce_redeems_once_and_a_deadline_ends_a_signature(world: World) -> None:
    gid = _grant(world)
    nonce = rand32()
    world.tx("op_county", world.redeem(gid, "doc_county", nonce=nonce))
    assert world.expect("op_county", world.redeem(gid, "doc_county", nonce=nonce),
                        "RedemptionReplayed") == (gid, nonce)  # fmt: skip
    past = world.now() - 1
    args = world.expect("op_county", world.redeem(gid, "doc_county", deadline=past),
                        "RedemptionDeadlinePassed")  # fmt: skip
    assert args[0] == past
    assert _uses(world, gid) == 1


def test_max_uses_three_opens_three_times_with_one_token_then_exhausted(world: World) -> None:
    gid = _grant(world, uses=3)
    token_nonce = rand32()
    for use in (1, 2, 3):
        r = world.tx("op_county", world.redeem(gid, "doc_county", token_nonce=token_nonce))
        assert world.one_event(r, world.grants, "AccessRedeemed")["use"] == use
    assert world.expect("op_county", world.redeem(gid, "doc_county", token_nonce=token_nonce),
                        "GrantExhausted") == (gid, 3)  # fmt: skip


def test_a_named_physician_signs_for_themself_only(fresh_world: World) -> None:
    world = fresh_world
    gid = _grant(world, physician="doc_county")
    world.tx("county", world.consortium.functions.registerStaff(world.addr("spare1"), 1, rand32()))
    world.expect("spare1", world.redeem(gid, "spare1"), "PhysicianNotNamedInGrant")
    # Holding doc_county's signed consent does not let another physician submit it.
    world.expect("spare1", world.redeem(gid, "doc_county"), "NotAuthorizedToRedeem")
    world.tx("doc_county", world.redeem(gid, "doc_county"))


def test_break_glass_grants_and_referral_grants_take_their_own_path(world: World) -> None:
    g = world.grants.functions
    r = world.tx("doc_tertiary", g.breakGlass(rand32(), world.addr("village"), rand32(), 5, 600, 2))
    glass = int(world.one_event(r, world.grants, "BreakGlassAccess")["grantId"])
    world.expect("doc_tertiary", world.redeem(glass, "doc_tertiary"), "IsBreakGlassGrant")
    world.expect("doc_tertiary", world.redeem_break_glass(glass, "doc_tertiary",
                 signer="doc_county"), "PhysicianSignatureInvalid")  # fmt: skip
    r = world.tx("doc_tertiary", world.redeem_break_glass(glass, "doc_tertiary"))
    assert world.one_event(r, world.grants, "AccessRedeemed")["breakGlass"] is True
    gid = _grant(world)
    world.expect("doc_county", world.redeem_break_glass(gid, "doc_county"), "NotBreakGlassGrant")


# ------------------------------------------------------------------ break-glass limits


@pytest.fixture
def limited(world: World) -> World:
    """The same consortium with a Grants whose break-glass limit is 3 per short window."""
    window = 2 * world.chain.short_window_s
    address = deploy_contract(
        world.w3, world.acct["deployer"], "Grants",
        world.deployment.consortium, world.deployment.referrals, 3600, 3, window,
    )  # fmt: skip
    limited = World(**{**world.__dict__, "grants": contract_at(world.w3, "Grants", address)})
    return limited


def test_break_glass_k_plus_one_in_the_window_is_refused_then_allowed_after(
    limited: World,
) -> None:
    w = limited
    g = w.grants.functions
    window = int(g.breakGlassWindow().call())
    assert int(g.breakGlassLimit().call()) == 3

    def opening() -> Any:
        return g.breakGlass(rand32(), w.addr("village"), rand32(), 5, 600, 1)

    # Three openings queued at once (one block or two), so the fourth lands inside the window.
    doc = w.acct["doc_tertiary"]
    nonce = w.w3.eth.get_transaction_count(doc.address, "pending")
    hashes = [submit(w.w3, doc, opening(), gas=TEST_GAS, nonce=nonce + i) for i in range(3)]
    receipts = [wait(w.w3, h) for h in hashes]
    first = min(int(w.w3.eth.get_block(r["blockNumber"])["timestamp"]) for r in receipts)
    assert int(g.breakGlassOpenings(w.addr("doc_tertiary")).call()) == 3
    physician, count, window_start = w.expect("doc_tertiary", opening(), "BreakGlassRateLimited")
    assert lc((physician, count, window_start)) == lc((w.addr("doc_tertiary"), 3, first))
    # Another physician is not limited by doc_tertiary's openings.
    w.tx("county", w.consortium.functions.registerStaff(w.addr("spare2"), 1, rand32()))
    w.tx("spare2", g.breakGlass(rand32(), w.addr("village"), rand32(), 5, 600, 1))
    w.chain.advance_time(window + 1)
    r = w.tx("doc_tertiary", opening())
    assert w.one_event(r, w.grants, "BreakGlassAccess")["physician"] == w.addr("doc_tertiary")
    w.tx("county", w.consortium.functions.suspendStaff(w.addr("spare2")))


def test_break_glass_is_reviewed_once_by_the_grantor_or_an_auditor(world: World) -> None:
    g = world.grants.functions

    def glass(grantor: str) -> int:
        r = world.tx(
            "doc_tertiary", g.breakGlass(rand32(), world.addr(grantor), rand32(), 5, 600, 1)
        )
        return int(world.one_event(r, world.grants, "BreakGlassAccess")["grantId"])

    gid = glass("village")
    assert g.getReview(gid).call()[0] is False  # pending
    for outsider in ("county", "op_county", "doc_tertiary", "tertiary", "outsider"):
        assert world.expect(outsider, g.reviewBreakGlass(gid, True, rand32()),
                            "NotReviewer") == lc((gid, world.addr(outsider)))  # fmt: skip
    note = rand32()
    r = world.tx("village", g.reviewBreakGlass(gid, False, note))
    ev = world.one_event(r, world.grants, "BreakGlassReviewed")
    assert (ev["grantId"], ev["reviewer"], ev["justified"], ev["noteHash"], ev["physician"]) == (
        gid, world.addr("village"), False, note, world.addr("doc_tertiary"),
    )  # fmt: skip
    review = g.getReview(gid).call()
    assert tuple(review[:3]) == (True, False, world.addr("village")) and review[4] == note
    world.expect("village", g.reviewBreakGlass(gid, True, rand32()), "AlreadyReviewed")
    world.expect("auditor", g.reviewBreakGlass(gid, True, rand32()), "AlreadyReviewed")
    # An auditor reviews too; the grantor's operator (county's, for a county case) as well.
    other = glass("village")
    r = world.tx("auditor", g.reviewBreakGlass(other, True, rand32()))
    assert world.one_event(r, world.grants, "BreakGlassReviewed")["justified"] is True
    ordinary = _grant(world)
    world.expect("village", g.reviewBreakGlass(ordinary, True, rand32()), "NotBreakGlassGrant")
    world.expect("village", g.reviewBreakGlass(world.unknown_grant(), True, rand32()),
                 "UnknownGrant")  # fmt: skip
    county_case = glass("county")
    r = world.tx("op_county", g.reviewBreakGlass(county_case, True, rand32()))
    assert world.one_event(r, world.grants, "BreakGlassReviewed")["reviewer"] == world.addr(
        "op_county"
    )
