"""Hypothesis stateful test: random referral/grant traffic on chain against the Python model.

Every step is a real RPC call or transaction. A step the model says must fail is simulated
(eth_call) and its custom error compared; a step that must succeed is sent and mined. After
each step every referral's ``isActive`` and every grant's ``isLive`` must agree with the model.
"""

from __future__ import annotations

import os
from collections import Counter

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from contracts.typing import ReferralStatus, Role
from tests.contracts.backends import Chain, rpc
from tests.contracts.model import Grant, Model, Ref
from tests.contracts.world import HOSPITALS, STAFF, World, build_world

ZERO = "0x" + "00" * 20
LONG, SHORT, STEP = 50_000, 2_000, 3_000
hospitals = st.sampled_from(sorted(HOSPITALS))
staff = st.sampled_from(sorted(STAFF))
anyone = st.sampled_from(sorted(HOSPITALS) + sorted(STAFF))
picks = st.integers(min_value=0, max_value=9)  # 9: an id not (yet) created
properly = st.sampled_from([True, True, True, False])
PHYSICIAN_OF = {h: s for s, (h, role) in STAFF.items() if role == Role.PHYSICIAN}
OPERATOR_OF = {h: s for s, (h, role) in STAFF.items() if role == Role.OPERATOR}


def _choose(existing: list[int], pick: int) -> int:
    if not existing or pick == 9:
        return len(existing) + 1
    return existing[pick % len(existing)]


OUTCOMES: Counter[str] = Counter()
NONCES = [bytes([i]) * 32 for i in range(1, 4)]
nonces = st.sampled_from(NONCES)  # small pool: replays happen


def make_machine(base: World, chain: Chain) -> type[RuleBasedStateMachine]:
    class ReferralGrantMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            if chain.time_travel:
                self.snap = rpc(chain.rpc_url, "evm_snapshot", [])
                rpc(chain.rpc_url, "evm_mine", [])
                self.w = base
            else:
                self.w = build_world(chain)
            self.m = Model(now=self.w.now())
            self.case = os.urandom(32)

        def teardown(self) -> None:
            if chain.time_travel:
                rpc(chain.rpc_url, "evm_revert", [self.snap])

        def _run(self, actor: str, fn: object, expected: str | None) -> object:
            outcome = f"{fn.fn_name}: {expected or 'ok'}"  # type: ignore[attr-defined]
            event(outcome)
            OUTCOMES[outcome] += 1
            if expected is not None:
                name, _ = self.w.error_of(actor, fn)  # type: ignore[arg-type]
                assert name == expected, f"expected {expected}, chain said {name}"
                return None
            return self.w.tx(actor, fn)  # type: ignore[arg-type]

        # ------------------------------------------------------------ choosing
        # Mostly the proper party and an existing id (so the happy path is walked often),
        # sometimes anyone and an unknown id (so every guard is hit).

        def _rid(self, pick: int) -> int:
            return _choose(sorted(self.m.refs), pick)

        def _gid(self, pick: int) -> int:
            return _choose(sorted(self.m.grants), pick)

        def _target(self, rid: int, proper: bool, alt: str) -> str:
            r = self.m.refs.get(rid)
            return r.target if r and proper else alt

        # ------------------------------------------------------------ referrals

        @rule(
            frm=hospitals,
            to=anyone,
            proper=properly,
            pick=picks,
            short=st.booleans(),
            then_accept=properly,
        )
        def initiate(
            self, frm: str, to: str, proper: bool, pick: int, short: bool, then_accept: bool
        ) -> None:
            upper = sorted(h for h in HOSPITALS if HOSPITALS[h] > HOSPITALS[frm])
            if proper and upper:
                to = upper[pick % len(upper)]
            expires = self.m.now + (SHORT if short else LONG)
            fn = self.w.referrals.functions.initiate(self.case, self.w.addr(to), 1, expires)
            expected = self.m.expect_initiate(frm, to)
            if self._run(frm, fn, expected) is not None:
                rid = len(self.m.refs) + 1
                self.m.refs[rid] = Ref(initiator=frm, target=to, expires=expires)
                if then_accept:  # the usual next step, so deep paths come early
                    self.accept(pick=rid - 1, proper=True, alt=to)

        @rule(pick=picks, proper=properly, alt=hospitals)
        def accept(self, pick: int, proper: bool, alt: str) -> None:
            rid = self._rid(pick)
            who = self._target(rid, proper, alt)
            expected = self.m.expect_accept(rid, who)
            if self._run(who, self.w.referrals.functions.accept(rid), expected) is not None:
                self.m.refs[rid].status = ReferralStatus.ACCEPTED

        @rule(pick=picks, proper=properly, alt=hospitals)
        def decline(self, pick: int, proper: bool, alt: str) -> None:
            rid = self._rid(pick)
            who = self._target(rid, proper, alt)
            expected = self.m.expect_decline(rid, who)
            if self._run(who, self.w.referrals.functions.decline(rid, 2), expected) is not None:
                self.m.refs[rid].status = ReferralStatus.DECLINED

        @rule(pick=picks, proper=properly, alt=hospitals)
        def complete(self, pick: int, proper: bool, alt: str) -> None:
            rid = self._rid(pick)
            who = self._target(rid, proper, alt)
            expected = self.m.expect_complete(rid, who)
            if self._run(who, self.w.referrals.functions.complete(rid), expected) is not None:
                self.m.refs[rid].status = ReferralStatus.COMPLETED

        @rule(pick=picks, proper=properly, alt=hospitals)
        def refer_back(self, pick: int, proper: bool, alt: str) -> None:
            rid = self._rid(pick)
            who = self._target(rid, proper, alt)
            expected = self.m.expect_refer_back(rid, who)
            fn = self.w.referrals.functions.referBack(rid, 3, self.m.now + LONG)
            if self._run(who, fn, expected) is not None:
                back = len(self.m.refs) + 1
                r = self.m.refs[rid]
                self.m.refs[back] = Ref(
                    initiator=who, target=r.initiator, expires=self.m.now + LONG
                )
                r.back = back

        @rule(pick=picks, proper=properly, alt=hospitals)
        def cancel(self, pick: int, proper: bool, alt: str) -> None:
            rid = self._rid(pick)
            r = self.m.refs.get(rid)
            who = r.initiator if r and proper else alt
            expected = self.m.expect_cancel(rid, who)
            if self._run(who, self.w.referrals.functions.cancel(rid), expected) is not None:
                self.m.refs[rid].status = ReferralStatus.CANCELLED

        # ------------------------------------------------------------ grants

        @rule(
            pick=picks,
            proper=properly,
            alt=hospitals,
            alt_grantee=hospitals,
            physician=st.none() | staff,
            name_physician=st.booleans(),
            uses=st.sampled_from([0, 1, 1, 2]),
            outlive=st.integers(0, 5),
        )
        def issue(
            self,
            pick: int,
            proper: bool,
            alt: str,
            alt_grantee: str,
            physician: str | None,
            name_physician: bool,
            uses: int,
            outlive: int,
        ) -> None:
            if proper and not self.m.refs:  # depth: a referral to grant on
                self.initiate(alt, alt_grantee, True, pick, False, True)
            rid = self._rid(pick)
            ref = self.m.refs.get(rid)
            who = ref.initiator if ref and proper else alt
            grantee = ref.target if ref and proper else alt_grantee
            if proper and name_physician:
                physician = PHYSICIAN_OF.get(grantee)
            elif proper:
                physician = None
            # Usually inside the referral's window; once in a while one second beyond it.
            if ref and outlive == 0:
                expires = ref.expires + 1
            else:
                expires = min(ref.expires, self.m.now + SHORT) if ref else self.m.now + SHORT
            phys = self.w.addr(physician) if physician else ZERO
            fn = self.w.grants.functions.issue(
                rid, self.w.addr(grantee), phys, os.urandom(32), expires, uses
            )
            expected = self.m.expect_issue(rid, who, grantee, physician, expires, uses)
            if self._run(who, fn, expected) is not None:
                gid = len(self.m.grants) + 1
                self.m.grants[gid] = Grant(rid, who, grantee, physician, expires, uses)
                if outlive % 2:  # the usual next step, so redemptions come early
                    self.redeem(gid - 1, True, name_physician, "county", "doc_county", NONCES[0])

        @rule(
            pick=picks,
            proper=properly,
            via_operator=st.booleans(),
            sender=anyone,
            physician=staff,
            nonce=nonces,
        )
        def redeem(
            self,
            pick: int,
            proper: bool,
            via_operator: bool,
            sender: str,
            physician: str,
            nonce: bytes,
        ) -> None:
            if proper and not self.m.grants:  # depth: a grant to redeem
                self.issue(pick, True, "village", "county", None, via_operator, 2, 1)
            gid = self._gid(pick)
            g = self.m.grants.get(gid)
            if g and proper:
                physician = g.physician or PHYSICIAN_OF.get(g.grantee, physician)
                sender = physician
                if via_operator and g.grantee in OPERATOR_OF:
                    sender = OPERATOR_OF[g.grantee]
            expected = self.m.expect_redeem(gid, sender, physician, nonce)
            if g is not None and g.break_glass:
                fn = self.w.redeem_break_glass(gid, physician, nonce=nonce)
            else:
                fn = self.w.redeem(gid, physician, nonce=nonce)
            if self._run(sender, fn, expected) is not None:
                g = self.m.grants[gid]
                g.uses += 1
                g.nonces.add(nonce)

        @rule(pick=picks, proper=properly, alt=hospitals)
        def revoke(self, pick: int, proper: bool, alt: str) -> None:
            gid = self._gid(pick)
            g = self.m.grants.get(gid)
            who = g.grantor if g and proper else alt
            expected = self.m.expect_revoke(gid, who)
            if self._run(who, self.w.grants.functions.revoke(gid), expected) is not None:
                self.m.grants[gid].revoked = True

        @rule(
            who=anyone,
            grantor=hospitals,
            reason=st.sampled_from([0, 9, 9]),
            uses=st.sampled_from([0, 1, 2]),
        )
        def break_glass(self, who: str, grantor: str, reason: int, uses: int) -> None:
            fn = self.w.grants.functions.breakGlass(
                self.case, self.w.addr(grantor), os.urandom(32), reason, 600, uses
            )
            expected = self.m.expect_break_glass(who, grantor, reason, uses)
            receipt = self._run(who, fn, expected)
            if receipt is not None:
                gid = len(self.m.grants) + 1
                hospital = STAFF[who][0]
                ts = self.w.w3.eth.get_block(receipt["blockNumber"])["timestamp"]  # type: ignore[index]
                self.m.grants[gid] = Grant(
                    0, grantor, hospital, who, ts + 600, uses, break_glass=True
                )

        # ------------------------------------------------------------ people and time

        @rule(who=staff)
        def toggle_staff(self, who: str) -> None:
            hospital = STAFF[who][0]
            c = self.w.consortium.functions
            if not self.m.member(hospital):
                return
            fn = (
                c.suspendStaff(self.w.addr(who))
                if self.m.staff_active[who]
                else (c.reinstateStaff(self.w.addr(who)))
            )
            self.w.tx(hospital, fn)
            self.m.staff_active[who] = not self.m.staff_active[who]

        @precondition(lambda self: all(self.m.active.values()))
        @rule(who=hospitals)
        def suspend_member(self, who: str) -> None:
            self.w.suspend(who)
            self.m.active[who] = False

        @precondition(lambda self: not all(self.m.active.values()))
        @rule()
        def reinstate_member(self) -> None:
            who = next(h for h, a in self.m.active.items() if not a)
            voters = [h for h in HOSPITALS if h != who][:3]
            fn = self.w.consortium.functions.proposeReinstatement(self.w.addr(who))
            self.w.vote_through(voters[0], fn, tuple(voters[1:]))
            self.m.active[who] = True

        @precondition(lambda self: chain.time_travel)
        @rule()
        def advance_time(self) -> None:
            chain.advance_time(STEP)
            self.m.now += STEP

        # ------------------------------------------------------------ invariants

        @invariant()
        def chain_agrees_with_model(self) -> None:
            r, g = self.w.referrals.functions, self.w.grants.functions
            assert r.referralCount().call() == len(self.m.refs)
            assert g.grantCount().call() == len(self.m.grants)
            for rid in self.m.refs:
                assert r.isActive(rid).call() == self.m.ref_active(rid), f"referral {rid}"
                assert r.getReferral(rid).call()[5] == self.m.refs[rid].status
            for gid, grant in self.m.grants.items():
                assert g.isLive(gid).call() == self.m.grant_live(gid), f"grant {gid}"
                assert g.getGrant(gid).call()[8] == grant.uses

    return ReferralGrantMachine


def test_referral_and_grant_state_machine_matches_the_model(
    base_world: World, chain: Chain
) -> None:
    machine = make_machine(base_world, chain)
    # Each step is a transaction: anvil auto-mines, our chain waits for blocks, so fewer there.
    examples, steps = (30, 15) if chain.time_travel else (12, 15)
    machine.TestCase.settings = settings(
        max_examples=examples,
        stateful_step_count=steps,
        # Four random examples did not always walk every happy path (seen once in CI: no
        # successful `issue`). On our slower chain the examples are derived from the test
        # itself (the same 12 schedules every run, each checked against the model, covering
        # every happy path); anvil runs 30 random ones.
        derandomize=not chain.time_travel,
        database=None if not chain.time_travel else settings.default.database,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    OUTCOMES.clear()
    machine.TestCase().runTest()
    print(sorted(OUTCOMES.items()))
    # The happy path was walked, not only the guards.
    for step in ("initiate", "accept", "issue", "redeem"):
        assert OUTCOMES[f"{step}: ok"] > 0, (step, sorted(OUTCOMES.items()))
