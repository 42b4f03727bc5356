"""Interfaces of the contract binding: what callers read from the suite, typed."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from eth_typing import ChecksumAddress

    from contracts.typing import MemberStatus
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


class SuiteReadsAPI(ABC):
    """The views of the four contracts at the latest (final) block.

    Every method raises :class:`~contracts.exceptions.ChainUnavailable` when the chain
    cannot be read; none writes.
    """

    @abstractmethod
    def head(self) -> int:
        """The latest block number."""

    @abstractmethod
    def referral(self, referral_id: int) -> ReferralView:
        """``Referrals.getReferral`` (status ``NONE`` for an unknown id)."""

    @abstractmethod
    def referral_active(self, referral_id: int) -> bool:
        """Whether the referral is accepted and unexpired (``Referrals.isActive``)."""

    @abstractmethod
    def grant(self, grant_id: int) -> GrantView:
        """``Grants.getGrant`` (the zero grantor for a grant never issued: ``issued``)."""

    @abstractmethod
    def record_anchor(self, record_id: bytes) -> RecordAnchorView | None:
        """``Anchors.getRecord``; ``None`` when the record has no single anchor."""

    @abstractmethod
    def batch(self, root: bytes) -> AnchoredBatch | None:
        """``Anchors.getBatch``; ``None`` for a root never anchored."""

    @abstractmethod
    def disclosure_head(self, hospital: str) -> DisclosureHeadView | None:
        """``Anchors.getDisclosureHead``; ``None`` when the hospital never anchored one."""

    @abstractmethod
    def member(self, address: str) -> MemberView:
        """``Consortium.getMember`` with whether the member is active now."""

    @abstractmethod
    def is_active_member(self, address: str) -> bool:
        """``Consortium.isActiveMember``."""

    @abstractmethod
    def member_status(self, address: str) -> MemberStatus:
        """``Consortium.statusOf``."""

    @abstractmethod
    def staff(self, account: str) -> StaffView:
        """``Consortium.getStaff`` (role ``NONE`` for an unregistered account)."""

    @abstractmethod
    def is_active_physician(self, hospital: str, account: str) -> bool:
        """Active physician of an active ``hospital`` (``Consortium.isActivePhysician``)."""

    @abstractmethod
    def is_auditor(self, address: str) -> bool:
        """``Consortium.isAuditor``."""

    @abstractmethod
    def validators(self) -> list[ChecksumAddress]:
        """The validator set ``Consortium`` holds (``validators()``), checksummed."""

    @abstractmethod
    def proposal(self, proposal_id: int) -> ProposalView:
        """``Consortium.getProposal``."""
