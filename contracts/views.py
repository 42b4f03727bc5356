"""Typed values of the suite's view functions (what ``getGrant`` & co. return), read once.

The field order of each ``get*`` struct lives in :mod:`contracts.reads` only; everyone
else reads these named fields. Addresses are checksummed, ids are ``int``, hashes ``bytes``.
"""

from __future__ import annotations

from dataclasses import dataclass

from eth_typing import ChecksumAddress

from contracts.typing import ProposalKind, ReferralStatus, Role, StaffStatus, Tier


@dataclass(frozen=True, slots=True)
class ReferralView:
    referral_id: int
    case_id: bytes
    initiator: ChecksumAddress
    target: ChecksumAddress
    reason_code: int
    expires_at: int
    status: ReferralStatus
    parent_id: int
    refer_back_id: int


@dataclass(frozen=True, slots=True)
class GrantView:
    grant_id: int
    referral_id: int
    case_id: bytes
    grantor: ChecksumAddress
    grantee: ChecksumAddress
    #: The named physician; the zero address lets any active physician redeem.
    physician: ChecksumAddress
    scope_root: bytes
    expires_at: int
    max_uses: int
    uses: int
    revoked: bool
    break_glass: bool

    @property
    def issued(self) -> bool:
        """Whether the grant exists (an id never issued reads as all zeros)."""
        return int(self.grantor, 16) != 0

    @property
    def named_physician(self) -> ChecksumAddress | None:
        """The one physician who may redeem, or ``None`` for any active physician."""
        return None if int(self.physician, 16) == 0 else self.physician


@dataclass(frozen=True, slots=True)
class MemberView:
    """A consortium member's public facts: where its node listens, its encryption key."""

    address: ChecksumAddress
    name: str
    tier: Tier
    active: bool
    encryption_key: bytes
    encryption_key_version: int
    endpoint: str


@dataclass(frozen=True, slots=True)
class StaffView:
    """A physician's or operator's registration (``Consortium.getStaff``)."""

    hospital: ChecksumAddress
    role: Role
    status: StaffStatus
    licence_hash: bytes


@dataclass(frozen=True, slots=True)
class RecordAnchorView:
    """A single-record anchor on chain (``Anchors.getRecord``)."""

    hospital: ChecksumAddress
    commitment: bytes
    cid: str
    case_id: bytes


@dataclass(frozen=True, slots=True)
class AnchoredBatch:
    """A Merkle batch root as ``Anchors.getBatch`` records it."""

    hospital: ChecksumAddress
    block_number: int
    count: int


@dataclass(frozen=True, slots=True)
class DisclosureHeadView:
    """A hospital's latest anchored disclosure-log head (``Anchors.getDisclosureHead``)."""

    head: bytes
    count: int
    seq: int
    block_number: int


@dataclass(frozen=True, slots=True)
class ProposalView:
    """A membership vote (``Consortium.getProposal``)."""

    proposal_id: int
    kind: ProposalKind
    subject: ChecksumAddress
    proposer: ChecksumAddress
    deadline: int
    required: int
    yes: int
    executed: bool
