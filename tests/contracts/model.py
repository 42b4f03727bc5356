"""A Python model of the referral/grant rules, check for check in the contracts' order.

Each ``expect_*`` returns the custom error the contract must raise, or ``None`` when the
call must succeed; ``apply_*`` then updates the model the way the contract updates state.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from contracts.typing import ReferralStatus, Role
from tests.contracts.world import HOSPITALS, STAFF


@dataclass
class Ref:
    initiator: str
    target: str
    expires: int
    status: ReferralStatus = ReferralStatus.PENDING
    back: int = 0


@dataclass
class Grant:
    referral: int
    grantor: str
    grantee: str
    physician: str | None
    expires: int
    max_uses: int
    uses: int = 0
    revoked: bool = False
    break_glass: bool = False
    nonces: set[bytes] = field(default_factory=set)


@dataclass
class Model:
    now: int
    active: dict[str, bool] = field(default_factory=lambda: dict.fromkeys(HOSPITALS, True))
    staff_active: dict[str, bool] = field(default_factory=lambda: dict.fromkeys(STAFF, True))
    refs: dict[int, Ref] = field(default_factory=dict)
    grants: dict[int, Grant] = field(default_factory=dict)

    # ------------------------------------------------------------ predicates

    def member(self, who: str) -> bool:
        return self.active.get(who, False)

    def tier(self, who: str) -> int:
        return int(HOSPITALS.get(who, 0))

    def staff_is(self, hospital: str | None, who: str, role: Role) -> bool:
        entry = STAFF.get(who)
        return (
            entry is not None
            and entry == (hospital, role)
            and self.staff_active[who]
            and hospital is not None
            and self.member(hospital)
        )

    def ref_active(self, rid: int) -> bool:
        r = self.refs.get(rid)
        return (
            r is not None
            and r.status == ReferralStatus.ACCEPTED
            and self.now <= r.expires
            and self.member(r.initiator)
            and self.member(r.target)
        )

    def grant_live(self, gid: int) -> bool:
        g = self.grants.get(gid)
        return (
            g is not None
            and not g.revoked
            and self.now <= g.expires
            and g.uses < g.max_uses
            and (g.break_glass or self.ref_active(g.referral))
            and self.member(g.grantee)
        )

    # ------------------------------------------------------------ referrals

    def expect_initiate(self, frm: str, to: str) -> str | None:
        if not self.member(frm):
            return "NotActiveMember"
        if to == frm:
            return "SelfReferral"
        if not self.member(to):
            return "NotActiveMember"
        if self.tier(frm) >= self.tier(to):
            return "NotUpwardReferral"
        return None

    def _as_target(self, rid: int, who: str, expected: ReferralStatus) -> str | None:
        r = self.refs.get(rid)
        if r is None:
            return "UnknownReferral"
        if r.target != who:
            return "NotReferralTarget"
        if r.status != expected:
            return "InvalidReferralTransition"
        return None

    def expect_accept(self, rid: int, who: str) -> str | None:
        err = self._as_target(rid, who, ReferralStatus.PENDING)
        if err:
            return err
        r = self.refs[rid]
        if not self.member(who) or not self.member(r.initiator):
            return "NotActiveMember"
        if self.now > r.expires:
            return "ReferralExpired"
        return None

    def expect_decline(self, rid: int, who: str) -> str | None:
        return self._as_target(rid, who, ReferralStatus.PENDING)

    def expect_complete(self, rid: int, who: str) -> str | None:
        return self._as_target(rid, who, ReferralStatus.ACCEPTED)

    def expect_refer_back(self, rid: int, who: str) -> str | None:
        err = self._as_target(rid, who, ReferralStatus.COMPLETED)
        if err:
            return err
        r = self.refs[rid]
        if r.back:
            return "AlreadyReferredBack"
        if not self.member(who) or not self.member(r.initiator):
            return "NotActiveMember"
        if self.tier(who) <= self.tier(r.initiator):
            return "NotDownwardReferral"
        return None

    def expect_cancel(self, rid: int, who: str) -> str | None:
        r = self.refs.get(rid)
        if r is None:
            return "UnknownReferral"
        if r.initiator != who:
            return "NotReferralInitiator"
        if r.status not in (ReferralStatus.PENDING, ReferralStatus.ACCEPTED):
            return "InvalidReferralTransition"
        return None

    # ------------------------------------------------------------ grants

    def expect_issue(
        self, rid: int, who: str, grantee: str, physician: str | None, expires: int, uses: int
    ) -> str | None:
        if not self.member(who):
            return "NotActiveMember"
        r = self.refs.get(rid)
        if r is None:
            return "UnknownReferral"
        if r.initiator != who:
            return "NotReferralInitiator"
        if not self.ref_active(rid):
            return "ReferralNotActive"
        if grantee != r.target:
            return "GranteeNotReferralTarget"
        if physician is not None and not self.staff_is(grantee, physician, Role.PHYSICIAN):
            return "PhysicianNotActiveAtGrantee"
        if expires > r.expires:
            return "GrantOutlivesReferral"
        if uses == 0:
            return "ZeroMaxUses"
        return None

    def expect_redeem(self, gid: int, sender: str, physician: str, nonce: bytes) -> str | None:
        g = self.grants.get(gid)
        if g is None:
            return "UnknownGrant"
        if g.revoked:
            return "GrantIsRevoked"
        if self.now > g.expires:
            return "GrantExpired"
        if g.uses >= g.max_uses:
            return "GrantExhausted"
        if not g.break_glass and not self.ref_active(g.referral):
            return "ReferralNotActive"
        if not self.member(g.grantee):
            return "NotActiveMember"
        if sender != physician and not self.staff_is(g.grantee, sender, Role.OPERATOR):
            return "NotAuthorizedToRedeem"
        if not self.staff_is(g.grantee, physician, Role.PHYSICIAN):
            return "PhysicianNotActiveAtGrantee"
        if g.physician is not None and g.physician != physician:
            return "PhysicianNotNamedInGrant"
        if nonce in g.nonces:
            return "RedemptionReplayed"
        return None

    def expect_revoke(self, gid: int, who: str) -> str | None:
        g = self.grants.get(gid)
        if g is None:
            return "UnknownGrant"
        if g.grantor != who:
            return "NotGrantor"
        if g.revoked:
            return "GrantIsRevoked"
        return None

    def expect_break_glass(self, who: str, grantor: str, reason: int, uses: int) -> str | None:
        entry = STAFF.get(who)
        hospital = entry[0] if entry else None
        if not self.staff_is(hospital, who, Role.PHYSICIAN):
            return "PhysicianNotActiveAtGrantee"
        assert hospital is not None
        if not self.member(grantor):
            return "NotActiveMember"
        if self.tier(grantor) >= self.tier(hospital):
            return "NotUpwardAccess"
        if reason == 0:
            return "ReasonCodeRequired"
        if uses == 0:
            return "ZeroMaxUses"
        return None
