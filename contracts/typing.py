"""Python mirrors of the contracts' enums (same numeric values as Solidity's), and addresses."""

from __future__ import annotations

from enum import IntEnum
from typing import Protocol


class Tier(IntEnum):
    """Hospital tiers, lowest first; referrals go upward."""

    NONE = 0
    VILLAGE_CLINIC = 1
    TOWNSHIP_HEALTH_CENTRE = 2
    COUNTY_HOSPITAL = 3
    TERTIARY_HOSPITAL = 4


class MemberStatus(IntEnum):
    NONE = 0
    ACTIVE = 1
    SUSPENDED = 2
    REMOVED = 3


class Role(IntEnum):
    NONE = 0
    PHYSICIAN = 1
    OPERATOR = 2


class StaffStatus(IntEnum):
    NONE = 0
    ACTIVE = 1
    SUSPENDED = 2


class ReferralStatus(IntEnum):
    NONE = 0
    PENDING = 1
    ACCEPTED = 2
    DECLINED = 3
    COMPLETED = 4
    CANCELLED = 5


class RecordKind(IntEnum):
    RECORD = 0
    PRESCRIPTION = 1
    DICOM_STUDY = 2


class ProposalKind(IntEnum):
    NONE = 0
    ADMIT = 1
    CHANGE_TIER = 2
    SUSPEND = 3
    REINSTATE = 4
    REMOVE = 5
    SET_VALIDATOR = 6
    ADD_AUDITOR = 7
    REMOVE_AUDITOR = 8


class SuiteAddresses(Protocol):
    """Where the four contracts live: ``contracts.deploy.Deployment`` or a node config's."""

    @property
    def consortium(self) -> str: ...
    @property
    def anchors(self) -> str: ...
    @property
    def referrals(self) -> str: ...
    @property
    def grants(self) -> str: ...
