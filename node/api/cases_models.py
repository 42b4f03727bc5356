"""Request and response bodies of the referral/grant API (OpenAPI schemas)."""

from __future__ import annotations

from pydantic import BaseModel, Field

Hex32 = Field(pattern=r"^(0x)?[0-9a-fA-F]{64}$", description="32 bytes, hex")
Address = Field(pattern=r"^0x[0-9a-fA-F]{40}$", description="an Ethereum address")


class CaseRecordsIn(BaseModel):
    record_ids: list[str] = Field(min_length=1, max_length=10_000)


class CaseRecordsOut(BaseModel):
    case_id: str
    record_ids: list[str]
    added: int = 0


class ReferIn(BaseModel):
    case_id: str = Hex32
    to: str = Address
    expires_at: int = Field(gt=0, lt=2**64, description="unix seconds")
    reason_code: int = Field(default=0, ge=0, lt=2**16)


class DeclineIn(BaseModel):
    reason_code: int = Field(default=0, ge=0, lt=2**16)


class ReferBackIn(BaseModel):
    expires_at: int = Field(gt=0, lt=2**64)
    reason_code: int = Field(default=0, ge=0, lt=2**16)


class ReferralOut(BaseModel):
    referral_id: int
    case_id: str
    status: str


class ReferralRow(ReferralOut):
    initiator: str
    target: str


class GrantIn(BaseModel):
    case_id: str = Hex32
    to: str = Address
    expires_at: int = Field(gt=0, lt=2**64)
    max_uses: int = Field(gt=0, lt=2**32)
    physician: str | None = Field(default=None, pattern=r"^0x[0-9a-fA-F]{40}$")
    referral_id: int | None = Field(default=None, gt=0)


class GrantOut(BaseModel):
    grant_id: int
    referral_id: int
    package_cid: str
    token: str
    delivered: bool
    records: int


class GrantRow(BaseModel):
    grant_id: int
    direction: str
    referral_id: int
    case_id: str
    grantor: str
    grantee: str
    expires_at: int
    package_cid: str | None
    state: str


class RevokeOut(BaseModel):
    grant_id: int
    revoked: bool
    uses: int


class DeliveryIn(BaseModel):
    token: str | None = Field(
        default=None, max_length=4096,
        description="the EIP-712 access token (wire form); absent for a break-glass grant",
    )  # fmt: skip
    break_glass_grant: int | None = Field(
        default=None, gt=0, lt=2**256,
        description="the break-glass grant released by its owner (instead of a token)",
    )  # fmt: skip
    package_cid: str = Field(max_length=200)
    # Optional in the schema so that an unsigned delivery gets the clear 403, not a 422.
    issued_at: int | None = Field(
        default=None, gt=0, lt=2**64,
        description="unix seconds; must be newer than the last delivery of this grant",
    )  # fmt: skip
    signature: str | None = Field(
        default=None, max_length=140,
        description="the grantor's EIP-712 GrantDelivery signature, 0x + 65 bytes hex",
    )  # fmt: skip


class DeliveryOut(BaseModel):
    grant_id: int
    accepted: bool
    new: bool


class InboxRow(BaseModel):
    """A grant delivered to this hospital, with its live state read on chain."""

    grant_id: int
    case_id: str
    referral_id: int
    grantor: str
    grantor_name: str
    reason_code: int = Field(description="the referral's reason code on chain")
    expires_at: int
    max_uses: int
    uses_left: int
    physician: str | None = Field(description="the one physician who may open it, or any")
    revoked: bool
    state: str
    delivered_at: float


class PollOut(BaseModel):
    events: int
    applied: int
    replicated: list[int]
    unpinned: int
    next_block: int


class RekeyIn(BaseModel):
    drop_grantees: list[str] = Field(
        default_factory=list, max_length=100,
        description="hospitals whose grants are not re-issued with the new key",
    )  # fmt: skip


class RekeyOut(BaseModel):
    record_id: str
    old_cid: str
    new_cid: str
    regranted: list[int]


class ShredOut(BaseModel):
    record_id: str
    packages_dropped: int
    blocks_deleted: int


class BreakGlassRow(BaseModel):
    """A break-glass opening of one of our cases: the policy's decision and its review."""

    grant_id: int
    case_id: str
    physician: str
    hospital: str
    reason_code: int
    expires_at: int
    block: int
    policy: str
    decision: str = Field(description="pending, released, denied or refused")
    refusal: str | None
    released_at: float | None
    revoked: bool = Field(description="denied or refused, and revoked on chain by this node")
    reviewed: bool
    justified: bool | None
    reviewer: str | None
    review_block: int | None


class BreakGlassReviewIn(BaseModel):
    justified: bool
    note: str = Field(
        default="", max_length=4096,
        description="kept nowhere: only its keccak256 goes on chain (it may name the patient)",
    )  # fmt: skip


class BreakGlassReviewOut(BaseModel):
    grant_id: int
    justified: bool
    note_hash: str
