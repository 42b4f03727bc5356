"""Value types passed across the gateway's seams (see :mod:`gateway.abc`)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from pydicom.dataset import Dataset

from gateway.typing import DicomUID, PhysicianAddress, SessionDigest
from keys.typing import CaseId, GrantId, HospitalAddress, RecordId


class PhysicianStatus(enum.Enum):
    """A physician's standing at one hospital, as the Consortium contract says."""

    ACTIVE = "active"
    SUSPENDED = "suspended"
    NOT_REGISTERED = "not_registered"


@dataclass(frozen=True, slots=True)
class GrantState:
    """A grant and its referral as read on chain at one block."""

    grant_id: GrantId
    case_id: CaseId
    grantor: HospitalAddress
    grantee: HospitalAddress
    expiry: int
    revoked: bool
    uses_left: int
    referral_active: bool
    #: Set when the grant names one physician; ``None`` lets any active physician redeem.
    physician: PhysicianAddress | None = None

    def readable_at(self, now: float) -> bool:
        """Whether a session that redeemed this grant may still read under it."""
        return self.referral_active and not self.revoked and now < self.expiry


@dataclass(frozen=True, slots=True)
class PhysicianApproval:
    """The physician's EIP-712 ``Redemption`` signature: consent to one opening, on chain."""

    physician: PhysicianAddress
    nonce: bytes
    deadline: int
    signature: bytes


@dataclass(frozen=True, slots=True)
class Redemption:
    """A redemption recorded on chain and final (BFT: final once in a committed block)."""

    grant_id: GrantId
    physician: PhysicianAddress
    tx_hash: bytes
    block_number: int


@dataclass(frozen=True, slots=True)
class Challenge:
    """A sign-in challenge as stored: single use, short-lived, bound to one address."""

    nonce: bytes
    physician: PhysicianAddress
    message: str
    expires_at: float


@dataclass(frozen=True, slots=True)
class Session:
    """A physician's session as stored server-side (keyed by the token's digest)."""

    digest: SessionDigest
    physician: PhysicianAddress
    hospital: HospitalAddress
    issued_at: float
    expires_at: float
    #: Grants redeemed within this session; they scope what it can read.
    grants: frozenset[GrantId] = field(default_factory=frozenset)


@dataclass(frozen=True, slots=True)
class InstanceHeader:
    """One DICOM instance of a case: its place in the hierarchy and its header.

    ``dataset`` holds the instance's attributes *without* pixel data or other bulk data;
    QIDO-RS and ``/metadata`` answers are built from it.
    """

    grant_id: GrantId
    study_uid: DicomUID
    series_uid: DicomUID
    sop_uid: DicomUID
    transfer_syntax: DicomUID
    dataset: Dataset
    #: The anchored study record the instance belongs to (the disclosure log names it).
    record_id: RecordId | None = None


@dataclass(frozen=True, slots=True)
class RecordInfo:
    """One anchored record of a case (FHIR resource, prescription or DICOM instance)."""

    record_id: RecordId
    case_id: CaseId
    grant_id: GrantId
    media_type: str
    size: int
    content_hash: bytes
    #: The block that anchored the record's Merkle batch, when the store knows it (the
    #: workspace's provenance badge); ``None`` for a record anchored alone.
    anchor_block: int | None = None


@dataclass(frozen=True, slots=True)
class InboxEntry:
    """A grant delivered to this hospital (signed delivery), with its state on chain."""

    grant_id: GrantId
    case_id: CaseId
    referral_id: int
    grantor: HospitalAddress
    grantor_name: str
    reason_code: int
    expiry: int
    max_uses: int
    uses_left: int
    #: The one physician who may open it; ``None``: any active physician of this hospital.
    physician: PhysicianAddress | None
    revoked: bool
    delivered_at: float
    #: The grantor's signed access token as delivered (what ``/grants/redeem`` takes), so
    #: the physician's workspace opens the grant without anyone copying a token by hand.
    token: str | None = None
