"""Read-only views of chain state the case services use (referrals, grants, members)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from contracts.typing import ReferralStatus, Tier
from node.proof.record import RecordProof


@dataclass(frozen=True, slots=True)
class ReferralView:
    referral_id: int
    case_id: bytes
    initiator: str
    target: str
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
    grantor: str
    grantee: str
    physician: str
    scope_root: bytes
    expires_at: int
    max_uses: int
    uses: int
    revoked: bool
    break_glass: bool


@dataclass(frozen=True, slots=True)
class MemberView:
    """A consortium member's public facts: where its node listens, its encryption key."""

    address: str
    name: str
    tier: Tier
    active: bool
    encryption_key: bytes
    encryption_key_version: int
    endpoint: str


@dataclass(frozen=True, slots=True)
class CaseEvent:
    """One decoded log of the Referrals or Grants contract, with its position on chain."""

    name: str
    block_number: int
    log_index: int
    tx_hash: bytes
    args: dict[str, Any]

    @property
    def position(self) -> tuple[int, int]:
        return (self.block_number, self.log_index)


@dataclass(frozen=True, slots=True)
class OwnRecord:
    """One of our records as a grant needs it (from the outbox)."""

    cid: str
    content_hash: bytes
    wrapped_key: bytes
    salt: bytes
    pseudonym: bytes
    #: ``node.entry.RecordKind`` value (``fhir``, ``prescription``, ``dicom-study``).
    kind: str = "fhir"
    #: The record's batch inclusion proof once the outbox batched it (``None`` while pending).
    proof: RecordProof | None = None


@dataclass(frozen=True, slots=True)
class RecordAnchorView:
    """A single-record anchor on chain (``Anchors.getRecord``)."""

    hospital: str
    commitment: bytes
    cid: str
    case_id: bytes
