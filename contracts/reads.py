"""Typed reads of the four contracts: the one place that knows their views' return layouts.

Every read is one ``eth_call`` through :class:`~contracts.rpc.RawReader` (one JSON-RPC round
trip, which the gateway's hot path relies on) decoded into :mod:`contracts.views` values.
"""

from __future__ import annotations

from eth_typing import ChecksumAddress
from web3 import Web3

from contracts.abc import SuiteReadsAPI
from contracts.rpc import RawReader
from contracts.typing import MemberStatus, ProposalKind, ReferralStatus, Role, StaffStatus, Tier
from contracts.views import (
    AnchoredBatch,
    DisclosureHeadView,
    GrantView,
    MemberView,
    ProposalView,
    RecordAnchorView,
    ReferralView,
    StaffView,
)

ZERO_ADDRESS = "0x" + "00" * 20


def _address(value: object) -> ChecksumAddress:
    return Web3.to_checksum_address(str(value))


def is_zero(address: str) -> bool:
    """Whether ``address`` is the zero address (an unset struct field on chain)."""
    return address.lower() == ZERO_ADDRESS


class SuiteReads(SuiteReadsAPI):
    """The views of ``Consortium``, ``Anchors``, ``Referrals`` and ``Grants``, typed."""

    def __init__(self, raw: RawReader) -> None:
        self.raw = raw

    def head(self) -> int:
        return self.raw.block_number()

    def referral(self, referral_id: int) -> ReferralView:
        (r,) = self.raw.call("Referrals", "getReferral", referral_id)
        return ReferralView(referral_id, bytes(r[0]), _address(r[1]), _address(r[2]), int(r[3]),
                            int(r[4]), ReferralStatus(r[5]), int(r[6]), int(r[7]))  # fmt: skip

    def referral_active(self, referral_id: int) -> bool:
        return bool(self.raw.call("Referrals", "isActive", referral_id)[0])

    def grant(self, grant_id: int) -> GrantView:
        (g,) = self.raw.call("Grants", "getGrant", grant_id)
        return GrantView(grant_id, int(g[0]), bytes(g[1]), _address(g[2]), _address(g[3]),
                         _address(g[4]), bytes(g[5]), int(g[6]), int(g[7]), int(g[8]),
                         bool(g[9]), bool(g[10]))  # fmt: skip

    def record_anchor(self, record_id: bytes) -> RecordAnchorView | None:
        (a,) = self.raw.call("Anchors", "getRecord", record_id)
        if is_zero(str(a[0])):
            return None
        return RecordAnchorView(_address(a[0]), bytes(a[4]), str(a[8]), bytes(a[5]))

    def batch(self, root: bytes) -> AnchoredBatch | None:
        (b,) = self.raw.call("Anchors", "getBatch", root)
        if is_zero(str(b[0])):
            return None
        return AnchoredBatch(_address(b[0]), block_number=int(b[3]), count=int(b[1]))

    def disclosure_head(self, hospital: str) -> DisclosureHeadView | None:
        """The latest anchored head of ``hospital``'s disclosure log (``None``: never)."""
        (d,) = self.raw.call("Anchors", "getDisclosureHead", _address(hospital))
        if int(d[2]) == 0:
            return None
        return DisclosureHeadView(bytes(d[0]), int(d[1]), int(d[2]), int(d[3]))

    def member(self, address: str) -> MemberView:
        checksum = _address(address)
        (m,) = self.raw.call("Consortium", "getMember", checksum)
        return MemberView(checksum, str(m[0]), Tier(m[1]), self.is_active_member(checksum),
                          bytes(m[3]), int(m[4]), str(m[5]))  # fmt: skip

    def is_active_member(self, address: str) -> bool:
        return bool(self.raw.call("Consortium", "isActiveMember", _address(address))[0])

    def member_status(self, address: str) -> MemberStatus:
        return MemberStatus(self.raw.call("Consortium", "statusOf", _address(address))[0])

    def staff(self, account: str) -> StaffView:
        (s,) = self.raw.call("Consortium", "getStaff", _address(account))
        return StaffView(_address(s[0]), Role(s[1]), StaffStatus(s[2]), bytes(s[3]))

    def is_active_physician(self, hospital: str, account: str) -> bool:
        args = (_address(hospital), _address(account))
        return bool(self.raw.call("Consortium", "isActivePhysician", *args)[0])

    def is_auditor(self, address: str) -> bool:
        return bool(self.raw.call("Consortium", "isAuditor", _address(address))[0])

    def validators(self) -> list[ChecksumAddress]:
        return [_address(v) for v in self.raw.call("Consortium", "validators")[0]]

    def proposal(self, proposal_id: int) -> ProposalView:
        (p,) = self.raw.call("Consortium", "getProposal", proposal_id)
        return ProposalView(proposal_id, ProposalKind(p[0]), _address(p[1]), _address(p[2]),
                            int(p[5]), int(p[6]), int(p[7]), bool(p[8]))  # fmt: skip
